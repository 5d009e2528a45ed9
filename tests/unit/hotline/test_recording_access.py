"""hotline.recording_access: who may hear a call's recordings, role by role, on a real
database; and the bridge naming the agent who answered (ivr.calltracker)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from panoramisk.message import Message
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.db import calls
from hotline.db import recording_access as access_db
from hotline.db.base import session_scope
from hotline.db.models import AgentPresence, CallEvent, CallLog, Department, Ticket, User
from hotline.recording_access import Listener, may_hear_call
from ivr.calltracker import CallTracker
from ivr.services import Services

Sessions = async_sessionmaker[AsyncSession]
T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
STAFF = {  # username: (role, display name, extension)
    "zhang": ("agent", "张三", "8001"),
    "li": ("agent", "李四", "8002"),
    # sat at seat 8001 for a while (c4); an extension is one user's at a time, and 8003
    # is wang's now
    "wang": ("agent", "王五", "8003"),
    "handler": ("dept_handler", "刘专人", ""),
    "handler2": ("dept_handler", "陈专人", ""),
    "judge": ("duty_judge", "王法官", "8101"),
    "judge2": ("duty_judge", "赵法官", "8102"),
    "admin": ("admin", "管理员", ""),
    "leader": ("leader", "院领导", ""),
    "head": ("dept_head", "部门负责人", ""),
}


async def _staff(sessions: Sessions) -> dict[str, Listener]:
    async with session_scope(sessions) as db:
        users = {name: User(username=name, display_name=display, role=role,
                            password_hash="-", extension=ext)
                 for name, (role, display, ext) in STAFF.items()}
        db.add_all(users.values())
        await db.flush()
        return {name: Listener(u.id, u.role, u.username, u.display_name, u.extension)
                for name, u in users.items()}


async def _call(db: AsyncSession, call_id: str, *events: tuple[str, dict[str, str]]) -> None:
    await calls.ensure_call(db, call_id, caller_number="13812345678", started_at=T0)
    for kind, detail in events:
        db.add(CallEvent(call_id=call_id, kind=kind, detail=detail, at=T0))


async def _who_may(sessions: Sessions, staff: dict[str, Listener], call_id: str) -> set[str]:
    async with session_scope(sessions) as db:
        return {name for name, who in staff.items() if await may_hear_call(db, who, call_id)}


@pytest.fixture
async def staff(sessions: Sessions) -> dict[str, Listener]:
    return await _staff(sessions)


async def test_a_queued_call_answered_by_one_agent_and_transferred_to_a_judge(
        sessions: Sessions, staff: dict[str, Listener]) -> None:
    async with session_scope(sessions) as db:
        await _call(db, "c1",
                    ("agent", {"agent": "张三", "extension": "8001",
                               "user_id": str(staff["zhang"].id)}),
                    ("judge-ringing", {"kind": "blind", "target": "8101", "back": "8001"}))
    # The agent who answered, the judge it went to, administrators: nobody else.
    assert await _who_may(sessions, staff, "c1") == {"zhang", "judge", "admin"}


async def test_a_seat_that_changed_hands_does_not_give_the_next_agent_old_calls(
        sessions: Sessions, staff: dict[str, Listener]) -> None:
    async with session_scope(sessions) as db:
        # The bridge did not know who sat there (nobody signed in through the console).
        await _call(db, "c2", ("agent", {"agent": "张三", "extension": "8001"}))
        await _call(db, "c3", ("agent", {"agent": "8001", "extension": "8001"}))
    assert await _who_may(sessions, staff, "c2") == {"zhang", "admin"}
    # A member named by the seat alone: whoever has the seat.
    assert await _who_may(sessions, staff, "c3") == {"zhang", "admin"}


async def test_a_user_id_in_the_event_outranks_the_seat(
        sessions: Sessions, staff: dict[str, Listener]) -> None:
    async with session_scope(sessions) as db:
        await _call(db, "c4", ("agent", {"agent": "王五", "extension": "8001",
                                         "user_id": str(staff["wang"].id)}))
    assert await _who_may(sessions, staff, "c4") == {"wang", "admin"}


async def test_a_call_log_or_a_matter_owned_gives_nobody_the_call(
        sessions: Sessions, staff: dict[str, Listener]) -> None:
    """Issue 10: an agent who never handled a call wrote a log naming it, and from then on
    could hear it. What a user declares is no evidence: only what the PBX saw counts."""
    async with session_scope(sessions) as db:
        await _call(db, "c5")
        await _call(db, "c6")
        db.add(CallLog(call_id="c5", owner_id=staff["li"].id, caller_name="甲",
                       caller_kind="party", contact="13812345678", category="consult",
                       question="?", outcome="answered"))
        db.add(Ticket(reference="2612010001", type="consult", call_id="c6",
                      answer_call_id="c6", owner_id=staff["li"].id))
    assert await _who_may(sessions, staff, "c5") == {"admin"}
    assert await _who_may(sessions, staff, "c6") == {"admin"}


async def test_the_staff_the_pbx_rang_for_a_reply_call_hear_it(
        services: Services, staff: dict[str, Listener]) -> None:
    """A reply call: dialplan/reply.conf's HotlineReply names the console user the PBX rang
    (set on the Originate), and the bridge records it on the call."""
    async with session_scope(services.sessions) as db:
        db.add(Ticket(reference="2612010005", type="consult", caller_number="13812345678",
                      owner_id=staff["li"].id))
        await db.flush()
    tracker = CallTracker(services)
    await tracker.on_user_event(Message({
        "Event": "UserEvent", "UserEvent": "HotlineReply", "Linkedid": "1795747060.3",
        "Uniqueid": "1795747060.3", "Ticket": "1", "Staff": str(staff["li"].id),
        "DialStatus": "ANSWER", "Talked": "42", "Timestamp": "1795747100.0"}))
    await services.writer.flush()  # the bridge writes behind the event (ivr/writebehind.py)
    assert await _who_may(services.sessions, staff, "1795747060.3") == {"li", "admin"}


async def test_department_handlers_hear_calls_of_tickets_forwarded_to_them(
        sessions: Sessions, staff: dict[str, Listener]) -> None:
    async with session_scope(sessions) as db:
        for call_id in ("c7", "c8", "c9"):
            await _call(db, call_id)
        dept = Department(name="立案庭", handler_id=staff["handler"].id,
                          head_id=staff["head"].id, leader_id=staff["leader"].id)
        db.add(dept)
        await db.flush()
        db.add_all([
            Ticket(reference="2612010002", type="contact", call_id="c7",
                   department_id=dept.id, forwarded_at=T0),
            # The handler's reply call to the caller.
            Ticket(reference="2612010003", type="contact", answer_call_id="c8",
                   department_id=dept.id, forwarded_at=T0),
            # Not forwarded yet: the department has nothing to do with it.
            Ticket(reference="2612010004", type="contact", call_id="c9",
                   department_id=dept.id),
        ])
    assert await _who_may(sessions, staff, "c7") == {"handler", "admin"}
    assert await _who_may(sessions, staff, "c8") == {"handler", "admin"}
    assert await _who_may(sessions, staff, "c9") == {"admin"}


async def test_a_judge_whose_phone_never_rang_hears_nothing(
        sessions: Sessions, staff: dict[str, Listener]) -> None:
    async with session_scope(sessions) as db:
        await _call(db, "c10", ("transfer", {"kind": "BlindTransfer", "result": "Success"}))
    assert await _who_may(sessions, staff, "c10") == {"admin"}


async def test_the_bridge_names_the_agent_signed_in_on_the_seat(
        services: Services, staff: dict[str, Listener]) -> None:
    async with session_scope(services.sessions) as db:
        db.add(AgentPresence(user_id=staff["wang"].id, extension="8001", state="ready"))
        await calls.ensure_call(db, "1795747054.0", started_at=T0)
    tracker = CallTracker(services)
    await tracker.on_agent_connect(Message({
        "Event": "AgentConnect", "Uniqueid": "1795747054.0", "Linkedid": "1795747054.0",
        "MemberName": "王五", "Interface": "PJSIP/8001", "Timestamp": "1795747058.5"}))
    await services.writer.flush()  # the bridge writes behind the event (ivr/writebehind.py)
    async with session_scope(services.sessions) as db:
        [event] = await access_db.call_events(db, "1795747054.0", ("agent",))
        assert event.detail == {"agent": "王五", "extension": "8001",
                                "user_id": str(staff["wang"].id)}
    assert await _who_may(services.sessions, staff, "1795747054.0") == {"wang", "admin"}


async def test_nobody_signed_in_on_the_seat_leaves_the_user_out(
        services: Services, staff: dict[str, Listener]) -> None:
    async with session_scope(services.sessions) as db:
        db.add(AgentPresence(user_id=staff["zhang"].id, extension="8001", state="out"))
        await calls.ensure_call(db, "1795747054.0", started_at=T0)
        assert await access_db.user_on_extension(db, "8001") is None


async def test_the_log_refuses_an_unknown_action(sessions: Sessions) -> None:
    async with session_scope(sessions) as db:
        with pytest.raises(ValueError, match="listen"):
            await access_db.log_access(db, None, None, "listen")
