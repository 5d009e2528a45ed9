"""Every figure of docs/metrics.md on the synthetic month (month.py), against the answer
worked out by hand, on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.db.base import session_scope
from hotline.deadlines import load_deadlines
from hotline.settings import Settings
from reports import Period, calls_of, dashboard, load_period, matters_of
from reports.calls import abandon_seconds, percentile, wait_seconds
from reports.matters import working_seconds
from tests.unit.reports import month
from tests.unit.reports.month import NOW, local

OCTOBER = Period.month(2026, 10)


@pytest.fixture
async def filled(sessions: async_sessionmaker[AsyncSession]
                 ) -> async_sessionmaker[AsyncSession]:
    async with session_scope(sessions) as session:
        await month.add_month(session)
    return sessions


async def test_the_call_figures_of_the_month(filled: async_sessionmaker[AsyncSession],
                                             settings: Settings) -> None:
    async with session_scope(filled) as session:
        figures = (await dashboard(session, settings, OCTOBER, NOW)).calls

    # 4 answered + 2 abandoned + 1 sent on + 3 voice menu; not Sep 30, Nov 1, the reply call
    assert figures.received == 10
    assert figures.offered == 7
    assert figures.answered == 4
    assert figures.abandoned == 2
    assert figures.overflowed == 1
    assert figures.unknown == 0
    assert figures.voice_menu == 3
    # the holiday call (hotline opened by hand on Oct 3) is not in office hours
    assert (figures.offered_in_hours, figures.answered_in_hours) == (6, 3)
    assert figures.answer_rate == 3 / 6
    # waits 15 and 10 s are within 20 s, 30 s is not
    assert figures.within_20s == 2
    assert figures.service_level == 2 / 6
    # waits 15, 30, 10, 5: mean 15; the 90th percentile by nearest rank is the 4th of 4
    assert figures.average_wait == 15
    assert figures.p90_wait == 30
    # talk 300 + 120 + 600 + 60
    assert figures.average_talk == 1080 / 4
    # gave up after 3 s and after 40 s
    assert figures.average_abandon_wait == 21.5
    assert figures.abandon_bands == {"≤5秒": 1, "6–20秒": 0, "21–60秒": 1, ">60秒": 0}


async def test_the_matter_figures_of_the_month(filled: async_sessionmaker[AsyncSession],
                                               settings: Settings) -> None:
    async with session_scope(filled) as session:
        figures = (await dashboard(session, settings, OCTOBER, NOW)).matters

    assert figures.created == 7  # T1–T6, T8 (T7 is September's)
    assert (figures.open, figures.closed) == (2, 5)  # T3, T4 open; T5 the menu answered
    assert figures.by_type == {"case_query": 1, "consultation": 1, "complaint": 1,
                               "suggestion": 1, "contact_judge": 1, "appointment": 1,
                               "mediation": 0, "callback": 1}
    assert figures.by_source == {"call": 4, "voice_message": 2, "sms": 1}
    assert figures.forwarded == 5  # T1, T2, T3, T4, T8
    assert (figures.on_time, figures.late) == (2, 1)  # T1 (last minute), T8; T2 (17:31)
    assert figures.overdue_open == 1  # T3, due Oct 19; T4 is due Oct 28
    assert (figures.level1, figures.level2) == (2, 1)  # T2, T3; T3
    assert figures.on_time_rate == 2 / 3
    # T1: Fri 10:00–17:30 = 5 h, make-up Sat 7 h, Mon to 17:29:30 = 6 h 59 m 30 s;
    # T2: Fri 11:00– = 4 h, Sat 7 h, Mon 7 h (17:31 is after closing);
    # T8: the holiday week 0, Thu Oct 8 7 h, Fri to 17:00 = 6 h 30 m.
    expected = (68370 + 64800 + 48600) / 3 / 3600
    assert figures.average_reply_hours == pytest.approx(expected)


async def test_the_hand_written_deadlines_are_the_calendars(
        filled: async_sessionmaker[AsyncSession], settings: Settings) -> None:
    """The month's due times were written by hand; the deadline rule gives the same."""
    async with session_scope(filled) as session:
        deadlines = await load_deadlines(session, settings, local(30, "00:00", 9).date(),
                                         local(31, "00:00").date())
    for forwarded, due in ((local(9, "10:00"), local(12, "17:30")),
                           (local(15, "09:00"), local(19, "17:30")),
                           (local(1, "10:00"), local(9, "17:30")),
                           (local(30, "10:00", 9), local(9, "17:30"))):
        assert deadlines.due_after(forwarded) == due


async def test_the_trend_compares_the_month_before(filled: async_sessionmaker[AsyncSession],
                                                   settings: Settings) -> None:
    async with session_scope(filled) as session:
        board = await dashboard(session, settings, OCTOBER, NOW)

    assert board.previous.received == 1  # Sep 30, 23:59
    assert board.previous_matters.forwarded == 1  # T7
    assert board.previous_matters.on_time == 1


async def test_the_heat_map_is_in_court_time(filled: async_sessionmaker[AsyncSession],
                                             settings: Settings) -> None:
    async with session_scope(filled) as session:
        heat = (await dashboard(session, settings, OCTOBER, NOW)).heat

    assert heat[1][9] == 1 and heat[1][16] == 1  # Tue Oct 13, 09:30 and 16:00
    assert heat[5][23] == 1  # Sat Oct 31, 23:30
    assert sum(map(sum, heat)) == 10


async def test_each_number_drills_down_to_the_calls_and_matters_it_counts(
        filled: async_sessionmaker[AsyncSession], settings: Settings) -> None:
    async with session_scope(filled) as session:
        data = await load_period(session, settings, OCTOBER)

    assert {c.id for c in calls_of(data.calls, "abandoned")} == {"c-ab3", "c-ab40"}
    assert {c.id for c in calls_of(data.calls, "voice_menu")} == {
        "c-menu-holiday", "c-menu-night", "c-oct31"}
    assert [m.reference for m in matters_of(data.forwarded, "late", NOW)] == ["2610090002"]
    assert [m.reference for m in matters_of(data.forwarded, "overdue", NOW)] == ["2610140001"]
    assert {c.id: (wait_seconds(c), abandon_seconds(c)) for c in data.calls
            if c.id.startswith("c-ab")} == {"c-ab3": (None, 3), "c-ab40": (None, 40)}


async def test_a_call_reconciled_late_counts_in_the_period_it_started_in(
        filled: async_sessionmaker[AsyncSession], settings: Settings) -> None:
    async with session_scope(filled) as session:
        before = (await dashboard(session, settings, OCTOBER, NOW)).calls
    async with session_scope(filled) as session:
        month.add_reconciled_call(session)
    async with session_scope(filled) as session:
        after = (await dashboard(session, settings, OCTOBER, NOW)).calls

    assert (after.received, after.offered, after.offered_in_hours) == (
        before.received + 1, before.offered + 1, before.offered_in_hours + 1)
    # the CDR cannot say whether a seat took it: neither answered nor abandoned
    assert (after.answered, after.abandoned, after.unknown) == (4, 2, 1)
    assert after.answer_rate == 3 / 7


async def test_a_reopened_matter_is_counted_as_it_is_now(
        filled: async_sessionmaker[AsyncSession], settings: Settings) -> None:
    async with session_scope(filled) as session:
        data = await load_period(session, settings, OCTOBER)
        t8 = next(m for m in data.forwarded if m.reference == "2610010001")
        from hotline.db.models import Ticket
        ticket = await session.get(Ticket, t8.id)
        assert ticket is not None
        ticket.status, ticket.answered_at, ticket.closed_at = "open", None, None
    async with session_scope(filled) as session:
        figures = (await dashboard(session, settings, OCTOBER, NOW)).matters

    assert (figures.on_time, figures.overdue_open, figures.open) == (1, 2, 3)


def test_working_seconds_count_office_hours_on_working_days_only() -> None:
    from hotline.calendar import WorkingCalendar
    from hotline.settings import HoursSettings

    calendar = WorkingCalendar(HoursSettings())
    # Wed Sep 30 17:00 (summer hours, to 18:00) to Thu Oct 8 09:00 (winter hours, from
    # 08:00): an hour, the holiday week, an hour
    assert working_seconds(calendar, local(30, "17:00", 9), local(8, "09:00")) == 7200
    # the make-up Saturday Oct 10 is a whole working day
    assert working_seconds(calendar, local(10, "00:00"), local(11, "00:00")) == 7 * 3600
    assert working_seconds(calendar, local(11, "00:00"), local(10, "00:00")) == 0


def test_the_90th_percentile_is_the_nearest_rank() -> None:
    assert percentile([], 0.9) is None
    assert percentile([7.0], 0.9) == 7
    assert percentile([float(i) for i in range(1, 11)], 0.9) == 9
    assert percentile([float(i) for i in range(1, 12)], 0.9) == 10
