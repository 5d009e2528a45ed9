"""Data access for shared state entries (the manual open/closed mode, ...)."""

from __future__ import annotations

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


def state_stamp(key: str) -> tuple[ScalarSelect[Any], ScalarSelect[Any]]:
    """An entry's value and when it changed, as two scalar subqueries: a cache of what
    depends on it puts them in the one statement that tells whether anything changed."""
    return (select(StateEntry.value).where(StateEntry.key == key).scalar_subquery(),
            select(StateEntry.updated_at).where(StateEntry.key == key).scalar_subquery())
