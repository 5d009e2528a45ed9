"""Complaints about the court's staff (issue 15), role by role on each database: the agent
files one from the call log's checkbox; from then on only the discipline department's
people (handler, head, supervising leader) and administrators see it — its log, its
matter, its call, the call's recording, its SMS, its drill-down rows, searches included.
The agent who took it, another agent, the department complained about (handler, head,
its leader) see nothing of it; everyone still sees an ordinary log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import pbx
from agent_console import accounts
from agent_console.texts import AGENT, DEPT_HANDLER, DEPT_HEAD, LEADER
from hotline.db import calls
from hotline.db.base import session_scope
from hotline.db.models import CallEvent, CallLog, Department, Recording, SmsMessage, Ticket
from hotline.settings import Settings
from tests.conftest import write_wav

from .conftest import ADMIN_NAME, AGENT_NAME, PASSWORD, Clock, csrf_of, log_in

Sessions = async_sessionmaker[AsyncSession]
SECRET_CALL, PLAIN_CALL = "1764550000.901", "1764550000.902"
COMPLAINANT, OTHER_CALLER = "13912340901", "13912340902"
COMPLAINT = {"caller_name": "赵投诉", "caller_kind": "party", "contact": COMPLAINANT,
             "id_number": "", "case_number": "", "category": "complaint",
             "question": "立案庭某法官吃拿卡要", "answer": "", "outcome": "forwarded"}
PLAIN = {**COMPLAINT, "caller_name": "钱咨询", "contact": OTHER_CALLER,
         "category": "consultation", "question": "上诉期限是多久", "answer": "十五日。",
         "outcome": "answered"}
# who is who: role, and the department they serve in
PEOPLE = {"li": (AGENT, ""), "jj_handler": (DEPT_HANDLER, "纪检监察"),
          "jj_head": (DEPT_HEAD, "纪检监察"), "jj_leader": (LEADER, "纪检监察"),
          "la_handler": (DEPT_HANDLER, "立案庭"), "la_head": (DEPT_HEAD, "立案庭"),
          "la_leader": (LEADER, "立案庭")}
CLEARED = {"jj_handler", "jj_head", "jj_leader", ADMIN_NAME}
NOT_CLEARED = {AGENT_NAME, "li", "la_handler", "la_head", "la_leader"}


@dataclass
class Filed:
    log_id: int
    ticket_id: int
    reference: str


async def _people(sessions: Sessions) -> dict[str, int]:
    async with session_scope(sessions) as db:
        ids = {name: (await accounts.add_user(db, name, PASSWORD, role, name)).id
               for name, (role, _) in PEOPLE.items()}
        for dept in ("纪检监察", "立案庭"):
            staff = {PEOPLE[n][0]: ids[n] for n in PEOPLE if PEOPLE[n][1] == dept}
            db.add(Department(name=dept, handler_id=staff[DEPT_HANDLER],
                              head_id=staff[DEPT_HEAD], leader_id=staff[LEADER]))
    return ids


async def _answered_calls(sessions: Sessions, settings: Settings, clock: Clock) -> None:
    """Two calls 张三 (seat 8001) answered, each recorded."""
    root = pbx.instance_for(settings).recordings_dir
    async with session_scope(sessions) as db:
        for call_id, number in ((SECRET_CALL, COMPLAINANT), (PLAIN_CALL, OTHER_CALLER)):
            await calls.ensure_call(db, call_id, caller_number=number,
                                    started_at=clock.now - timedelta(minutes=5))
            db.add(CallEvent(call_id=call_id, kind="agent", at=clock.now,
                             detail={"agent": "张三", "extension": "8001"}))
            relative = f"2026/12/01/{call_id}.wav"
            write_wav(root / relative, 1.0)
            db.add(Recording(call_id=call_id, path=relative, status="complete",
                             duration_seconds=1.0))


async def _file(client: httpx.AsyncClient, sessions: Sessions) -> Filed:
    async with session_scope(sessions) as db:
        accused = (await db.execute(select(Department.id).where(Department.name == "立案庭"))
                   ).scalar_one()
    await log_in(client)
    csrf = csrf_of((await client.get(f"/calls/log?call={PLAIN_CALL}")).text)
    saved = await client.post("/calls/log", data={**PLAIN, "call_id": PLAIN_CALL,
                                                   "csrf_token": csrf})
    assert saved.status_code == 303
    form = await client.get(f"/calls/log?call={SECRET_CALL}")
    assert "投诉法院工作人员" in form.text and "立案庭" in form.text
    wrong = await client.post("/calls/log", data={
        **COMPLAINT, "category": "consultation", "call_id": SECRET_CALL, "about_staff": "1",
        "csrf_token": csrf})
    assert wrong.status_code == 422 and "事项类别须为“投诉举报”" in wrong.text
    assert "吃拿卡要" in wrong.text  # what was typed is kept
    saved = await client.post("/calls/log", data={
        **COMPLAINT, "call_id": SECRET_CALL, "about_staff": "1",
        "accused_department": str(accused), "csrf_token": csrf})
    assert saved.status_code == 303
    assert saved.headers["location"] == "/calls/logs?confidential=1"
    await client.post("/logout", data={"csrf_token": csrf})
    async with session_scope(sessions) as db:
        log = (await db.execute(select(CallLog).where(CallLog.call_id == SECRET_CALL))
               ).scalar_one()
        ticket = await db.get(Ticket, log.ticket_id)
        assert log.confidential and ticket is not None and ticket.confidential
        department = await db.get(Department, ticket.department_id)
        assert department is not None and department.name == "纪检监察"
        assert ticket.accused_department_id == accused
        # the discipline department's reply, waiting in the outbox
        db.add(SmsMessage(to_number=COMPLAINANT, text="您反映的问题已受理", ticket_id=ticket.id,
                          call_id=SECRET_CALL, status="failed"))
        return Filed(log.id, ticket.id, ticket.reference)


async def _sees(client: httpx.AsyncClient, who: str, filed: Filed) -> dict[str, bool]:
    """What of the complaint who sees, place by place (a place their role cannot open at
    all counts as not seen)."""
    await log_in(client, who)
    seen: dict[str, bool] = {}

    async def listed(path: str, needle: str, key: str) -> None:
        answer = await client.get(path)
        seen[key] = answer.status_code == 200 and needle in answer.text

    await listed("/api/calllogs", "吃拿卡要", "log list")
    await listed(f"/api/calllogs?q={COMPLAINANT}", "吃拿卡要", "log search")
    await listed(f"/api/calllogs/{filed.log_id}", "吃拿卡要", "log")
    await listed("/api/tickets", filed.reference, "matter list")
    await listed(f"/api/tickets/{filed.ticket_id}", filed.reference, "matter")
    # the list names a call by its caller's number (masked but for the last 4 digits)
    await listed("/api/calls", COMPLAINANT[-4:], "call list")
    await listed(f"/api/calls/{SECRET_CALL}/recordings", SECRET_CALL, "recording")
    await listed("/api/sms/outbox", "已受理", "sms")
    await listed("/dashboard/matters?set=all", filed.reference, "drill-down")
    await listed("/dashboard/calls?set=received", f"/calls/{SECRET_CALL}", "call drill-down")
    # whoever reads every log (leaders, administrators) still sees the ordinary one
    if who in (ADMIN_NAME, "la_leader", "jj_leader"):
        assert "上诉期限" in (await client.get("/api/calllogs")).text, who
    client.cookies.clear()
    return seen


# where each cleared reader's role has a page for it
CLEARED_SEES = {
    ADMIN_NAME: {"log list", "log search", "log", "matter list", "matter", "call list",
                 "recording", "sms", "drill-down", "call drill-down"},
    "jj_leader": {"log list", "log search", "log", "matter list", "matter", "call list",
                  "drill-down", "call drill-down"},
    "jj_handler": {"matter list", "matter", "recording"},
    "jj_head": {"matter list", "matter"},
}


async def test_a_complaint_about_staff_is_seen_by_the_discipline_department_alone(
        client: httpx.AsyncClient, sessions: Sessions, settings: Settings,
        clock: Clock) -> None:
    await _people(sessions)
    await _answered_calls(sessions, settings, clock)
    filed = await _file(client, sessions)
    seen = {who: {k for k, v in (await _sees(client, who, filed)).items() if v}
            for who in sorted(NOT_CLEARED | CLEARED)}
    want = {**{who: set() for who in NOT_CLEARED}, **CLEARED_SEES}
    assert seen == want, {w: (seen[w] ^ want[w]) for w in want if seen[w] != want[w]}
