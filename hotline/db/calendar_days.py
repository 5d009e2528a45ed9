"""Data access for the court's calendar overrides, and the years whose State Council notice
the court imported (kept in the shared state, so every process agrees on them)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.db.base import utcnow
from hotline.db.models import CalendarOverride
from hotline.db.state import get_state, set_state

DECLARED_YEARS_KEY = "calendar.declared_years"


@dataclass(frozen=True)
class DayOverride:
    day: date
    workday: bool
    name: str = ""


async def overrides_between(session: AsyncSession, first: date,
                            last: date) -> list[CalendarOverride]:
    """The overrides from first to last, both included, by date."""
    query = (select(CalendarOverride)
             .where(CalendarOverride.day >= first, CalendarOverride.day <= last)
             .order_by(CalendarOverride.day))
    return list((await session.scalars(query)).all())


async def version(session: AsyncSession) -> tuple[int, object]:
    """How many overrides there are and the latest change: what a cache of them compares
    (set_overrides stamps every row it writes, a deletion changes the count)."""
    count, latest = (await session.execute(
        select(func.count(), func.max(CalendarOverride.updated_at)))).one()
    return int(count), latest


async def set_override(session: AsyncSession, override: DayOverride, updated_by: str) -> None:
    await set_overrides(session, [override], updated_by)


async def set_overrides(session: AsyncSession, overrides: Iterable[DayOverride],
                        updated_by: str) -> int:
    """Insert or replace many days within the caller's transaction; returns how many."""
    wanted = {o.day: o for o in overrides}
    existing = {row.day: row for row in (await session.scalars(
        select(CalendarOverride).where(CalendarOverride.day.in_(wanted)))).all()}
    for day, override in wanted.items():
        row = existing.get(day) or CalendarOverride(day=day)
        row.workday, row.name = override.workday, override.name
        # Set by hand: onupdate does not fire when the values did not change.
        row.updated_by, row.updated_at = updated_by, utcnow()
        session.add(row)
    return len(wanted)


async def delete_override(session: AsyncSession, day: date) -> bool:
    """Remove the court's setting for a day; False if there was none."""
    result = await session.execute(delete(CalendarOverride).where(CalendarOverride.day == day))
    return bool(getattr(result, "rowcount", 0))


async def declared_years(session: AsyncSession) -> set[int]:
    value = await get_state(session, DECLARED_YEARS_KEY)
    return {int(year) for year in value.split(",") if year.strip()}


async def declare_years(session: AsyncSession, years: Iterable[int]) -> None:
    """Mark years as known from an imported notice: their ordinary days are no gap."""
    merged = await declared_years(session) | set(years)
    await set_state(session, DECLARED_YEARS_KEY, ",".join(str(y) for y in sorted(merged)))
