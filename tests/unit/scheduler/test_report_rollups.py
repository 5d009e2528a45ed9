"""The scheduler keeps the reports' roll-ups counted: this month's days at first, then only
the days a write marked (a late call), on SQLite and on PostgreSQL."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.db.base import session_scope
from hotline.settings import Settings
from scheduler.jobs import Context, all_jobs
from scheduler.report_rollups import report_rollups
from tests.unit.reports import month
from tests.unit.reports.month import NOW


async def test_the_month_is_counted_then_only_what_changed(
        sessions: async_sessionmaker[AsyncSession], settings: Settings) -> None:
    assert "report-rollups" in {job.name for job in all_jobs(settings)}
    async with session_scope(sessions) as session:
        await month.add_month(session)
    ctx = Context(settings, sessions, lambda: NOW)

    assert await report_rollups(ctx) == "report roll-ups: 31 day(s) counted again"
    assert await report_rollups(ctx) is None
    async with session_scope(sessions) as session:
        month.add_reconciled_call(session)  # Oct 20, written late
    assert await report_rollups(ctx) == "report roll-ups: 1 day(s) counted again"
