"""The tables of a period's report for the whole centre (what `hotline report month` prints
and saves, and what the monthly report is made of): calls, matters, the department
scorecard and the seats, as an administrator sees them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.settings import Settings
from reports.calls import call_figures
from reports.figures import load_period
from reports.matters import matter_figures
from reports.menu import load_menu_calls, menu_figures
from reports.period import Period
from reports.scope import Scope
from reports.scorecard import agent_rows, department_rows
from reports.tables import (
    Table,
    agent_table,
    call_table,
    department_table,
    matter_table,
    menu_table,
)

ADMIN_SCOPE = Scope(True, None, None)


async def centre_tables(session: AsyncSession, settings: Settings, period: Period,
                        now: datetime, which: tuple[str, ...] | None = None) -> list[Table]:
    """The tables named in `which` (calls, matters, departments, agents, menu — the voice
    menu's two tables), the first four by default."""
    which = which or ("calls", "matters", "departments", "agents")
    data = await load_period(session, settings, period)
    tables: list[Table] = []
    if "calls" in which:
        before = await load_period(session, settings, period.previous())
        tables.append(call_table(call_figures(data.calls), period, call_figures(before.calls)))
    if "matters" in which:
        tables.append(matter_table(matter_figures(data.calendar, data.created, data.forwarded,
                                                  now), period))
    if "departments" in which:
        tables.append(department_table(
            await department_rows(session, data, ADMIN_SCOPE, now), period))
    if "agents" in which:
        tables.append(agent_table(await agent_rows(session, data, ADMIN_SCOPE), period))
    if "menu" in which:
        calls = await load_menu_calls(session, settings.hours.timezone, period)
        tables += menu_table(menu_figures(calls), period)
    return tables
