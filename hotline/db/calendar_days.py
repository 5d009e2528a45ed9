"""Data access for the court's calendar overrides, and the years whose State Council notice
the court imported (kept in the shared state, so every process agrees on them).

Each court has its own overrides (issue 17, migration 0023); every function takes the court,
the centre's court by default: the hotline's hours and the matters' deadlines follow the
centre's calendar."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ScalarSelect, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.db.base import utcnow
from hotline.db.models import CENTRE_COURT_ID, CalendarOverride
from hotline.db.state import get_state, set_state

DECLARED_YEARS_KEY = "calendar.declared_years"


@dataclass(frozen=True)
class DayOverride:
    day: date
    workday: bool
    name: str = ""


async def overrides_between(session: AsyncSession, first: date, last: date,
                            court_id: int = CENTRE_COURT_ID) -> list[CalendarOverride]:
    """A court's overrides from first to last, both included, by date."""
    query = (select(CalendarOverride)
             .where(CalendarOverride.court_id == court_id,
                    CalendarOverride.day >= first, CalendarOverride.day <= last)
             .order_by(CalendarOverride.day))
    return list((await session.scalars(query)).all())


# How many overrides there are and the latest change: what a cache of them compares
# (set_overrides stamps every row it writes, a deletion changes the count).
VERSION: tuple[ScalarSelect[Any], ...] = (
    select(func.count()).select_from(CalendarOverride).scalar_subquery(),
    select(func.max(CalendarOverride.updated_at)).scalar_subquery())


async def version(session: AsyncSession) -> tuple[int, object]:
    count, latest = (await session.execute(select(*VERSION))).one()
    return int(count), latest


async def set_override(session: AsyncSession, override: DayOverride, updated_by: str,
                       court_id: int = CENTRE_COURT_ID) -> None:
    await set_overrides(session, [override], updated_by, court_id)


async def set_overrides(session: AsyncSession, overrides: Iterable[DayOverride],
                        updated_by: str, court_id: int = CENTRE_COURT_ID) -> int:
    """Insert or replace many days of a court within the caller's transaction; returns how
    many."""
    wanted = {o.day: o for o in overrides}
    existing = {row.day: row for row in (await session.scalars(
        select(CalendarOverride).where(CalendarOverride.court_id == court_id,
                                       CalendarOverride.day.in_(wanted)))).all()}
    for day, override in wanted.items():
        row = existing.get(day) or CalendarOverride(day=day, court_id=court_id)
        row.workday, row.name = override.workday, override.name
        # Set by hand: onupdate does not fire when the values did not change.
        row.updated_by, row.updated_at = updated_by, utcnow()
        session.add(row)
    return len(wanted)


async def delete_override(session: AsyncSession, day: date,
                          court_id: int = CENTRE_COURT_ID) -> bool:
    """Remove a court's setting for a day; False if there was none."""
    result = await session.execute(delete(CalendarOverride).where(
        CalendarOverride.court_id == court_id, CalendarOverride.day == day))
    return bool(getattr(result, "rowcount", 0))


async def declared_years(session: AsyncSession) -> set[int]:
    value = await get_state(session, DECLARED_YEARS_KEY)
    return {int(year) for year in value.split(",") if year.strip()}


async def declare_years(session: AsyncSession, years: Iterable[int]) -> None:
    """Mark years as known from an imported notice: their ordinary days are no gap."""
    merged = await declared_years(session) | set(years)
    await set_state(session, DECLARED_YEARS_KEY, ",".join(str(y) for y in sorted(merged)))
