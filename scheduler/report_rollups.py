"""The reports' daily roll-ups kept counted (reports/rollup.py): every minute, the days
whose calls or matters changed since (the database marks them) and this month's days not
counted yet are counted again, so the dashboard seldom waits for them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hotline.db.base import session_scope
from hotline.hours import court_today
from reports import containing, refresh_rollups

if TYPE_CHECKING:
    from scheduler.jobs import Context

EVERY_SECONDS = 60.0


async def report_rollups(ctx: Context) -> str | None:
    month = containing("month", court_today(ctx.settings, ctx.clock()))
    async with session_scope(ctx.sessions) as session:
        counted = await refresh_rollups(session, ctx.settings, month)
    return f"report roll-ups: {len(counted)} day(s) counted again" if counted else None
