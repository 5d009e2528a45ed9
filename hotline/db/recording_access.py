"""Data access for who may hear a recording and the record of every listen
(RecordingAccess): the facts hotline.recording_access decides from, and the log itself."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.db.base import utcnow
from hotline.db.models import (
    AgentPresence,
    CallEvent,
    Department,
    Recording,
    RecordingAccess,
    Ticket,
    User,
)

# play | download | denied, written here; H6's retention writes delete | hold | release.
PLAY, DOWNLOAD, DENIED = "play", "download", "denied"
ACTIONS = (PLAY, DOWNLOAD, DENIED, "delete", "hold", "release")
# presence.OUT: the seat's agent has signed out of the queue
_SIGNED_OUT = "out"


async def user_on_extension(session: AsyncSession, extension: str) -> int | None:
    """The agent signed in to the queue on this seat now, if exactly one is."""
    query = (select(AgentPresence.user_id).join(User, User.id == AgentPresence.user_id)
             .where(AgentPresence.extension == extension, AgentPresence.state != _SIGNED_OUT,
                    User.active.is_(True)))
    found = list((await session.execute(query)).scalars())
    return found[0] if len(found) == 1 else None


async def call_events(session: AsyncSession, call_id: str, kinds: Sequence[str]
                      ) -> list[CallEvent]:
    query = (select(CallEvent).where(CallEvent.call_id == call_id, CallEvent.kind.in_(kinds))
             .order_by(CallEvent.id))
    return list((await session.execute(query)).scalars())


async def forwarded_to_handler(session: AsyncSession, call_id: str, user_id: int) -> bool:
    """A ticket of this call (raised on it or answered by it) was forwarded to a
    department whose named handler is the user."""
    query = (select(Ticket.id).join(Department, Department.id == Ticket.department_id)
             .where(_ticket_of_call(call_id), Department.handler_id == user_id,
                    Ticket.forwarded_at.is_not(None)).limit(1))
    return (await session.execute(query)).first() is not None


def _ticket_of_call(call_id: str) -> ColumnElement[bool]:
    return or_(Ticket.call_id == call_id, Ticket.answer_call_id == call_id)


async def get_recording(session: AsyncSession, recording_id: int) -> Recording | None:
    return await session.get(Recording, recording_id)


async def parts_of_call(session: AsyncSession, call_id: str) -> list[Recording]:
    """The call's recordings in playing order: parts first by part, then as made."""
    query = (select(Recording).where(Recording.call_id == call_id)
             .order_by(Recording.kind, Recording.part, Recording.id))
    return list((await session.execute(query)).scalars())


async def log_access(session: AsyncSession, recording_id: int | None, user_id: int | None,
                     action: str, address: str = "", reason: str = "",
                     at: datetime | None = None) -> RecordingAccess:
    if action not in ACTIONS:
        raise ValueError(f"unknown recording access action {action!r}")
    row = RecordingAccess(recording_id=recording_id, user_id=user_id, action=action,
                          address=address[:60], reason=reason, at=at or utcnow())
    session.add(row)
    await session.flush()
    return row


@dataclass(frozen=True)
class AccessRow:
    """One line of the access log as the administrators' page shows it."""

    id: int
    at: datetime
    action: str
    username: str
    display_name: str
    recording_id: int | None
    call_id: str
    address: str
    reason: str


async def list_access(session: AsyncSession, *, username: str = "",
                      since: datetime | None = None, until: datetime | None = None,
                      action: str = "", limit: int = 500) -> list[AccessRow]:
    """The access log, newest first; until is exclusive."""
    query = (select(RecordingAccess, User.username, User.display_name, Recording.call_id)
             .outerjoin(User, User.id == RecordingAccess.user_id)
             .outerjoin(Recording, Recording.id == RecordingAccess.recording_id))
    if username:
        query = query.where(User.username == username)
    if since is not None:
        query = query.where(RecordingAccess.at >= since)
    if until is not None:
        query = query.where(RecordingAccess.at < until)
    if action:
        query = query.where(RecordingAccess.action == action)
    query = query.order_by(RecordingAccess.at.desc(), RecordingAccess.id.desc()).limit(limit)
    return [AccessRow(row.id, row.at, row.action, name or "", display or "", row.recording_id,
                      call_id or "", row.address, row.reason)
            for row, name, display, call_id in (await session.execute(query)).all()]
