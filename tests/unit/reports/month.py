"""A synthetic month, October 2026, whose figures were worked out by hand (the answers are
in test_figures.py and test_scorecard.py, beside each the sum that gives them).

The month has the National Day holiday week (Oct 1–7), a make-up Saturday (Oct 10), the
winter office hours 08:00–12:00 and 14:30–17:30 (Asia/Shanghai, UTC+8), calls abandoned at
3 s and at 40 s, matters answered in the deadline's last minute and one minute late, and a
matter forwarded on a holiday. Times below are the court's local time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.db.models import Call, CallEvent, CallLog, Department, Ticket, TicketEvent, User
from hotline.recording_access import REPLY_CALL_EVENT

ZONE = ZoneInfo("Asia/Shanghai")
# The moment the report is made: Tue 2026-10-27 12:00.
NOW = datetime(2026, 10, 27, 12, 0, tzinfo=ZONE).astimezone(UTC)


def local(day: int, clock: str, month: int = 10) -> datetime:
    hour, minute, *second = (int(p) for p in clock.split(":"))
    return datetime(2026, month, day, hour, minute, second[0] if second else 0,
                    tzinfo=ZONE).astimezone(UTC)


@dataclass
class People:
    agent_a: int
    agent_b: int
    agent_c: int
    head_1: int
    head_2: int
    leader_1: int
    leader_2: int
    handler: int
    admin: int
    dept_1: int
    dept_2: int


async def add_people(session: AsyncSession) -> People:
    def user(name: str, role: str, display: str) -> User:
        return User(username=name, role=role, display_name=display, password_hash="x")

    users = [user("a", "agent", "座席甲"), user("b", "agent", "座席乙"),
             user("c", "agent", "座席丙"), user("h1", "dept_head", "立案庭庭长"),
             user("h2", "dept_head", "执行局局长"), user("l1", "leader", "院领导一"),
             user("l2", "leader", "院领导二"), user("hd", "dept_handler", "专人"),
             user("adm", "admin", "管理员")]
    session.add_all(users)
    await session.flush()
    a, b, c, h1, h2, l1, l2, hd, adm = (u.id for u in users)
    d1 = Department(name="立案庭", handler_id=hd, head_id=h1, leader_id=l1)
    d2 = Department(name="执行局", handler_id=hd, head_id=h2, leader_id=l2)
    session.add_all([d1, d2])
    await session.flush()
    return People(a, b, c, h1, h2, l1, l2, hd, adm, d1.id, d2.id)


def _call(session: AsyncSession, call_id: str, started: datetime, ended: datetime,
          route: str, **values: str) -> None:
    session.add(Call(id=call_id, started_at=started, answered_at=started, ended_at=ended,
                     route=route, caller_number="13800000000", disposition="answered",
                     **values))


def _event(session: AsyncSession, call_id: str, kind: str, at: datetime,
           **detail: str) -> None:
    session.add(CallEvent(call_id=call_id, kind=kind, at=at, detail=detail))


def _seat_call(session: AsyncSession, call_id: str, day: int, clock: str, queue_after: int,
               wait: int, talk: int, user_id: int) -> None:
    start = local(day, clock)
    queued = start + timedelta(seconds=queue_after)
    seat = queued + timedelta(seconds=wait)
    _call(session, call_id, start, seat + timedelta(seconds=talk), "queue", agent=f"s{user_id}")
    _event(session, call_id, "queue", queued, queue="seats")
    _event(session, call_id, "agent", seat, agent=f"s{user_id}", user_id=str(user_id))


def _abandoned_call(session: AsyncSession, call_id: str, day: int, clock: str,
                    queue_after: int, waited: int) -> None:
    start = local(day, clock)
    queued = start + timedelta(seconds=queue_after)
    gone = queued + timedelta(seconds=waited)
    _call(session, call_id, start, gone, "queue")
    _event(session, call_id, "queue", queued, queue="seats")
    _event(session, call_id, "abandon", gone, queue="seats")


async def add_calls(session: AsyncSession, p: People) -> None:
    # Answered by a seat: wait 15 s / talk 300 s (Fri), 30 s / 120 s on the make-up
    # Saturday, 10 s / 600 s (Mon); 5 s / 60 s on a holiday (the hotline opened by hand).
    _seat_call(session, "c-ans1", 9, "09:00:00", 10, 15, 300, p.agent_a)
    _seat_call(session, "c-ans2", 10, "10:00:00", 5, 30, 120, p.agent_b)
    _seat_call(session, "c-ans3", 12, "15:00:00", 2, 10, 600, p.agent_a)
    _seat_call(session, "c-holiday", 3, "10:00:00", 5, 5, 60, p.agent_a)
    # Abandoned in the queue after 3 s and after 40 s (Tue).
    _abandoned_call(session, "c-ab3", 13, "09:30:00", 5, 3)
    _abandoned_call(session, "c-ab40", 13, "16:00:00", 4, 40)
    # Sent on by the queue after 5 minutes (Wed): offered, not answered, not abandoned.
    _call(session, "c-overflow", local(14, "11:00:00"), local(14, "11:07:00"), "queue")
    _event(session, "c-overflow", "queue", local(14, "11:00:01"), queue="seats")
    _event(session, "c-overflow", "queue-left", local(14, "11:05:01"), status="TIMEOUT")
    # The voice menu alone: a holiday, a night, and 23:30 on the month's last day.
    _call(session, "c-menu-holiday", local(2, "10:00"), local(2, "10:03"), "done")
    _call(session, "c-menu-night", local(14, "20:00"), local(14, "20:04"), "closed")
    _call(session, "c-oct31", local(31, "23:30"), local(31, "23:32"), "closed")
    # Not October's: 23:59 on Sep 30, and 00:10 on Nov 1 (still Oct 31 in UTC); nor a
    # handler's reply call, which is no call to the hotline.
    _call(session, "c-sep", local(30, "23:59", month=9), local(30, "23:59", month=9), "closed")
    _call(session, "c-nov", local(1, "00:10", month=11), local(1, "00:12", month=11), "closed")
    _call(session, "c-reply", local(12, "17:31"), local(12, "17:35"), "")
    _event(session, "c-reply", REPLY_CALL_EVENT, local(12, "17:31"), user_id=str(p.handler))
    # Call logs: agent A logged c-ans1; B logged a September call.
    session.add(CallLog(call_id="c-ans1", owner_id=p.agent_a, caller_name="张三",
                        caller_kind="party", contact="13800000000", category="consultation",
                        question="立案材料", outcome="forwarded",
                        created_at=local(9, "09:06")))
    session.add(CallLog(call_id="c-sep", owner_id=p.agent_b, caller_name="李四",
                        caller_kind="public", contact="13800000001", category="consultation",
                        question="开庭时间", outcome="answered",
                        created_at=local(30, "23:59", month=9)))
    await session.flush()


def add_reconciled_call(session: AsyncSession) -> None:
    """A call the reconciler rebuilt from the CDR after the bridge was down: it went to the
    queue (Tue Oct 20, 09:00), and nothing says whether a seat took it."""
    _call(session, "c-reconciled", local(20, "09:00"), local(20, "09:06"), "queue",
          source="reconciled")


def _ticket(reference: str, type: str, created: datetime, **values: object) -> Ticket:
    values.setdefault("status", "open")
    return Ticket(reference=reference, type=type, created_at=created,
                  caller_number="13800000000", **values)


async def add_matters(session: AsyncSession, p: People) -> dict[str, Ticket]:
    t = {
        # Forwarded Fri Oct 9 10:00 to 立案庭: day 1 is the make-up Saturday, day 2 Mon
        # Oct 12 → due 17:30; answered 17:29:30, the deadline's last minute.
        "T1": _ticket("2610090001", "consultation", local(9, "09:05"), call_id="c-ans1",
                      department_id=p.dept_1, forwarded_at=local(9, "10:00"),
                      due_at=local(12, "17:30"), answered_at=local(12, "17:29:30"),
                      closed_at=local(12, "17:29:30"), status="closed", owner_id=p.agent_a),
        # Forwarded Fri Oct 9 11:00, due Mon 17:30; the head was pushed (督办) and the
        # caller picked up the reply call at 17:31, a minute late (closed next morning).
        "T2": _ticket("2610090002", "complaint", local(9, "11:00"), department_id=p.dept_1,
                      forwarded_at=local(9, "11:00"), due_at=local(12, "17:30"),
                      answered_at=local(13, "09:00"), closed_at=local(13, "09:00"),
                      status="closed", escalation_level=1),
        # A voice message left Wed night, forwarded Thu Oct 15 09:00 to 执行局, due Mon
        # Oct 19 17:30, still open and pushed to the leader.
        "T3": _ticket("2610140001", "suggestion", local(14, "20:00"), audio_path="m/t3.wav",
                      department_id=p.dept_2, forwarded_at=local(15, "09:00"),
                      due_at=local(19, "17:30"), escalation_level=2),
        # Forwarded Mon Oct 26, due Wed Oct 28: open, not yet due on the 27th.
        "T4": _ticket("2610260001", "appointment", local(26, "09:00"), subtype="filing",
                      department_id=p.dept_2, forwarded_at=local(26, "09:00"),
                      due_at=local(28, "17:30")),
        # A case query the voice menu answered on a holiday.
        "T5": _ticket("2610020001", "case_query", local(2, "10:02"), status="answered"),
        # A callback agent A returned on Fri Oct 16.
        "T6": _ticket("2610150001", "callback", local(15, "08:00"), audio_path="m/t6.wav",
                      owner_id=p.agent_a, status="closed", answered_at=local(16, "10:00"),
                      closed_at=local(16, "10:00")),
        # By SMS on the National Day holiday, forwarded the same day (Thu Oct 1): the
        # holiday week does not count, day 1 is Thu Oct 8, day 2 Fri Oct 9 → due 17:30;
        # answered 17:00.
        "T8": _ticket("2610010001", "contact_judge", local(1, "10:00"),
                      detail={"source": "sms"}, department_id=p.dept_1,
                      forwarded_at=local(1, "10:00"), due_at=local(9, "17:30"),
                      answered_at=local(9, "17:00"), closed_at=local(9, "17:00"),
                      status="closed"),
        # September's: forwarded Wed Sep 30, due Fri Oct 9 (after the holiday week).
        "T7": _ticket("2609300001", "consultation", local(30, "10:00", month=9),
                      department_id=p.dept_1, forwarded_at=local(30, "10:00", month=9),
                      due_at=local(9, "17:30"), answered_at=local(9, "10:00"),
                      closed_at=local(9, "10:00"), status="closed"),
    }
    session.add_all(t.values())
    await session.flush()
    session.add(TicketEvent(ticket_id=t["T2"].id, kind="call_answered", at=local(12, "17:31"),
                            detail={"call_id": "c-reply"}))
    await session.flush()
    return t


async def add_month(session: AsyncSession) -> tuple[People, dict[str, Ticket]]:
    people = await add_people(session)
    await add_calls(session, people)
    return people, await add_matters(session, people)


# --- the voice menu after hours (test_menu.py) ------------------------------------------------

def _prompt(name: str) -> tuple[str, dict[str, str]]:
    return "prompt", {"prompt": name}


def _key(prompt: str, key: str) -> tuple[str, dict[str, str]]:
    timeout = "yes" if not key else "no"
    return "menu", {"prompt": prompt, "key": key, "timeout": timeout}


WELCOME = _prompt("welcome")
MAIN = _prompt("main-menu")
# Eight calls the voice menu took (route "menu"), each with the events the bridge writes
# (ivr/callflow.py), one a second from the call's start; where each ended is beside it.
MENU_CALLS: dict[str, tuple[datetime, list[tuple[str, dict[str, str]]], str]] = {
    # hung up during the welcome
    "m-welcome": (local(14, "20:10"), [WELCOME], "live"),
    # heard the main menu, no key, hung up
    "m-main": (local(14, "20:20"), [WELCOME, MAIN, _key("main-menu", "")], "live"),
    # 2 during the welcome: 诉讼咨询, heard an answer, hung up (after the answer)
    "m-kb-after": (local(15, "21:00"), [
        WELCOME, _key("welcome", "2"), _prompt("kb-intro"), _prompt("kb-menu"),
        _key("kb-menu", "1"), _prompt("kb-answer:立案材料")], "live"),
    # 1: 案件查询, the case read out, * back to the main menu, 3: 投诉举报, hung up while
    # recording, before anything was kept (before the answer, in 投诉举报)
    "m-case-back": (local(16, "22:00"), [
        WELCOME, MAIN, _key("main-menu", "1"), _prompt("case-query-input"),
        _key("case-query-input", "<18 digits>"), _prompt("case-found"),
        _prompt("case-details"), _prompt("case-no-hearing"), _prompt("case-sms-offer"),
        _key("case-sms-offer", "*"), MAIN, _key("main-menu", "3"),
        _prompt("complaint-intro"), ("record", {"path": "x.wav"})], "live"),
    # three tries without a valid key: sent to 留言, left one, heard goodbye (completed)
    "m-no-key": (local(17, "10:00"), [
        WELCOME, MAIN, _key("main-menu", ""), _prompt("main-menu-retry"),
        _key("main-menu-retry", ""), _prompt("main-menu-retry"), _key("main-menu-retry", "9"),
        _prompt("menu-to-message"), _prompt("message-intro"), ("record", {"path": "y.wav"}),
        _prompt("record-playback"), _prompt("recording"), _prompt("record-confirm"),
        _key("record-confirm", "1"), ("ticket", {"reference": "2610170001", "type": "callback"}),
        _prompt("ticket-created"), ("say", {"words": "2 6"}), _prompt("ticket-next-day"),
        _prompt("reference-repeat"), ("say", {"words": "2 6"}), _prompt("goodbye")], "live"),
    # 5: 预约服务, 1: 预约立案, the appointment filed, hung up during the reference
    "m-appointment": (local(20, "19:00"), [
        WELCOME, _key("welcome", "5"), _prompt("appointment-menu"),
        _key("appointment-menu", "1"), _prompt("appointment-intro"),
        ("record", {"path": "z.wav"}), _prompt("record-playback"), _prompt("recording"),
        _prompt("record-confirm"), _key("record-confirm", "1"),
        ("ticket", {"reference": "2610200001", "type": "appointment"}),
        _prompt("ticket-created")], "live"),
    # the bridge failed in the main menu: the dialplan's fallback took the caller
    "m-fallback": (local(21, "23:00"), [WELCOME, MAIN, ("fallback", {"agi_status": "FAILURE"})],
                   "live"),
    # rebuilt from the CDR: no events at all
    "m-reconciled": (local(22, "01:00"), [], "reconciled"),
    # September's
    "m-sep": (local(30, "23:00", month=9), [WELCOME], "live"),
}


def add_menu_calls(session: AsyncSession) -> None:
    for call_id, (start, events, source) in MENU_CALLS.items():
        ended = start + timedelta(seconds=len(events) + 1)
        _call(session, call_id, start, ended, "menu", source=source)
        for second, (kind, detail) in enumerate(events, 1):
            _event(session, call_id, kind, start + timedelta(seconds=second), **detail)
