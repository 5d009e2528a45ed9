"""Agents' presence in the seats queue as the console last set it (AgentPresence).

WRAP_UP is 话后处理: the caller has hung up and the agent finishes the call's log; the seat
is paused in the queue meanwhile (agent_console.live), and `since` is when it began."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.db.models import AgentPresence, User

OUT = "out"
READY = "ready"
PAUSED = "paused"
WRAP_UP = "wrap_up"
STATES = (OUT, READY, PAUSED, WRAP_UP)


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
    if state != OUT:
        await vacate(session, extension, at, keep_user_id=user_id)
    await session.flush()
    return row


async def vacate(session: AsyncSession, extension: str, at: datetime, *,
                 keep_user_id: int | None = None) -> None:
    """Whoever else was signed in on this seat is out: one seat answers for one person, so
    the call's agent and the recording's listener (recording_access.user_on_extension)
    are who signed in last, never a colleague who sat there before."""
    if not extension:
        return
    query = (update(AgentPresence)
             .where(AgentPresence.extension == extension, AgentPresence.state != OUT)
             .values(state=OUT, reason="", since=at))
    if keep_user_id is not None:
        query = query.where(AgentPresence.user_id != keep_user_id)
    await session.execute(query)


async def on_extension(session: AsyncSession, extension: str) -> AgentPresence | None:
    """Who is signed in on this seat now (ready, paused or wrapping up), if anyone."""
    query = (select(AgentPresence)
             .where(AgentPresence.extension == extension, AgentPresence.state != OUT)
             .order_by(AgentPresence.since.desc()).limit(1))
    return (await session.execute(query)).scalars().first()


async def seated(session: AsyncSession) -> list[tuple[AgentPresence, User]]:
    """Everyone signed in now with their user row, by name: the supervisors' view."""
    query = (select(AgentPresence, User).join(User, User.id == AgentPresence.user_id)
             .where(AgentPresence.state != OUT).order_by(User.username))
    return [(p, u) for p, u in (await session.execute(query)).all()]


async def signed_in(session: AsyncSession) -> list[tuple[AgentPresence, User]]:
    """Everyone who should be in the queue now (ready or paused), with their user row."""
    query = (select(AgentPresence, User).join(User, User.id == AgentPresence.user_id)
             .where(AgentPresence.state != OUT, User.active.is_(True))
             .order_by(AgentPresence.user_id))
    return [(p, u) for p, u in (await session.execute(query)).all()]
