"""Appointments on the matter's page (issue 15, Art. 4(6)): the department confirms a slot,
moves it and cancels it, and each step queues the caller's SMS — through the console's
pages and API on each database."""

from __future__ import annotations

from datetime import date

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agent_console import accounts
from agent_console.texts import DEPT_HANDLER, DEPT_HEAD, LEADER
from hotline import appointments
from hotline.appointments import HalfDay
from hotline.db.base import session_scope
from hotline.db.models import Appointment, SmsMessage, Ticket, TicketEvent
from hotline.db.tickets import create_ticket

from .conftest import ADMIN_NAME, AGENT_NAME, PASSWORD, csrf_of, log_in

Sessions = async_sessionmaker[AsyncSession]
CALLER = "13812340015"
# The console's clock: Tuesday 2026-12-01, 09:00 in the court.
PREFERRED = [HalfDay(date(2026, 12, 3), "pm"), HalfDay(date(2026, 12, 2), "am")]


async def _token(client: httpx.AsyncClient, username: str) -> dict[str, str]:
    response = await client.post("/api/login", json={"username": username,
                                                     "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def _forwarded_appointment(client: httpx.AsyncClient, sessions: Sessions,
                                 caller: str = CALLER) -> int:
    """A 预约立案 from the voice menu (the caller chose filing over mediation), taken by the
    agent and forwarded to 立案一庭 (handler appt-handler, head appt-head)."""
    async with session_scope(sessions) as db:
        handler = await accounts.add_user(db, "appt-handler", PASSWORD, DEPT_HANDLER, "立案专人")
        head = await accounts.add_user(db, "appt-head", PASSWORD, DEPT_HEAD, "庭长")
        leader = await accounts.add_user(db, "appt-leader", PASSWORD, LEADER, "院领导")
        agent = await accounts.get_user(db, AGENT_NAME)
        assert agent is not None
        ticket = await create_ticket(db, "appointment", caller, None, subtype="filing",
                                     owner_id=agent.id)
        await appointments.record_request(db, ticket, "filing", PREFERRED, guidance="filing")
        ticket_id = ticket.id
    admin = await _token(client, ADMIN_NAME)
    made = await client.post("/api/departments", headers=admin, json={
        "name": "立案一庭", "handler_id": handler.id, "head_id": head.id,
        "leader_id": leader.id})
    assert made.status_code == 201, made.text
    agent_token = await _token(client, AGENT_NAME)
    forwarded = await client.post(f"/api/tickets/{ticket_id}/forward", headers=agent_token,
                                  json={"department_id": made.json()["id"]})
    assert forwarded.status_code == 200, forwarded.text
    return ticket_id


async def _sms(sessions: Sessions, ticket_id: int) -> list[SmsMessage]:
    """The appointment's SMS to the caller (not the notice that it was forwarded)."""
    async with session_scope(sessions) as db:
        rows = await db.execute(select(SmsMessage).where(SmsMessage.ticket_id == ticket_id,
                                                         SmsMessage.to_number == CALLER)
                                .order_by(SmsMessage.id))
        return [m for m in rows.scalars() if "预约" in m.text]


async def test_the_department_confirms_moves_and_cancels_and_the_caller_is_told_each_time(
        client: httpx.AsyncClient, sessions: Sessions) -> None:
    ticket_id = await _forwarded_appointment(client, sessions)
    await log_in(client, "appt-handler")
    page = await client.get(f"/tickets/{ticket_id}")
    assert page.status_code == 200
    for shown in ("预约立案", "继续预约立案", "12月3日（周四）下午；12月2日（周三）上午",
                  "待确认", "诉讼服务中心立案窗口", "确认预约并短信通知"):
        assert shown in page.text, shown
    # The caller's own half-days come first in the list of slots.
    assert page.text.index('value="2026-12-03/pm"') < page.text.index('value="2026-12-04/am"')

    # A Saturday is refused, naming the field; what was typed stays.
    csrf = csrf_of(page.text)
    refused = await client.post(f"/tickets/{ticket_id}/appointment/confirm", data={
        "csrf_token": csrf, "slot": "2026-12-05/am", "place": "第三调解室", "bring": ""})
    assert refused.status_code == 422
    assert "预约时间不是工作日，请另选。" in refused.text and "第三调解室" in refused.text
    assert await _sms(sessions, ticket_id) == []

    done = await client.post(f"/tickets/{ticket_id}/appointment/confirm", data={
        "csrf_token": csrf, "slot": "2026-12-03/pm", "place": "", "bring": ""})
    assert done.status_code == 303
    assert done.headers["location"].endswith("notice=appointment_confirmed#appointment")
    [confirmed] = await _sms(sessions, ticket_id)
    assert "12月3日（周四）下午" in confirmed.text and "诉讼服务中心立案窗口" in confirmed.text
    assert "起诉状" in confirmed.text and confirmed.text.startswith("【12368诉讼服务热线】")
    async with session_scope(sessions) as db:
        ticket = await db.get(Ticket, ticket_id)
        assert ticket is not None and ticket.answer_sms_id == confirmed.id  # its answer
    shown = await client.get(f"/tickets/{ticket_id}")
    assert "已确认" in shown.text and "改约并短信通知" in shown.text and "确认预约" in shown.text

    handler = await _token(client, "appt-handler")
    moved = await client.post(f"/api/tickets/{ticket_id}/appointment/confirm", headers=handler,
                              json={"slot": "2026-12-07/am", "place": "第二立案窗口"})
    assert moved.status_code == 200, moved.text
    assert moved.json()["slot_label"] == "12月7日（周一）上午" and moved.json()["sms_sent"]
    cancelled = await client.post(f"/api/tickets/{ticket_id}/appointment/cancel",
                                  headers=handler, json={"reason": "承办法官出差"})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    _, rescheduled, cancel_sms = await _sms(sessions, ticket_id)
    assert "已改为12月7日（周一）上午" in rescheduled.text and "地点：第二立案窗口" in rescheduled.text
    assert (confirmed.kind, rescheduled.kind, cancel_sms.kind) == (
        "appointment_confirmed", "appointment_rescheduled", "appointment_cancelled")
    assert "12月7日（周一）上午" in cancel_sms.text and "原因：承办法官出差。" in cancel_sms.text
    again = await client.post(f"/api/tickets/{ticket_id}/appointment/cancel", headers=handler,
                              json={})
    assert again.status_code == 409
    async with session_scope(sessions) as db:
        kinds = (await db.execute(select(TicketEvent.kind)
                                  .where(TicketEvent.ticket_id == ticket_id))).scalars()
        assert [k for k in kinds if k.startswith("appt_")] == [
            "appt_requested", "appt_confirmed", "appt_rescheduled", "appt_cancelled"]
        found = await db.get(Appointment, ticket_id)
        assert found is not None and found.status == "cancelled"


async def test_the_head_reads_it_and_may_not_confirm(
        client: httpx.AsyncClient, sessions: Sessions) -> None:
    ticket_id = await _forwarded_appointment(client, sessions)
    head = await _token(client, "appt-head")
    read = await client.get(f"/api/tickets/{ticket_id}/appointment", headers=head)
    assert read.status_code == 200
    assert read.json()["preferred"] == ["2026-12-03/pm", "2026-12-02/am"]
    refused = await client.post(f"/api/tickets/{ticket_id}/appointment/confirm", headers=head,
                                json={"slot": "2026-12-03/pm"})
    assert refused.status_code == 403
    handler = await _token(client, "appt-handler")
    past = await client.post(f"/api/tickets/{ticket_id}/appointment/confirm", headers=handler,
                             json={"slot": "2026-12-01/pm", "bring": "x" * 301})
    assert past.status_code == 422
    assert past.json()["detail"]["errors"] == {"slot": "预约时间须晚于今天。",
                                               "bring": "携带材料不能超过300个字。"}
    assert await _sms(sessions, ticket_id) == []


async def test_an_agent_logs_an_appointment_and_it_is_a_matter_with_its_kind_and_half_days(
        client: httpx.AsyncClient, sessions: Sessions) -> None:
    await log_in(client)
    form = await client.get("/calls/log")
    assert "预约类别" in form.text and 'value="2026-12-02/am"' in form.text
    typed = {"csrf_token": csrf_of(form.text), "caller_name": "王五", "caller_kind": "party",
             "contact": "13812340016", "case_number": "（2026）豫03民初1234号",
             "category": "appointment", "question": "想约见承办法官", "outcome": "forwarded",
             "appointment_kind": ""}
    refused = await client.post("/calls/log", data={**typed, "preferred": ["2026-12-05/am"]})
    assert refused.status_code == 422
    assert "请选择预约类别。" in refused.text and "希望时间须从列出的半天中选择" in refused.text
    saved = await client.post("/calls/log", data={
        **typed, "appointment_kind": "meet_judge",
        "preferred": ["2026-12-04/pm", "2026-12-02/am"]})
    assert saved.status_code == 303, saved.text
    async with session_scope(sessions) as db:
        [ticket] = (await db.execute(select(Ticket).where(
            Ticket.caller_number == "13812340016"))).scalars()
        found = await db.get(Appointment, ticket.id)
    assert (ticket.type, ticket.subtype) == ("appointment", "meet_judge")
    assert ticket.owner_id is not None and found is not None
    assert found.preferred == ["2026-12-04/pm", "2026-12-02/am"]
    assert found.case_number == "（2026）豫03民初1234号"
    page = await client.get(f"/tickets/{ticket.id}")
    assert "约见法官" in page.text and "12月4日（周五）下午；12月2日（周三）上午" in page.text
