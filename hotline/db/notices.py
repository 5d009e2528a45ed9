"""Data access for staff notices (hotline.notify writes them)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.db.models import Notice, Ticket


def list_query(user_id: int) -> Select[Notice, str | None]:
    """A user's notices, unread first, newest first, each with its matter's reference (or
    None); the console narrows and pages it."""
    return (select(Notice, Ticket.reference).where(Notice.user_id == user_id)
            .outerjoin(Ticket, Ticket.id == Notice.ticket_id)
            .order_by(Notice.read_at.is_not(None), Notice.created_at.desc(), Notice.id.desc()))


async def notices_for(session: AsyncSession, user_id: int, limit: int = 100) -> list[Notice]:
    """A user's notices, unread first, newest first."""
    query = (select(Notice).where(Notice.user_id == user_id)
             .order_by(Notice.read_at.is_not(None), Notice.created_at.desc(), Notice.id.desc())
             .limit(limit))
    return list((await session.execute(query)).scalars())


async def unread_count(session: AsyncSession, user_id: int) -> int:
    query = select(func.count()).where(Notice.user_id == user_id, Notice.read_at.is_(None))
    return int((await session.execute(query)).scalar_one())


async def mark_read(session: AsyncSession, user_id: int, now: datetime,
                    notice_id: int | None = None) -> int:
    """Mark one notice (or all of them) read; only the user's own. The number marked."""
    query = update(Notice).where(Notice.user_id == user_id, Notice.read_at.is_(None))
    if notice_id is not None:
        query = query.where(Notice.id == notice_id)
    done = await session.execute(query.values(read_at=now)
                                 .execution_options(synchronize_session=False))
    return int(done.rowcount)  # type: ignore[attr-defined]
