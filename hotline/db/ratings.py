"""Data access for satisfaction ratings (hotline.ratings has the rules)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from hotline.db.models import CallEvent, Rating, Ticket, User
from hotline.roles import ADMIN

CALL, SMS = "call", "sms"


async def seat_of_call(session: AsyncSession, call_id: str) -> int | None:
    """The console user on the seat that last answered the call (the tracker's "agent"
    event, resolved from the seat's extension when it rang), or None."""
    query = (select(CallEvent.detail).where(CallEvent.call_id == call_id,
                                            CallEvent.kind == "agent")
             .order_by(CallEvent.at.desc(), CallEvent.id.desc()))
    for detail in (await session.execute(query)).scalars():
        user_id = (detail or {}).get("user_id", "")
        if user_id.isdigit():
            return int(user_id)
    return None


async def ticket_of_call(session: AsyncSession, call_id: str) -> Ticket | None:
    """The newest matter the call raised, if one was filed by now."""
    query = (select(Ticket).where(Ticket.call_id == call_id)
             .order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(1))
    return (await session.execute(query)).scalar_one_or_none()


async def call_rating(session: AsyncSession, call_id: str) -> Rating | None:
    query = select(Rating).where(Rating.call_id == call_id, Rating.channel == CALL)
    return (await session.execute(query)).scalar_one_or_none()


async def newest_ask(session: AsyncSession, numbers: Sequence[str], since: datetime
                     ) -> Rating | None:
    """The newest rating asked by SMS of any of these spellings of one number since
    `since`, answered or not."""
    query = (select(Rating).where(Rating.channel == SMS, Rating.caller_number.in_(numbers),
                                  Rating.asked_at >= since)
             .order_by(Rating.asked_at.desc(), Rating.id.desc()).limit(1))
    return (await session.execute(query)).scalar_one_or_none()


async def of_ticket(session: AsyncSession, ticket: Ticket) -> list[Rating]:
    """The ratings given about a matter: its SMS asks answered, and the phone rating of
    the call that raised it. Oldest first."""
    about: list[ColumnElement[bool]] = [Rating.ticket_id == ticket.id]
    if ticket.call_id:
        about.append(Rating.call_id == ticket.call_id)
    query = (select(Rating).where(or_(*about), Rating.score.is_not(None))
             .order_by(Rating.rated_at, Rating.id))
    return list((await session.execute(query)).scalars())


async def administrators(session: AsyncSession) -> list[User]:
    query = select(User).where(User.role == ADMIN, User.active.is_(True)).order_by(User.id)
    return list((await session.execute(query)).scalars())


async def scores_by(session: AsyncSession, key: InstrumentedAttribute[int | None],
                    start: datetime, end: datetime) -> dict[int, dict[int, int]]:
    """Ratings given in [start, end), counted by `key` (Rating.agent_id or
    Rating.department_id) and score: {key: {score: count}}. Ratings without the key
    (a call nobody's seat answered, a matter never forwarded) are left out."""
    query = (select(key, Rating.score, func.count())
             .where(key.is_not(None), Rating.score.is_not(None),
                    Rating.rated_at >= start, Rating.rated_at < end)
             .group_by(key, Rating.score))
    counted: dict[int, dict[int, int]] = {}
    for owner, score, count in (await session.execute(query)).all():
        if owner is not None and score is not None:
            counted.setdefault(owner, {})[score] = int(count)
    return counted
