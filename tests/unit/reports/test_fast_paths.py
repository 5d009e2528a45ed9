"""The monthly report without reading the month's calls one by one (issue 14: its PDF under
10 s for a provincial month): the seats' table from a narrow query of the answered calls,
the department scorecard from the forwarded matters, the repeat callers from a grouped
count, the daily chart from the daily roll-ups. Each must give exactly what the full read
(load_period, the path the report took before) gives: on the synthetic month plus a seeded
month of awkward calls around it, whole and cut by a court, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.db.base import session_scope
from hotline.db.courts import CourtFields, save_court
from hotline.db.models import Call, CallEvent, CallLog, Department, Ticket, User
from hotline.recording_access import REPLY_CALL_EVENT
from hotline.settings import Settings
from reports import (
    ADMIN_SCOPE,
    CallFacts,
    Period,
    agent_rows,
    agent_table,
    centre_tables,
    department_rows,
    department_table,
    load_period,
    repeat_callers,
)
from reports.calls import is_answered, is_received
from reports.pdf import monthly_report
from reports.scorecard import seat_rows
from reports.topics import repeat_caller_count
from tests.unit.reports import month
from tests.unit.reports.month import NOW, local

OCTOBER = Period.month(2026, 10)
NUMBERS = [f"1370000{n:04d}" for n in range(60)] + ["anonymous", ""]


async def add_awkward_calls(session: AsyncSession, people: month.People) -> None:
    """400 calls from Sep 25 to Nov 5 (the month's edges in court time and in UTC), 62
    numbers (a withheld one among them), and events in every combination the figures
    read: seat events with and without a user, two seats, a seat before the queue, reply
    calls that a seat took, calls with no end, call logs for some."""
    rng = random.Random(14)
    begin = local(25, "00:00", month=9)
    seats = [str(people.agent_a), str(people.agent_b), str(people.agent_c), "", "x"]
    for i in range(400):
        call_id = f"r{i}"
        start = begin + timedelta(seconds=rng.randrange(41 * 86400))
        ended = start + timedelta(seconds=rng.randrange(30, 900)) if rng.random() < 0.9 else None
        session.add(Call(id=call_id, started_at=start, ended_at=ended,
                         caller_number=rng.choice(NUMBERS),
                         route=rng.choice(["queue", "queue", "done", "closed", ""]),
                         source=rng.choice(["live"] * 9 + ["reconciled"]),
                         agent=rng.choice(["", "", "s1"])))
        events: list[tuple[str, int, dict[str, str]]] = []
        if rng.random() < 0.6:
            events.append(("queue", rng.randrange(0, 30), {"queue": "seats"}))
        for _ in range(rng.choice([0, 1, 1, 1, 2])):
            user = rng.choice(seats)
            events.append(("agent", rng.randrange(5, 90), {"user_id": user} if user else {}))
        if rng.random() < 0.1:
            events.append(("abandon", rng.randrange(5, 90), {}))
        if rng.random() < 0.05:
            events.append(("queue-left", rng.randrange(5, 90), {}))
        if rng.random() < 0.08:
            events.append((REPLY_CALL_EVENT, 0, {"user_id": str(people.handler)}))
        session.add_all(CallEvent(call_id=call_id, kind=kind, at=start + timedelta(seconds=s),
                                  detail=detail) for kind, s, detail in events)
        if rng.random() < 0.3:
            session.add(CallLog(call_id=call_id, owner_id=rng.choice([people.agent_a,
                                                                       people.agent_b]),
                                caller_name="王五", caller_kind="public", contact="",
                                category="consultation", question="", outcome="answered",
                                created_at=start + timedelta(minutes=5)))
    await session.flush()


async def cut_by_court(session: AsyncSession, people: month.People) -> int:
    """执行局, its matters and agent B become a basic court's (as the court tests do)."""
    court = await save_court(session, CourtFields("洛阳市西工区人民法院", case_prefix="豫0303"))
    await session.execute(update(Department).where(Department.id == people.dept_2)
                          .values(court_id=court.id))
    await session.execute(update(Ticket).where(Ticket.department_id == people.dept_2)
                          .values(court_id=court.id))
    await session.execute(update(User).where(User.id == people.agent_b)
                          .values(court_id=court.id))
    return court.id


def daily_per_call(calls: Sequence[CallFacts], period: Period, timezone: str
                   ) -> list[tuple[str, int, int]]:
    """The daily chart as the report counted it before, call by call."""
    zone = ZoneInfo(timezone)
    days = [period.first + timedelta(days=i) for i in range(period.days)]
    counts = {d: [0, 0] for d in days}
    for c in calls:
        day = c.started_at.astimezone(zone).date()
        if day in counts and is_received(c):
            counts[day][0] += 1
            counts[day][1] += is_answered(c)
    return [(f"{d.day}日", *counts[d]) for d in days]  # type: ignore[misc]


async def test_the_fast_paths_give_the_full_reads_figures(
        sessions: async_sessionmaker[AsyncSession], settings: Settings) -> None:
    async with session_scope(sessions) as session:
        people, _ = await month.add_month(session)
        court = await cut_by_court(session, people)
        await add_awkward_calls(session, people)
        await session.commit()
        tz = settings.hours.timezone
        data = await load_period(session, settings, OCTOBER)
        courted = await load_period(session, settings, OCTOBER, court)

        # the seats: every agent's row, whole and cut by the court
        old_agents = await agent_rows(session, data, ADMIN_SCOPE)
        assert await seat_rows(session, tz, OCTOBER, ADMIN_SCOPE) == old_agents
        assert sum(r.answered for r in old_agents) > 20  # the month is not empty
        assert all(r.answered > r.unlogged > 0 for r in old_agents if r.user_id != people.agent_c)
        old_court_agents = await agent_rows(session, courted, ADMIN_SCOPE)
        assert [r.user_id for r in old_court_agents] == [people.agent_b]
        assert await seat_rows(session, tz, OCTOBER, ADMIN_SCOPE, court) == old_court_agents

        # the repeat callers: the same count; some numbers pass the 7-day test, some do not
        repeats = repeat_callers(data.calls)
        assert await repeat_caller_count(session, OCTOBER, tz) == len(repeats)
        called = {c.caller_number for c in data.calls if c.caller_number.startswith("137")}
        assert 0 < len(repeats) < len(called)

        # the report: its daily chart, repeat callers and tables as the full read gave them
        report = await monthly_report(session, settings, OCTOBER, NOW)
        assert report.daily == daily_per_call(data.calls, OCTOBER, tz)
        assert sum(a for _, _, a in report.daily) > 0
        assert report.repeats == len(repeats)
        old_tables = [department_table(await department_rows(session, data, ADMIN_SCOPE, NOW),
                                       OCTOBER), agent_table(old_agents, OCTOBER)]
        assert report.tables[2:] == old_tables
        assert await centre_tables(session, settings, OCTOBER, NOW) == report.tables

        # cut by the court: its matters, departments and seats, as before
        court_tables = await centre_tables(session, settings, OCTOBER, NOW, court_id=court)
        assert court_tables[1:] == [
            department_table(await department_rows(session, courted, ADMIN_SCOPE, NOW),
                             OCTOBER), agent_table(old_court_agents, OCTOBER)]
