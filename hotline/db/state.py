"""Data access for shared state entries (the manual open/closed mode, ...)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ScalarSelect, select
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.db.models import StateEntry


async def get_state(session: AsyncSession, key: str, default: str = "") -> str:
    entry = await session.get(StateEntry, key)
    return entry.value if entry else default


async def set_state(session: AsyncSession, key: str, value: str) -> None:
    entry = await session.get(StateEntry, key)
    if entry is None:
        session.add(StateEntry(key=key, value=value))
    else:
        entry.value = value


async def get_states(session: AsyncSession, keys: Iterable[str]) -> dict[str, tuple[str, object]]:
    """key → (value, updated_at) of the entries that exist, in one query."""
    rows = await session.execute(select(StateEntry.key, StateEntry.value, StateEntry.updated_at)
                                 .where(StateEntry.key.in_(list(keys))))
    return {key: (value, updated) for key, value, updated in rows}


def state_stamp(key: str) -> tuple[ScalarSelect[Any], ScalarSelect[Any]]:
    """An entry's value and when it changed, as two scalar subqueries: a cache of what
    depends on it puts them in the one statement that tells whether anything changed."""
    return (select(StateEntry.value).where(StateEntry.key == key).scalar_subquery(),
            select(StateEntry.updated_at).where(StateEntry.key == key).scalar_subquery())
