"""hotline.db.state: shared state entries (the manual open/closed mode)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline import hours
from hotline.db.base import session_scope
from hotline.db.models import StateEntry
from hotline.db.state import get_state, set_state

Sessions = async_sessionmaker[AsyncSession]


async def test_missing_key_gives_the_default(sessions: Sessions) -> None:
    async with session_scope(sessions) as session:
        assert await get_state(session, hours.MODE_KEY) == ""
        assert await get_state(session, hours.MODE_KEY, "auto") == "auto"


async def test_set_then_overwrite(sessions: Sessions) -> None:
    async with session_scope(sessions) as session:
        await set_state(session, hours.MODE_KEY, "closed")
        await set_state(session, "other", "x")
    async with session_scope(sessions) as session:
        assert await get_state(session, hours.MODE_KEY, "auto") == "closed"
        await set_state(session, hours.MODE_KEY, "open")

    async with session_scope(sessions) as session:
        assert await get_state(session, hours.MODE_KEY, "auto") == "open"
        assert await get_state(session, "other") == "x"
        entry = await session.get(StateEntry, hours.MODE_KEY)
    assert entry is not None and entry.updated_at.tzinfo is not None
