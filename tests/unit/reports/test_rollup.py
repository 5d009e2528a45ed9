"""The daily roll-ups behind the dashboard (reports/rollup.py) on the synthetic month, on
SQLite and on PostgreSQL: they give the same figures as counting every call, and stay right
when data arrives late — a reply the caller picked up days later, a call reconciled from the
CDR, a reopened matter, a day the court declares closed after the fact."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.db.base import session_scope
from hotline.db.models import CalendarOverride, ReportDay, ReportDirty, TicketEvent
from hotline.settings import Settings
from reports import Period, dashboard, load_period
from reports.calls import call_figures
from reports.matters import matter_figures
from tests.unit.reports import month
from tests.unit.reports.month import NOW, local

OCTOBER = Period.month(2026, 10)


async def _count(sessions: async_sessionmaker[AsyncSession], table: type) -> int:
    async with session_scope(sessions) as session:
        return int((await session.execute(select(func.count()).select_from(table))).scalar()
                   or 0)


async def test_the_roll_ups_add_up_to_counting_every_call_and_follow_late_data(
        sessions: async_sessionmaker[AsyncSession], settings: Settings) -> None:
    async with session_scope(sessions) as session:
        _, tickets = await month.add_month(session)
    assert await _count(sessions, ReportDirty) > 0  # the writes marked their days

    async with session_scope(sessions) as session:
        board = await dashboard(session, settings, OCTOBER, NOW)
    async with session_scope(sessions) as session:
        data = await load_period(session, settings, OCTOBER)
    assert board.calls == call_figures(data.calls)
    assert board.matters == matter_figures(data.calendar, data.created, data.forwarded, NOW)
    # October and September kept, a row a day; every mark read and gone
    assert await _count(sessions, ReportDay) == 31 + 30
    assert await _count(sessions, ReportDirty) == 0

    # Days later: the caller picks up T4's reply call (forwarded Oct 26, due Oct 28); the
    # reconciler writes a call of Oct 20 it missed; the court declares Tue Oct 13 closed.
    async with session_scope(sessions) as session:
        session.add(TicketEvent(ticket_id=tickets["T4"].id, kind="call_answered",
                                at=local(27, "10:00"), detail={}))
        month.add_reconciled_call(session)
        session.add(CalendarOverride(day=date(2026, 10, 13), workday=False, name="停电"))
    async with session_scope(sessions) as session:
        after = await dashboard(session, settings, OCTOBER, NOW)

    assert after.matters.on_time == board.matters.on_time + 1
    assert after.calls.received == board.calls.received + 1
    # the reconciled call is in office hours (+1); Oct 13's two abandoned calls are not (-2)
    assert after.calls.offered_in_hours == board.calls.offered_in_hours - 1
    async with session_scope(sessions) as session:
        again = await load_period(session, settings, OCTOBER)
    assert after.calls == call_figures(again.calls)
    assert after.matters == matter_figures(again.calendar, again.created, again.forwarded,
                                           NOW)
