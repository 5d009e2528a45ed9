"""hotline.db.sip_bans: which bans are in force (expiry, lifting, the latest per address)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.db import sip_bans
from hotline.db.base import session_scope

Sessions = async_sessionmaker[AsyncSession]
NOW = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)


async def test_active_bans_expire_and_are_lifted(sessions: Sessions) -> None:
    async with session_scope(sessions) as session:
        for address, minutes_ago, seconds in (("192.0.2.7", 0, 600), ("192.0.2.7", 5, 3600),
                                              ("192.0.2.8", 20, 600), ("192.0.2.9", 1, 600)):
            await sip_bans.add_ban(session, address, failures=5, reason="InvalidAccountID",
                                   now=NOW - timedelta(minutes=minutes_ago), seconds=seconds)

    async with session_scope(sessions) as session:
        active = await sip_bans.active_bans(session, NOW)
        # 192.0.2.8's ban ended 10 minutes ago; 192.0.2.7's later expiry is the one shown.
        assert [(b.address, b.expires_at) for b in active] == [
            ("192.0.2.7", NOW + timedelta(minutes=55)), ("192.0.2.9", NOW + timedelta(minutes=9))]
        assert await sip_bans.lift(session, "192.0.2.7", NOW, by="cli") == 2
        assert await sip_bans.lift(session, "192.0.2.8", NOW, by="cli") == 0

    async with session_scope(sessions) as session:
        assert [b.address for b in await sip_bans.active_bans(session, NOW)] == ["192.0.2.9"]
        history = await sip_bans.recent_bans(session, NOW - timedelta(days=1))
    assert len(history) == 4 and history[0].address == "192.0.2.7"
    assert {b.lifted_by for b in history if b.address == "192.0.2.7"} == {"cli"}
