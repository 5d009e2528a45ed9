"""The duty roster pages and API: administrators only write, everyone reads."""

from __future__ import annotations

from datetime import date

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agent_console import accounts
from agent_console.texts import ADMIN, DUTY_JUDGE, MESSAGES
from hotline.db import roster
from hotline.db.base import session_scope
from hotline.db.courts import CourtFields, assign_user, save_court

from .conftest import ADMIN_NAME, PASSWORD, csrf_of, log_in

Sessions = async_sessionmaker[AsyncSession]


async def _judges(sessions: Sessions) -> None:
    async with session_scope(sessions) as db:
        await accounts.add_user(db, "wang", PASSWORD, DUTY_JUDGE, "王法官", "8101")
        await accounts.add_user(db, "zhao", PASSWORD, DUTY_JUDGE, "赵法官", "8102")


async def _token(client: httpx.AsyncClient, username: str) -> dict[str, str]:
    response = await client.post("/api/login", json={"username": username,
                                                     "password": PASSWORD})
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def test_an_agent_is_refused_the_roster_page_and_its_writes(
        client: httpx.AsyncClient, sessions: Sessions) -> None:
    await _judges(sessions)
    await log_in(client)
    page = await client.get("/admin/roster")
    assert page.status_code == 403 and "403 无权访问" in page.text
    csrf = csrf_of((await client.get("/calls/log")).text)
    posted = await client.post("/admin/roster/day", data={"day": "2026-12-01", "judge": "wang",
                                                          "csrf_token": csrf})
    assert posted.status_code == 403

    agent = await _token(client, "zhang")
    assert (await client.put("/api/roster/2026-12-01", headers=agent,
                             json={"judge": "wang"})).status_code == 403
    assert (await client.post("/api/roster/fill", headers=agent, json={
        "start": "2026-12-01", "end": "2026-12-31", "judge": "wang"})).status_code == 403
    assert (await client.delete("/api/roster/2026-12-01", headers=agent)).status_code == 403
    async with session_scope(sessions) as db:
        assert await roster.duty_judge_for(db, date(2026, 12, 1)) is None
    assert (await client.get("/api/roster", headers=agent)).json() == [], "but may read it"


async def test_the_admin_sets_a_day_and_everyone_sees_todays_judge(
        client: httpx.AsyncClient, sessions: Sessions) -> None:
    await _judges(sessions)
    await log_in(client, ADMIN_NAME)
    page = await client.get("/admin/roster")
    assert page.status_code == 200 and "值班表" in page.text and "王法官（8101）" in page.text
    response = await client.post("/admin/roster/day", data={
        "day": "2026-12-01", "judge": "wang", "note": "全天", "csrf_token": csrf_of(page.text)})
    assert response.status_code == 303
    shown = (await client.get("/admin/roster")).text
    assert '<tr id="day-2026-12-01" class="today">' in shown and "全天" in shown

    agent = await _token(client, "zhang")
    today = (await client.get("/api/roster/today", headers=agent)).json()
    assert today == {"day": "2026-12-01", "judge": "wang", "judge_name": "王法官",
                     "extension": "8101", "note": "全天"}


async def test_roster_form_errors_name_the_field_and_keep_the_values(
        client: httpx.AsyncClient, sessions: Sessions) -> None:
    await _judges(sessions)
    await log_in(client, ADMIN_NAME)
    csrf = csrf_of((await client.get("/admin/roster")).text)

    bad_day = await client.post("/admin/roster/day", data={
        "day": "12/01", "judge": "", "note": "备注保留", "csrf_token": csrf})
    assert bad_day.status_code == 422
    assert "日期格式不正确" in bad_day.text and "请选择值班法官。" in bad_day.text
    assert 'value="12/01"' in bad_day.text and 'value="备注保留"' in bad_day.text
    # Never "已保存" beside the errors (the page it was posted from had ?saved=1).
    assert MESSAGES["saved"] not in bad_day.text and MESSAGES["fix_fields"] in bad_day.text

    bad_fill = await client.post("/admin/roster/fill", data={
        "start": "2026-12-10", "end": "2026-12-01", "judge": "zhang", "csrf_token": csrf})
    assert bad_fill.status_code == 422
    assert "结束日期须不早于开始日期" in bad_fill.text
    assert "所选用户不是在职的值班法官" in bad_fill.text
    assert MESSAGES["saved"] not in bad_fill.text

    posted = await client.post("/admin/roster/day", data={
        "day": "2026-12-01", "judge": "wang", "csrf_token": csrf})
    good = await client.get(posted.headers["location"])
    assert good.status_code == 200 and MESSAGES["saved"] in good.text
    assert MESSAGES["fix_fields"] not in good.text


async def test_fill_skips_the_courts_days_off_unless_told(client: httpx.AsyncClient,
                                                          sessions: Sessions) -> None:
    await _judges(sessions)
    admin = await _token(client, ADMIN_NAME)
    # 2026-12-07 (Mon) .. 12-13 (Sun): five working days
    filled = await client.post("/api/roster/fill", headers=admin, json={
        "start": "2026-12-07", "end": "2026-12-13", "judge": "wang"})
    assert filled.status_code == 200 and filled.json() == {"days": 5}
    everything = await client.post("/api/roster/fill", headers=admin, json={
        "start": "2026-12-12", "end": "2026-12-13", "judge": "zhao", "workdays_only": False})
    assert everything.json() == {"days": 2}
    listed = (await client.get("/api/roster", headers=admin,
                               params={"start": "2026-12-07", "end": "2026-12-13"})).json()
    assert [(d["day"][-2:], d["judge"]) for d in listed] == [
        ("07", "wang"), ("08", "wang"), ("09", "wang"), ("10", "wang"), ("11", "wang"),
        ("12", "zhao"), ("13", "zhao")]
    refused = await client.put("/api/roster/2026-12-14", headers=admin, json={"judge": "zhang"})
    assert refused.status_code == 422
    assert list(refused.json()["detail"]["errors"]) == ["judge"]
    assert (await client.delete("/api/roster/2026-12-13", headers=admin)).status_code == 204
    assert len((await client.get("/api/roster", headers=admin, params={
        "start": "2026-12-07", "end": "2026-12-13"})).json()) == 6



async def test_each_court_has_its_roster_and_a_basic_courts_admin_only_theirs(
        client: httpx.AsyncClient, sessions: Sessions) -> None:
    await _judges(sessions)
    async with session_scope(sessions) as db:
        xigong = (await save_court(db, CourtFields("洛阳市西工区人民法院", "西工区法院",
                                                   "豫0303"))).id
        await assign_user(db, "zhao", xigong)
        await accounts.add_user(db, "xg-admin", PASSWORD, ADMIN, "西工区管理员")
        await assign_user(db, "xg-admin", xigong)
    centre, basic = await _token(client, ADMIN_NAME), await _token(client, "xg-admin")

    # the centre's administrator: any court's roster, with that court's judges
    assert (await client.put("/api/roster/2026-12-01", headers=centre,
                             json={"judge": "zhao", "court": xigong})).status_code == 200
    wrong = await client.put("/api/roster/2026-12-01", headers=centre,
                             json={"judge": "wang", "court": xigong})
    assert wrong.status_code == 422 and "须是该法院的值班法官" in wrong.text
    assert (await client.put("/api/roster/2026-12-01", headers=centre,
                             json={"judge": "wang"})).status_code == 200
    await log_in(client, ADMIN_NAME)
    page = await client.get(f"/admin/roster?court={xigong}")
    assert page.status_code == 200 and "值班表 · 西工区法院" in page.text
    assert "赵法官（8102）" in page.text and "王法官（8101）" not in page.text

    # a basic court's administrator: their own court's only, whatever they ask for
    assert (await client.put("/api/roster/2026-12-02", headers=basic,
                             json={"judge": "wang", "court": 1})).status_code == 403
    assert (await client.delete("/api/roster/2026-12-01?court=1",
                                headers=basic)).status_code == 403
    assert (await client.get("/api/roster?court=1", headers=basic)).status_code == 403
    own = (await client.get("/api/roster?start=2026-12-01&end=2026-12-01",
                            headers=basic)).json()
    assert [d["judge"] for d in own] == ["zhao"]
    async with session_scope(sessions) as db:
        judges = [await roster.duty_judge_for(db, date(2026, 12, 1), court)
                  for court in (1, xigong)]
    assert [j.username if j else None for j in judges] == ["wang", "zhao"]
