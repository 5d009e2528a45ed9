"""Departments, forwarding, the handler's desk and closing with proof, through the console's
pages and API on each database."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agent_console import accounts
from agent_console.texts import DEPT_HANDLER, DEPT_HEAD, LEADER
from hotline.db.base import session_scope
from hotline.db.models import RecordingAccess, SmsMessage, Ticket
from hotline.db.tickets import create_ticket
from hotline.tickets import close_on_delivered
from tests.conftest import write_wav

from .conftest import ADMIN_NAME, AGENT_NAME, PASSWORD, Clock, csrf_of, log_in

Sessions = async_sessionmaker[AsyncSession]
CALLER = "13812345678"


async def _token(client: httpx.AsyncClient, username: str) -> dict[str, str]:
    response = await client.post("/api/login", json={"username": username,
                                                     "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture
async def people(sessions: Sessions) -> dict[str, int]:
    async with session_scope(sessions) as db:
        made = {name: await accounts.add_user(db, name, PASSWORD, role, name, ext)
                for name, role, ext in (("handler", DEPT_HANDLER, "8004"),
                                        ("head", DEPT_HEAD, ""), ("leader", LEADER, ""),
                                        ("other", DEPT_HANDLER, ""))}
        agent = await accounts.get_user(db, AGENT_NAME)
        assert agent is not None
        return {"agent": agent.id, **{k: u.id for k, u in made.items()}}


async def _department(client: httpx.AsyncClient, people: dict[str, int],
                      name: str = "立案庭") -> int:
    admin = await _token(client, ADMIN_NAME)
    response = await client.post("/api/departments", headers=admin, json={
        "name": name, "handler_id": people["handler"], "head_id": people["head"],
        "leader_id": people["leader"]})
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def _ticket(sessions: Sessions, owner: int | None, audio: str = "") -> int:
    async with session_scope(sessions) as db:
        ticket = await create_ticket(db, "complaint", CALLER, None, text="立案窗口推诿",
                                     owner_id=owner, audio_path=audio)
        return ticket.id


async def test_departments_refuse_wrong_people_naming_each_field(
        client: httpx.AsyncClient, people: dict[str, int]) -> None:
    admin = await _token(client, ADMIN_NAME)
    response = await client.post("/api/departments", headers=admin, json={
        "name": "", "handler_id": people["head"], "head_id": 9999,
        "leader_id": people["leader"]})

    assert response.status_code == 422
    errors = response.json()["detail"]["errors"]
    assert errors == {"name": "请填写部门名称。",
                      "handler": "部门专人须由角色为“部门专人”的用户担任，请重新选择。",
                      "head": "部门负责人不存在或已停用，请重新选择。"}
    await _department(client, people)
    twice = await client.post("/api/departments", headers=admin, json={
        "name": "立案庭", "handler_id": people["handler"], "head_id": people["head"],
        "leader_id": people["leader"]})
    assert twice.json()["detail"]["errors"] == {"name": "部门名称已存在，请换一个。"}
    agent = await _token(client, AGENT_NAME)
    assert (await client.get("/api/departments", headers=agent)).status_code == 403


async def test_the_admin_page_keeps_what_was_typed_and_sets_mobiles(
        client: httpx.AsyncClient, people: dict[str, int], sessions: Sessions) -> None:
    await log_in(client, ADMIN_NAME)
    page = await client.get("/admin/departments")
    csrf = csrf_of(page.text)

    wrong = await client.post("/admin/departments", data={
        "name": "执行局", "handler": str(people["handler"]), "head": "", "leader": "",
        "active": "on", "csrf_token": csrf})
    assert wrong.status_code == 422
    assert "请填写部门负责人。" in wrong.text and 'value="执行局"' in wrong.text
    bad_mobile = await client.post(f"/admin/users/{people['head']}/mobile",
                                   data={"mobile": "139-abc", "csrf_token": csrf})
    assert bad_mobile.status_code == 422 and "电话号码只能包含数字" in bad_mobile.text
    assert 'value="139-abc"' in bad_mobile.text
    saved = await client.post(f"/admin/users/{people['head']}/mobile",
                              data={"mobile": "139 0000 0002", "csrf_token": csrf})
    assert saved.status_code == 303
    admin = await _token(client, ADMIN_NAME)
    api = await client.put(f"/api/users/{people['handler']}/mobile", headers=admin,
                           json={"mobile": "13900000001"})
    assert api.json() == {"user_id": people["handler"], "username": "handler",
                          "mobile": "13900000001"}
    async with session_scope(sessions) as db:
        head = await accounts.get_user(db, "head")
        assert head is not None and head.mobile == "13900000002"


async def test_forward_reply_and_close_only_with_proof(
        client: httpx.AsyncClient, people: dict[str, int], sessions: Sessions,
        clock: Clock) -> None:
    department = await _department(client, people)
    ticket_id = await _ticket(sessions, people["agent"])
    agent, handler = await _token(client, AGENT_NAME), await _token(client, "handler")
    head, other = await _token(client, "head"), await _token(client, "other")

    no_department = await client.post(f"/api/tickets/{ticket_id}/forward", headers=agent,
                                      json={"department_id": None})
    assert no_department.json()["detail"]["errors"] == {"department": "请选择转办部门。"}
    forwarded = await client.post(f"/api/tickets/{ticket_id}/forward", headers=agent,
                                  json={"department_id": department, "note": "请核查"})
    assert forwarded.status_code == 200, forwarded.text
    assert forwarded.json()["department"] == "立案庭" and forwarded.json()["due_at"]

    mine = (await client.get("/api/tickets", headers=handler)).json()
    assert [t["id"] for t in mine] == [ticket_id] and mine[0]["caller_number"] == CALLER
    assert (await client.get("/api/tickets", headers=other)).json() == []
    assert (await client.get(f"/api/tickets/{ticket_id}", headers=other)).status_code == 403
    seen = (await client.get("/api/tickets", headers=head)).json()
    assert seen[0]["caller_number"] == "138****5678" and not seen[0]["may_act"]
    assert (await client.post(f"/api/tickets/{ticket_id}/close",
                              headers=head)).status_code == 403

    refused = await client.post(f"/api/tickets/{ticket_id}/close", headers=handler)
    assert refused.status_code == 409
    assert refused.json()["detail"] == "须有回复录音或短信送达回执，才能办结。"
    empty = await client.post(f"/api/tickets/{ticket_id}/reply-sms", headers=handler,
                              json={"text": "  "})
    assert empty.json()["detail"]["errors"] == {"reply": "请填写回复内容。"}
    replied = await client.post(f"/api/tickets/{ticket_id}/reply-sms", headers=handler,
                                json={"text": "您反映的问题已转立案庭核查。"})
    sms_id = replied.json()["answer_sms_id"]
    assert (await client.post(f"/api/tickets/{ticket_id}/close",
                              headers=handler)).status_code == 409

    async with session_scope(sessions) as db:
        message = await db.get(SmsMessage, sms_id)
        assert message is not None and message.to_number == CALLER
        message.status, message.delivered_at = "delivered", clock.now
        await close_on_delivered(db, message)
    # The owner agent reads the whole history (Art. 6).
    whole = (await client.get(f"/api/tickets/{ticket_id}", headers=agent)).json()
    assert whole["status"] == "closed"
    assert [e["kind"] for e in whole["history"]] == ["forwarded", "notified", "caller_told",
                                                    "replied", "closed", "caller_told"]
    assert [e["actor"] for e in whole["history"]][:4] == ["张三", "张三", "张三", "handler"]
    again = await client.post(f"/api/tickets/{ticket_id}/close", headers=handler)
    assert again.status_code == 409 and again.json()["detail"] == "该事项已办结。"


async def test_the_handler_desk_page_shows_the_supervision_mark_and_refuses_closing(
        client: httpx.AsyncClient, people: dict[str, int], sessions: Sessions) -> None:
    department = await _department(client, people)
    ticket_id = await _ticket(sessions, people["agent"])
    agent = await _token(client, AGENT_NAME)
    await client.post(f"/api/tickets/{ticket_id}/forward", headers=agent,
                      json={"department_id": department})
    async with session_scope(sessions) as db:
        ticket = await db.get(Ticket, ticket_id)
        assert ticket is not None
        ticket.escalation_level = 1

    await log_in(client, "handler")
    desk = await client.get("/handler")
    assert desk.status_code == 200 and "督办" in desk.text and "13812345678" in desk.text
    page = await client.get(f"/tickets/{ticket_id}")
    refused = await client.post(f"/tickets/{ticket_id}/close",
                                data={"csrf_token": csrf_of(page.text)})
    assert refused.status_code == 409 and "须有回复录音或短信送达回执" in refused.text
    typed = await client.post(f"/tickets/{ticket_id}/reply-sms",
                              data={"reply": "x" * 501, "csrf_token": csrf_of(page.text)})
    assert typed.status_code == 422 and "回复内容不能超过500个字" in typed.text
    assert "x" * 501 in typed.text


async def test_after_hours_tickets_are_taken_one_each(
        client: httpx.AsyncClient, people: dict[str, int], sessions: Sessions) -> None:
    first = await _ticket(sessions, None)
    agent = await _token(client, AGENT_NAME)

    listed = (await client.get("/api/tickets/callbacks", headers=agent)).json()
    assert [t["id"] for t in listed] == [first]
    taken = await client.post("/api/tickets/callbacks/take", headers=agent)
    assert taken.status_code == 200 and taken.json()["id"] == first
    assert taken.json()["history"][0]["kind"] == "picked_up"
    assert (await client.post("/api/tickets/callbacks/take", headers=agent)).status_code == 204
    assert (await client.post(f"/api/tickets/{first}/pick-up", headers=agent)).status_code == 409


async def test_the_voice_message_plays_only_for_those_who_act_and_is_logged(
        client: httpx.AsyncClient, people: dict[str, int], sessions: Sessions,
        tmp_path: Path) -> None:
    department = await _department(client, people)
    relative = "2026/12/01/1764550000.1-message.wav"
    write_wav(tmp_path / "recordings" / relative, 1.0)
    client_app = client._transport.app  # type: ignore[attr-defined]
    client_app.state.recordings_dir = tmp_path / "recordings"
    ticket_id = await _ticket(sessions, people["agent"], audio=relative)
    agent, head = await _token(client, AGENT_NAME), await _token(client, "head")
    await client.post(f"/api/tickets/{ticket_id}/forward", headers=agent,
                      json={"department_id": department})

    played = await client.get(f"/tickets/{ticket_id}/audio", headers=await _token(client,
                                                                                   "handler"))
    assert played.status_code == 200 and played.content[:4] == b"RIFF"
    denied = await client.get(f"/tickets/{ticket_id}/audio", headers=await _token(client,
                                                                                   "other"))
    assert denied.status_code == 403
    assert (await client.get(f"/tickets/{ticket_id}/audio", headers=head)).status_code == 403
    async with session_scope(sessions) as db:
        log = list((await db.execute(select(RecordingAccess)
                                     .order_by(RecordingAccess.id))).scalars())
        assert [a.action for a in log] == ["play", "denied"]
        assert [a.user_id for a in log] == [people["handler"], people["other"]]
