"""hotline.escalation: the pass pushes each overdue matter once per level, to the right
person, whatever happens around it: run twice, two at once, a crash in the middle, a
server off for a week, a department without a head."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline import escalation
from hotline.db.base import make_engine, make_sessionmaker, session_scope
from hotline.db.models import (
    Alert,
    Department,
    Escalation,
    Notice,
    SmsMessage,
    Ticket,
    TicketEvent,
    User,
)
from hotline.escalation import run_pass
from hotline.notify import notify
from hotline.settings import Settings
from scheduler.jobs import Context, all_jobs

COURT = ZoneInfo("Asia/Shanghai")
FORWARDED = datetime(2026, 2, 13, 10, 0, tzinfo=COURT)
DUE = datetime(2026, 2, 24, 17, 30, tzinfo=COURT)  # 2 working days after, at closing time
LEADER_DUE = datetime(2026, 2, 26, 17, 30, tzinfo=COURT)  # 2 more working days
HEAD_MOBILE, LEADER_MOBILE = "13900000001", "13900000002"
MINUTE = timedelta(minutes=1)


@dataclass(frozen=True)
class Seeded:
    head_id: int
    leader_id: int
    department_id: int
    ticket_ids: list[int]


async def seed(sessions: async_sessionmaker[AsyncSession], tickets: int = 1,
               head: bool = True, leader: bool = True) -> Seeded:
    """A department (head and leader with mobiles) and `tickets` matters forwarded to it on
    FORWARDED, due DUE, unanswered."""
    async with session_scope(sessions) as session:
        people = [User(username="head", display_name="王主任", role="dept_head",
                       password_hash="x", mobile=HEAD_MOBILE),
                  User(username="leader", display_name="李院长", role="leader",
                       password_hash="x", mobile=LEADER_MOBILE)]
        session.add_all(people)
        await session.flush()
        department = Department(name="立案庭", head_id=people[0].id if head else None,
                                leader_id=people[1].id if leader else None)
        session.add(department)
        await session.flush()
        await session.execute(insert(Ticket), [
            {"reference": f"260213{i:04d}", "type": "complaint", "status": "open",
             "caller_number": "13812345678", "department_id": department.id,
             "forwarded_at": FORWARDED, "due_at": DUE, "next_escalation_at": DUE,
             "escalation_level": 0} for i in range(1, tickets + 1)])
        ids = list((await session.execute(select(Ticket.id).order_by(Ticket.id))).scalars())
        return Seeded(people[0].id, people[1].id, department.id, ids)


async def counts(sessions: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    async with sessions() as session:
        return {model.__name__: int((await session.execute(
            select(func.count()).select_from(model))).scalar_one())
            for model in (Escalation, Notice, SmsMessage, TicketEvent, Alert)}


async def escalations(sessions: async_sessionmaker[AsyncSession]) -> list[Escalation]:
    async with sessions() as session:
        return list((await session.execute(
            select(Escalation).order_by(Escalation.ticket_id, Escalation.level))).scalars())


def utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


async def test_head_then_leader_each_once(sessions: async_sessionmaker[AsyncSession],
                                         settings: Settings) -> None:
    data = await seed(sessions)
    [ticket_id] = data.ticket_ids
    early = await run_pass(sessions, settings, utc(DUE) - MINUTE)
    assert early.steps == [] and await counts(sessions) == dict.fromkeys(
        ("Escalation", "Notice", "SmsMessage", "TicketEvent", "Alert"), 0)

    first = await run_pass(sessions, settings, utc(DUE))
    [step] = first.steps
    assert (step.level, step.user_id, step.next_at) == (1, data.head_id, utc(LEADER_DUE))
    async with sessions() as session:
        notice = (await session.execute(select(Notice))).scalar_one()
        sms = (await session.execute(select(SmsMessage))).scalar_one()
        ticket = await session.get(Ticket, ticket_id)
    assert notice.user_id == data.head_id and notice.ticket_id == ticket_id
    assert "督办" in notice.text and "2602130001" in notice.text and "立案庭" in notice.text
    assert sms.to_number == HEAD_MOBILE and sms.text == notice.text and sms.status == "queued"
    assert ticket is not None and ticket.escalation_level == 1
    assert ticket.next_escalation_at == utc(LEADER_DUE)

    assert (await run_pass(sessions, settings, utc(LEADER_DUE) - MINUTE)).steps == []
    second = await run_pass(sessions, settings, utc(LEADER_DUE))
    assert [(s.level, s.user_id, s.next_at) for s in second.steps] == [(2, data.leader_id, None)]
    assert (await run_pass(sessions, settings, datetime(2026, 12, 31, tzinfo=UTC))).steps == []

    rows = await escalations(sessions)
    assert [(e.level, e.notified_user_id, e.as_of) for e in rows] == [
        (1, data.head_id, utc(DUE)), (2, data.leader_id, utc(LEADER_DUE))]
    assert all(e.notice_id and len(e.sms_ids) == 1 for e in rows)
    async with sessions() as session:
        events = list((await session.execute(select(TicketEvent).order_by(TicketEvent.id)))
                      .scalars())
    assert [(e.kind, e.detail["level"], e.detail["notice_id"]) for e in events] == [
        ("escalated", 1, rows[0].notice_id), ("escalated", 2, rows[1].notice_id)]


async def test_far_overdue_gets_both_levels_in_one_pass(
        sessions: async_sessionmaker[AsyncSession], settings: Settings) -> None:
    await seed(sessions)
    report = await run_pass(sessions, settings, datetime(2026, 3, 10, tzinfo=UTC))
    assert [(s.level, s.missed) for s in report.steps] == [(1, utc(DUE)), (2, utc(LEADER_DUE))]
    assert (await counts(sessions))["Notice"] == 2


async def test_nobody_to_notify_is_recorded_and_alerted(
        sessions: async_sessionmaker[AsyncSession], settings: Settings) -> None:
    data = await seed(sessions, head=False)
    report = await run_pass(sessions, settings, utc(DUE))
    [step] = report.steps
    assert step.alert and step.user_id is None
    [row] = await escalations(sessions)
    assert row.notified_user_id is None and row.notice_id is None and row.sms_ids == []
    async with sessions() as session:
        alert = (await session.execute(select(Alert))).scalar_one()
    assert alert.kind == "escalation" and alert.resolved_at is None
    assert "2602130001" in alert.message and "部门负责人" in alert.message
    # The next level is still counted and reaches the leader.
    later = await run_pass(sessions, settings, utc(LEADER_DUE))
    assert [(s.level, s.user_id) for s in later.steps] == [(2, data.leader_id)]


async def test_answered_or_closed_tickets_are_left_alone(
        sessions: async_sessionmaker[AsyncSession], settings: Settings) -> None:
    data = await seed(sessions, tickets=3)
    async with session_scope(sessions) as session:
        answered = await session.get(Ticket, data.ticket_ids[0])
        closed = await session.get(Ticket, data.ticket_ids[1])
        assert answered is not None and closed is not None
        answered.answered_at = utc(FORWARDED)
        closed.closed_at = utc(FORWARDED)
    report = await run_pass(sessions, settings, utc(DUE))
    assert [s.ticket_id for s in report.steps] == [data.ticket_ids[2]]


async def test_dry_run_writes_nothing(sessions: async_sessionmaker[AsyncSession],
                                     settings: Settings) -> None:
    await seed(sessions, tickets=2, head=False)
    report = await run_pass(sessions, settings, datetime(2026, 3, 10, tzinfo=UTC), dry_run=True)
    assert [(s.level, s.alert) for s in report.steps] == [(1, True), (2, False)] * 2
    assert all(v == 0 for v in (await counts(sessions)).values())
    async with sessions() as session:
        levels = (await session.execute(select(Ticket.escalation_level))).scalars().all()
    assert list(levels) == [0, 0]
    text = "\n".join(report.lines())
    assert text.count("would: ") == 4 and "nothing written" in text
    assert LEADER_MOBILE not in text and "139****0002" in text


async def test_run_again_after_a_restart_notifies_nobody_twice(
        sessions: async_sessionmaker[AsyncSession], settings: Settings) -> None:
    await seed(sessions, tickets=5)
    first = await run_pass(sessions, settings, utc(DUE), batch_size=2)
    again = await run_pass(sessions, settings, utc(DUE), batch_size=2)
    assert len(first.steps) == 5 and again.steps == [] and again.skipped == []
    assert (await counts(sessions))["Notice"] == 5


async def test_two_passes_at_once_notify_each_once(
        db_url: str, sessions: async_sessionmaker[AsyncSession], settings: Settings) -> None:
    data = await seed(sessions, tickets=40)
    engines = [make_engine(db_url) for _ in range(2)]
    try:
        reports = await asyncio.gather(*(
            run_pass(make_sessionmaker(e), settings, datetime(2026, 3, 10, tzinfo=UTC),
                     batch_size=7) for e in engines))
    finally:
        for engine in engines:
            await engine.dispose()
    done = [(s.ticket_id, s.level) for r in reports for s in r.steps]
    reasons = {s.reason for r in reports for s in r.skipped}
    assert reasons <= {"no longer due (answered, or escalated by another pass)",
                       "escalated by another pass at the same time"}
    assert sorted(done) == [(t, level) for t in data.ticket_ids for level in (1, 2)]
    assert (await counts(sessions))["Notice"] == 80
    async with sessions() as session:
        per_user = dict((await session.execute(
            select(Notice.user_id, func.count()).group_by(Notice.user_id))).all())
    assert per_user == {data.head_id: 40, data.leader_id: 40}


async def test_a_crash_mid_pass_loses_nothing_and_repeats_nothing(
        sessions: async_sessionmaker[AsyncSession], settings: Settings,
        monkeypatch: pytest.MonkeyPatch) -> None:
    data = await seed(sessions, tickets=10)
    real_notify = notify
    calls = 0

    async def failing_notify(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 5:
            raise RuntimeError("power cut")
        return await real_notify(*args, **kwargs)

    monkeypatch.setattr(escalation, "notify", failing_notify)
    with pytest.raises(RuntimeError, match="power cut"):
        await run_pass(sessions, settings, utc(DUE), batch_size=3)
    # The 5th ticket's transaction rolled back whole: no escalation without its notice.
    assert (await counts(sessions))["Escalation"] == 4
    assert (await counts(sessions))["Notice"] == 4

    monkeypatch.setattr(escalation, "notify", real_notify)
    rerun = await run_pass(sessions, settings, utc(DUE), batch_size=3)
    assert sorted(s.ticket_id for s in rerun.steps) == data.ticket_ids[4:]
    rows = await escalations(sessions)
    assert [e.ticket_id for e in rows] == data.ticket_ids
    assert (await counts(sessions))["Notice"] == 10


async def test_the_scheduler_job_runs_the_pass_as_of_its_clock(
        sessions: async_sessionmaker[AsyncSession], settings: Settings) -> None:
    await seed(sessions)
    job = next(j for j in all_jobs(settings) if j.name == "escalation")
    assert job.every_seconds == 60
    before = Context(settings, sessions, lambda: utc(DUE) - MINUTE)
    assert await job.run(before) is None
    said = await job.run(Context(settings, sessions, lambda: utc(DUE)))
    assert said is not None and "escalated 1 step(s) on 1 ticket(s)" in said
    assert (await counts(sessions))["Notice"] == 1
