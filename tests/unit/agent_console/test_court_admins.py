"""A basic court's administrator manages only their court's departments, staff and phones
(issue 17): the lists hold their court's, a write to another court's is refused (403) and
what they add is their court's. The centre's administrators manage every court's; only
they change the list of courts."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agent_console import accounts
from agent_console.texts import ADMIN, DEPT_HANDLER, DEPT_HEAD, LEADER
from hotline.db import phones as phones_db
from hotline.db.base import session_scope
from hotline.db.courts import CourtFields, assign_user, save_court
from hotline.db.departments import save_department
from hotline.db.models import Department, Phone, User

from .conftest import ADMIN_NAME, PASSWORD, csrf_of, log_in

Sessions = async_sessionmaker[AsyncSession]


async def _bearer(client: httpx.AsyncClient, username: str) -> dict[str, str]:
    response = await client.post("/api/login", json={"username": username,
                                                     "password": PASSWORD})
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture
async def world(sessions: Sessions) -> dict[str, int]:
    """The centre (court 1) with 立案庭 and phone 8001; 西工区 (court 2) with its own 立案庭,
    its people, its administrator xg-admin and phone 8201."""
    async with session_scope(sessions) as db:
        xigong = (await save_court(db, CourtFields("洛阳市西工区人民法院", "西工区法院",
                                                   "豫0303"))).id
        people: dict[str, dict[str, int]] = {}
        for court, prefix in ((1, "c"), (xigong, "x")):
            for role in (DEPT_HANDLER, DEPT_HEAD, LEADER):
                user = await accounts.add_user(db, f"{prefix}-{role}", PASSWORD, role, role)
                user.court_id = court
                people.setdefault(prefix, {})[f"{role}"] = user.id
        await db.flush()
        ids = {}
        for court, prefix in ((1, "c"), (xigong, "x")):
            who = people[prefix]
            department = await save_department(
                db, "立案庭", handler_id=who[DEPT_HANDLER], head_id=who[DEPT_HEAD],
                leader_id=who[LEADER], court_id=court)
            ids[prefix] = department.id
        await accounts.add_user(db, "xg-admin", PASSWORD, ADMIN, "西工区管理员")
        await assign_user(db, "xg-admin", xigong)
        await phones_db.add_phone(db, "8201", "seat", "西工区座席")
        (await db.get(Phone, "8201")).court_id = xigong  # type: ignore[union-attr]
        if await db.get(Phone, "8001") is None:
            await phones_db.add_phone(db, "8001", "seat", "一号座")
    return {"court": xigong, "centre_department": ids["c"], "department": ids["x"],
            "centre_handler": people["c"][DEPT_HANDLER]}


async def test_a_basic_courts_admin_manages_their_courts_departments_only(
        client: httpx.AsyncClient, sessions: Sessions, world: dict[str, int]) -> None:
    basic, centre = await _bearer(client, "xg-admin"), await _bearer(client, ADMIN_NAME)

    listed = (await client.get("/api/departments", headers=basic)).json()
    assert [(d["id"], d["court_id"]) for d in listed] == [(world["department"], world["court"])]
    assert len((await client.get("/api/departments", headers=centre)).json()) == 2
    theirs = {"name": "立案庭", "handler_id": world["centre_handler"]}
    assert (await client.put(f"/api/departments/{world['centre_department']}", headers=basic,
                             json=theirs)).status_code == 403
    assert (await client.delete(f"/api/departments/{world['centre_department']}",
                                headers=basic)).status_code == 403
    assert (await client.post("/api/departments", headers=basic,
                              json={"name": "审管办", "court_id": 1})).status_code == 403
    async with session_scope(sessions) as db:
        people = {u.username: u.id for u in (await db.execute(select(User))).scalars()}
    added = await client.post("/api/departments", headers=basic, json={
        "name": "审管办", "handler_id": people[f"x-{DEPT_HANDLER}"],
        "head_id": people[f"x-{DEPT_HEAD}"], "leader_id": people[f"x-{LEADER}"]})
    assert added.status_code == 201 and added.json()["court_id"] == world["court"]
    async with session_scope(sessions) as db:
        centre_filing = await db.get(Department, world["centre_department"])
        assert centre_filing is not None and centre_filing.active

    await log_in(client, "xg-admin")
    page = await client.get("/admin/departments")
    assert page.status_code == 200 and "审管办" in page.text
    assert f"c-{DEPT_HANDLER}" not in page.text, "no other court's staff to pick"
    assert (await client.get(f"/admin/departments?edit={world['centre_department']}")
            ).status_code == 403
    csrf = csrf_of(page.text)
    assert (await client.post(f"/admin/departments/{world['centre_department']}/deactivate",
                              data={"csrf_token": csrf})).status_code == 403


async def test_a_basic_courts_admin_manages_their_courts_staff_and_phones_only(
        client: httpx.AsyncClient, sessions: Sessions, world: dict[str, int]) -> None:
    basic = await _bearer(client, "xg-admin")

    users = {u["username"] for u in (await client.get("/api/users", headers=basic)).json()}
    assert "xg-admin" in users and ADMIN_NAME not in users and f"c-{DEPT_HANDLER}" not in users
    assert (await client.put(f"/api/users/c-{DEPT_HANDLER}/active", headers=basic,
                             json={"active": False})).status_code == 403
    assert (await client.post(f"/api/users/{ADMIN_NAME}/password",
                              headers=basic)).status_code == 403
    made = await client.post("/api/users", headers=basic, json={
        "username": "xg-agent", "display_name": "西工区座席员", "role": "agent"})
    assert made.status_code == 201

    phones = {p["extension"] for p in (await client.get("/api/phones", headers=basic)).json()}
    assert phones == {"8201"}
    assert (await client.post("/api/phones/8001/disable", headers=basic)).status_code == 403
    assert (await client.post("/api/phones", headers=basic, json={
        "extension": "8202", "kind": "seat", "label": "西工区二号"})).status_code == 200
    async with session_scope(sessions) as db:
        assert (await accounts.get_user(db, "xg-agent")).court_id == world["court"]  # type: ignore[union-attr]
        assert (await db.get(Phone, "8202")).court_id == world["court"]  # type: ignore[union-attr]
        assert (await db.get(Phone, "8001")).enabled  # type: ignore[union-attr]

    # the list of courts, and who serves which, are the centre's to change
    assert (await client.post("/api/courts", headers=basic, json={
        "name": "洛阳市老城区人民法院"})).status_code == 403
    assert (await client.put(f"/api/courts/{world['court']}/staff", headers=basic,
                             json={"username": f"c-{DEPT_HANDLER}"})).status_code == 403
