"""hotline.db.calendar_days: the court's calendar overrides and the declared years, on
SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.db import calendar_days
from hotline.db.base import session_scope
from hotline.db.calendar_days import DayOverride
from hotline.db.models import CalendarOverride

Sessions = async_sessionmaker[AsyncSession]
NEW_YEAR, MAKE_UP, LABOUR_DAY = date(2027, 1, 1), date(2027, 2, 6), date(2027, 5, 1)


async def _all(sessions: Sessions) -> list[tuple[date, bool, str, str]]:
    async with session_scope(sessions) as session:
        rows = await calendar_days.overrides_between(session, date(2000, 1, 1), date(2100, 1, 1))
    return [(r.day, r.workday, r.name, r.updated_by) for r in rows]


async def test_set_inserts_then_replaces(sessions: Sessions) -> None:
    async with session_scope(sessions) as session:
        await calendar_days.set_override(session, DayOverride(NEW_YEAR, False, "元旦"), "alice")
    async with session_scope(sessions) as session:
        await calendar_days.set_override(session, DayOverride(NEW_YEAR, True, "值班"), "bob")

    assert await _all(sessions) == [(NEW_YEAR, True, "值班", "bob")]


async def _stamp(sessions: Sessions, day: date) -> datetime:
    async with session_scope(sessions) as session:
        row = await session.get(CalendarOverride, (day, 1))
    assert row is not None
    return row.updated_at


async def test_updated_at_moves_even_when_nothing_else_changes(sessions: Sessions) -> None:
    stamps = []
    for _ in range(2):
        async with session_scope(sessions) as session:
            await calendar_days.set_override(session, DayOverride(NEW_YEAR, False), "alice")
        stamps.append(await _stamp(sessions, NEW_YEAR))

    assert stamps[0].tzinfo == UTC and stamps[1] > stamps[0]


async def test_overrides_between_is_inclusive_and_ordered(sessions: Sessions) -> None:
    async with session_scope(sessions) as session:
        await calendar_days.set_overrides(session, [DayOverride(LABOUR_DAY, False),
                                                    DayOverride(NEW_YEAR, False),
                                                    DayOverride(MAKE_UP, True)], "admin")
    async with session_scope(sessions) as session:
        rows = await calendar_days.overrides_between(session, NEW_YEAR, MAKE_UP)
        tail = await calendar_days.overrides_between(session, date(2027, 2, 7), LABOUR_DAY)

    assert [r.day for r in rows] == [NEW_YEAR, MAKE_UP]
    assert [r.day for r in tail] == [LABOUR_DAY]


async def test_set_many_replaces_existing_days_and_counts(sessions: Sessions) -> None:
    async with session_scope(sessions) as session:
        await calendar_days.set_override(session, DayOverride(NEW_YEAR, True, "旧"), "alice")
    async with session_scope(sessions) as session:
        count = await calendar_days.set_overrides(
            session, [DayOverride(NEW_YEAR, False, "元旦"), DayOverride(MAKE_UP, True, "春节")],
            "import")

    assert count == 2
    assert await _all(sessions) == [(NEW_YEAR, False, "元旦", "import"),
                                    (MAKE_UP, True, "春节", "import")]


async def test_set_many_is_one_transaction(sessions: Sessions) -> None:
    with pytest.raises(RuntimeError):
        async with session_scope(sessions) as session:
            await calendar_days.set_overrides(session, [DayOverride(NEW_YEAR, False),
                                                        DayOverride(MAKE_UP, True)], "import")
            await session.flush()
            raise RuntimeError("the import failed half way")

    assert await _all(sessions) == []


async def test_delete(sessions: Sessions) -> None:
    async with session_scope(sessions) as session:
        await calendar_days.set_override(session, DayOverride(NEW_YEAR, False), "alice")
    async with session_scope(sessions) as session:
        assert await calendar_days.delete_override(session, NEW_YEAR)
        assert not await calendar_days.delete_override(session, MAKE_UP)

    assert await _all(sessions) == []


async def test_declared_years_merge(sessions: Sessions) -> None:
    async with session_scope(sessions) as session:
        assert await calendar_days.declared_years(session) == set()
        await calendar_days.declare_years(session, [2028, 2027])
    async with session_scope(sessions) as session:
        await calendar_days.declare_years(session, {2027, 2029})
    async with session_scope(sessions) as session:
        assert await calendar_days.declared_years(session) == {2027, 2028, 2029}
