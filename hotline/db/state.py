"""Data access for shared state entries (the manual open/closed mode, ...)."""

from __future__ import annotations

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
