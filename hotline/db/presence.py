"""Agents' presence in the seats queue as the console last set it (AgentPresence)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.db.models import AgentPresence, User

OUT = "out"
READY = "ready"
PAUSED = "paused"
STATES = (OUT, READY, PAUSED)


async def get_presence(session: AsyncSession, user_id: int) -> AgentPresence | None:
    return await session.get(AgentPresence, user_id)


async def set_presence(session: AsyncSession, user_id: int, extension: str, state: str,
                       reason: str, at: datetime) -> AgentPresence:
    if state not in STATES:
        raise ValueError(f"unknown presence state {state!r}")
    row = await session.get(AgentPresence, user_id)
    if row is None:
        row = AgentPresence(user_id=user_id)
        session.add(row)
    row.extension, row.state, row.reason, row.since = extension, state, reason, at
    await session.flush()
    return row


async def signed_in(session: AsyncSession) -> list[tuple[AgentPresence, User]]:
    """Everyone who should be in the queue now (ready or paused), with their user row."""
    query = (select(AgentPresence, User).join(User, User.id == AgentPresence.user_id)
             .where(AgentPresence.state != OUT, User.active.is_(True))
             .order_by(AgentPresence.user_id))
    return [(p, u) for p, u in (await session.execute(query)).all()]
