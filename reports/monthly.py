"""The tables of a period's report for the whole centre (what `hotline report month` prints
and saves, and what the monthly report is made of): calls, matters, the department
scorecard and the seats, as an administrator sees them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.settings import Settings
from reports.figures import court_matter_figures, period_figures, report_calendar
from reports.matters import load_matters
from reports.menu import load_menu_calls, menu_figures
from reports.period import Period
from reports.scope import Scope
from reports.scorecard import scorecard_rows, seat_rows
from reports.tables import (
    Table,
    agent_table,
    call_table,
    department_table,
    matter_table,
    menu_table,
)

ADMIN_SCOPE = Scope(True, None, None)
DEFAULT_TABLES = ("calls", "matters", "departments", "agents")
# The monthly report's tables with the voice menu's, when asked for (--menu, &menu=1)
WITH_MENU = (*DEFAULT_TABLES, "menu")


async def centre_tables(session: AsyncSession, settings: Settings, period: Period,
                        now: datetime, which: tuple[str, ...] | None = None,
                        court_id: int | None = None) -> list[Table]:
    """The tables named in `which` (calls, matters, departments, agents, menu — the voice
    menu's two tables, on request), the first four by default. Calls and matters come from
    the daily roll-ups, as the dashboard's do. court_id: one court's (issue 17) — its
    matters counted from the matters, its departments and staff's seats; no call or voice
    menu table, as calls are the centre's (docs/metrics.md)."""
    which = which or DEFAULT_TABLES
    if court_id is not None:
        return await _court_tables(session, settings, period, now, which, court_id)
    tables: list[Table] = []
    if "calls" in which or "matters" in which:
        (calls, matters), _ = await period_figures(session, settings, period, now)
        if "calls" in which:
            (before, _), _ = await period_figures(session, settings, period.previous(), now)
            tables.append(call_table(calls, period, before))
        if "matters" in which:
            tables.append(matter_table(matters, period))
    tables += await scorecard_tables(session, settings, period, now, which)
    if "menu" in which:
        tables += await menu_tables(session, settings, period)
    return tables


async def _court_tables(session: AsyncSession, settings: Settings, period: Period,
                        now: datetime, which: tuple[str, ...], court_id: int) -> list[Table]:
    tables: list[Table] = []
    if "matters" in which:
        tables.append(matter_table(
            await court_matter_figures(session, settings, period, now, court_id), period))
    return tables + await scorecard_tables(session, settings, period, now, which, court_id)


async def scorecard_tables(session: AsyncSession, settings: Settings, period: Period,
                           now: datetime, which: tuple[str, ...],
                           court_id: int | None = None) -> list[Table]:
    """The department scorecard and the seats' table, when in `which`, as an administrator
    sees them (of court_id's departments and staff when cut by a court): from the month's
    forwarded matters and the answered calls' narrow rows (scorecard.seat_rows), not from
    every call of the month (load_period), which a provincial month made seconds long."""
    tables: list[Table] = []
    if "departments" not in which and "agents" not in which:
        return tables
    calendar = await report_calendar(session, settings, period)
    if "departments" in which:
        forwarded = await load_matters(session, calendar, period, "forwarded",
                                       court_id=court_id)
        tables.append(department_table(await scorecard_rows(
            session, calendar, forwarded, ADMIN_SCOPE, now, court_id), period))
    if "agents" in which:
        tables.append(agent_table(
            await seat_rows(session, settings.hours.timezone, period, ADMIN_SCOPE,
                            court_id), period))
    return tables


async def menu_tables(session: AsyncSession, settings: Settings, period: Period
                      ) -> list[Table]:
    """The voice menu's two tables (each path's use, where callers hung up)."""
    calls = await load_menu_calls(session, settings.hours.timezone, period)
    return list(menu_table(menu_figures(calls), period))
