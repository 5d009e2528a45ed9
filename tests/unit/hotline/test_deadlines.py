"""hotline.deadlines: 2 working days after the forwarding day, at closing time, across
2026's holidays and make-up days; a calendar change moves the deadlines not yet due."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cli import main as cli
from hotline.calendar import WorkingCalendar
from hotline.db import calendar_days
from hotline.db.base import session_scope
from hotline.db.calendar_days import DayOverride
from hotline.db.models import Ticket
from hotline.deadlines import (
    Deadlines,
    due_after,
    overdue,
    recompute_deadlines,
    step_due,
    step_due_where,
)
from hotline.settings import HoursSettings, Settings

COURT = ZoneInfo("Asia/Shanghai")


def court(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=COURT)


# forwarded (court time) → due (court time): winter hours close 17:30, summer (May-Sep) 18:00
CASES = [
    # the example: day 1 the make-up Saturday 02-14, day 2 Tue 02-24 after the holiday
    pytest.param(court(2026, 2, 13, 10, 0), court(2026, 2, 24, 17, 30), id="spring-festival"),
    # forwarded on the make-up Saturday itself: it is not counted, the holiday is skipped
    pytest.param(court(2026, 2, 14, 16, 0), court(2026, 2, 25, 17, 30), id="on-makeup-day"),
    # forwarded during the holiday
    pytest.param(court(2026, 2, 17, 9, 0), court(2026, 2, 25, 17, 30), id="in-holiday"),
    # the second make-up Saturday 02-28 is day 2
    pytest.param(court(2026, 2, 26, 11, 0), court(2026, 2, 28, 17, 30), id="makeup-is-day-2"),
    # ordinary week: Thu → Fri, Mon
    pytest.param(court(2026, 3, 12, 8, 0), court(2026, 3, 16, 17, 30), id="weekend"),
    # late at night in court time is still that court day (01:00 local = previous UTC day)
    pytest.param(court(2026, 2, 13, 1, 0), court(2026, 2, 24, 17, 30), id="court-day-not-utc"),
    # Labour Day: May 1-5 off, 05-09 worked; summer hours
    pytest.param(court(2026, 4, 30, 23, 50), court(2026, 5, 7, 18, 0), id="labour-day"),
    # Dragon Boat Festival, Fri 06-19
    pytest.param(court(2026, 6, 18, 15, 0), court(2026, 6, 23, 18, 0), id="dragon-boat"),
    # National Day: make-up Sunday 09-20 is day 1 (summer hours)
    pytest.param(court(2026, 9, 18, 10, 0), court(2026, 9, 21, 18, 0), id="makeup-sunday"),
    # National Day: Oct 1-7 off → Thu 10-08, Fri 10-09 (October: winter hours)
    pytest.param(court(2026, 9, 30, 9, 0), court(2026, 10, 9, 17, 30), id="national-day"),
    # make-up Saturday 10-10 is day 1
    pytest.param(court(2026, 10, 9, 16, 0), court(2026, 10, 12, 17, 30), id="makeup-saturday"),
    # New Year: Jan 1-3 off, Sun 01-04 worked
    pytest.param(court(2025, 12, 31, 12, 0), court(2026, 1, 5, 17, 30), id="new-year"),
]


@pytest.mark.parametrize(("forwarded", "due"), CASES)
async def test_due_after_2026(sessions: async_sessionmaker[AsyncSession], settings: Settings,
                              forwarded: datetime, due: datetime) -> None:
    async with session_scope(sessions) as session:
        got = await due_after(session, settings, forwarded.astimezone(UTC))
    assert got == due
    assert got.tzinfo is not None and got.utcoffset() == UTC.utcoffset(None)


async def test_next_level_counts_the_same_way(sessions: async_sessionmaker[AsyncSession],
                                              settings: Settings) -> None:
    async with session_scope(sessions) as session:
        due = await due_after(session, settings, court(2026, 2, 13, 10, 0))
        second = await due_after(session, settings, due)
    assert second == court(2026, 2, 26, 17, 30)  # 02-24 not counted: 02-25, 02-26


async def test_court_override_counts(sessions: async_sessionmaker[AsyncSession],
                                     settings: Settings) -> None:
    async with session_scope(sessions) as session:
        await calendar_days.set_override(session, DayOverride(date(2026, 2, 24), False, "院庆"),
                                         "test")
    async with session_scope(sessions) as session:
        got = await due_after(session, settings, court(2026, 2, 13, 10, 0))
    assert got == court(2026, 2, 25, 17, 30)


def _ticket(ref: str, forwarded: datetime, due: datetime, next_at: datetime | None,
            level: int = 0, answered: datetime | None = None) -> Ticket:
    return Ticket(reference=ref, type="complaint", forwarded_at=forwarded, due_at=due,
                  next_escalation_at=next_at, escalation_level=level, answered_at=answered)


async def test_override_moves_only_deadlines_not_yet_due(
        sessions: async_sessionmaker[AsyncSession], settings: Settings) -> None:
    now = court(2026, 2, 20, 12, 0)  # in the Spring Festival holiday
    tickets = {
        # not yet due: due 02-24 17:30, moves
        "ahead": _ticket("A", court(2026, 2, 13, 10), court(2026, 2, 24, 17, 30),
                         court(2026, 2, 24, 17, 30)),
        # escalated to the head already (due 02-13); the leader's step 02-24 is ahead: moves
        "escalated": _ticket("B", court(2026, 2, 11, 10), court(2026, 2, 13, 17, 30),
                             court(2026, 2, 24, 17, 30), level=1),
        # due before now and not escalated yet: the pass owes it, nothing moves
        "overdue": _ticket("C", court(2026, 2, 9, 10), court(2026, 2, 11, 17, 30),
                           court(2026, 2, 11, 17, 30)),
        # answered: nothing moves
        "answered": _ticket("D", court(2026, 2, 13, 10), court(2026, 2, 24, 17, 30), None,
                            answered=court(2026, 2, 14, 9)),
        # both levels done
        "done": _ticket("E", court(2026, 2, 5, 10), court(2026, 2, 9, 17, 30), None, level=2),
    }
    async with session_scope(sessions) as session:
        session.add_all(tickets.values())
    before = {name: (t.due_at, t.next_escalation_at) for name, t in tickets.items()}

    async with session_scope(sessions) as session:
        await calendar_days.set_override(session, DayOverride(date(2026, 2, 24), False, "停电"),
                                         "test")
        moved = await recompute_deadlines(session, settings, now.astimezone(UTC))
    assert (moved.due, moved.second_step) == (1, 1)

    async with session_scope(sessions) as session:
        after = {name: (t.due_at, t.next_escalation_at)
                 for name, t in [(n, await session.get(Ticket, t.id, populate_existing=True))
                                 for n, t in tickets.items()] if t is not None}
    new_due = court(2026, 2, 25, 17, 30)
    assert after["ahead"] == (new_due, new_due)
    assert after["escalated"] == (before["escalated"][0], new_due)
    for name in ("overdue", "answered", "done"):
        assert after[name] == before[name], name

    # Taking the day back restores the deadlines; a second recount changes nothing.
    async with session_scope(sessions) as session:
        await calendar_days.delete_override(session, date(2026, 2, 24))
        await recompute_deadlines(session, settings, now.astimezone(UTC))
        again = await recompute_deadlines(session, settings, now.astimezone(UTC))
        ahead = await session.get(Ticket, tickets["ahead"].id, populate_existing=True)
    assert again.total == 0
    assert ahead is not None and ahead.due_at == court(2026, 2, 24, 17, 30)


async def test_calendar_set_through_the_command_moves_deadlines(
        sessions: async_sessionmaker[AsyncSession], db_url: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    # Due far ahead (2035: no state data, Monday to Friday): the real clock is before it.
    forwarded = court(2035, 3, 7, 10)  # Wed → Thu 03-08, Fri 03-09
    async with session_scope(sessions) as session:
        ticket = _ticket("F", forwarded, court(2035, 3, 9, 17, 30), court(2035, 3, 9, 17, 30))
        session.add(ticket)
    config = tmp_path / "hotline.toml"
    config.write_text(f'[paths]\ndata_dir = "data"\n[database]\nurl = "{db_url}"\n',
                      encoding="utf-8")
    monkeypatch.setenv("HOTLINE_CONFIG", str(config))

    assert await asyncio.to_thread(cli.main, ["calendar", "set", "2035-03-08", "holiday"]) == 0
    assert "deadlines recounted: 1 open ticket(s)" in capsys.readouterr().out
    async with sessions() as session:
        moved = await session.get(Ticket, ticket.id)
    assert moved is not None and moved.due_at == court(2035, 3, 12, 17, 30)
    assert moved.next_escalation_at == moved.due_at

    assert await asyncio.to_thread(cli.main, ["calendar", "unset", "2035-03-08"]) == 0
    async with sessions() as session:
        back = await session.get(Ticket, ticket.id)
    assert back is not None and back.due_at == court(2035, 3, 9, 17, 30)


# --- the rules said once: the next step, "overdue", a step due ------------------------------

DEADLINES = Deadlines(WorkingCalendar(HoursSettings()))


@pytest.mark.parametrize(("level", "start", "expected"), [
    # forwarded Fri 02-13: the make-up Saturday 02-14 counts, the Spring Festival does not
    pytest.param(0, court(2026, 2, 13, 10, 0), court(2026, 2, 24, 17, 30), id="makeup-day"),
    # the head missed 02-24: the leader's step 2 working days on
    pytest.param(1, court(2026, 2, 24, 17, 30), court(2026, 2, 26, 17, 30), id="second-step"),
    # forwarded the day before National Day: the holiday week is skipped
    pytest.param(0, court(2026, 9, 30, 9, 0), court(2026, 10, 9, 17, 30), id="holiday"),
    pytest.param(2, court(2026, 2, 24, 17, 30), None, id="top-level"),
])
def test_next_step_is_two_working_days_after_the_previous(level: int, start: datetime,
                                                          expected: datetime | None) -> None:
    assert DEADLINES.next_step(level, start.astimezone(UTC)) == expected


NOW = court(2026, 3, 2, 12, 0)


@pytest.mark.parametrize(("status", "due", "expected"), [
    ("open", court(2026, 3, 2, 11, 59), True),
    ("open", NOW, False),  # due at this very moment: not yet late
    ("open", court(2026, 3, 3, 17, 30), False),
    ("open", None, False),  # never forwarded: no deadline
    ("closed", court(2026, 2, 27, 17, 30), False),
])
def test_overdue_is_an_open_matter_past_its_reply_deadline(status: str, due: datetime | None,
                                                           expected: bool) -> None:
    assert overdue(Ticket(status=status, due_at=due), NOW) is expected


async def test_step_due_in_python_and_in_sql_agree(
        sessions: async_sessionmaker[AsyncSession]) -> None:
    past, ahead = court(2026, 3, 2, 11, 0), court(2026, 3, 3, 17, 30)
    cases = {
        "due": _ticket("A", past, past, past),
        "due-now": _ticket("B", past, NOW, NOW),
        "ahead": _ticket("C", past, ahead, ahead),
        "second-due": _ticket("D", past, past, past, level=1),
        "top": _ticket("E", past, past, past, level=2),
        "answered": _ticket("F", past, past, past, answered=past),
        "no-step": _ticket("G", past, past, None),
    }
    closed = _ticket("H", past, past, past)
    closed.closed_at = past
    cases["closed"] = closed
    async with session_scope(sessions) as session:
        session.add_all(cases.values())
    async with session_scope(sessions) as session:
        found = set((await session.execute(
            select(Ticket.reference).where(*step_due_where(NOW)))).scalars())
        by_python = {t.reference for t in (await session.execute(select(Ticket))).scalars()
                     if step_due(t, NOW)}
    assert found == by_python == {"A", "B", "D"}
