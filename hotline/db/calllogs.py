"""Data access for call logs: the agent's record of each call (Art. 9), owned by the
agent who answered (Art. 6). The console validates what is typed before it gets here."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.db.base import utcnow
from hotline.db.models import CallLog, Ticket, User

CALLER_KINDS = ("party", "lawyer", "public")
OUTCOMES = ("answered", "duty_judge", "forwarded", "substantive")
LIST_LIMIT = 200


@dataclass(frozen=True)
class LogFields:
    """What the agent typed, already checked and normalised."""

    caller_name: str
    caller_kind: str
    contact: str
    id_number: str
    case_number: str
    category: str
    question: str
    answer: str
    outcome: str
    # the court the agent picked (issue 17); None leaves it to the case number
    court_id: int | None = None

    def __post_init__(self) -> None:
        if self.caller_kind not in CALLER_KINDS or self.outcome not in OUTCOMES:
            raise ValueError(f"caller_kind {self.caller_kind!r} / outcome {self.outcome!r}")


@dataclass(frozen=True)
class LogRow:
    """A log as the lists show it: with its owner's name and its consultation, if any."""

    log: CallLog
    owner_name: str
    ticket: Ticket | None


async def create_log(session: AsyncSession, fields: LogFields, owner_id: int,
                     call_id: str | None = None, now: datetime | None = None) -> CallLog:
    now = now or utcnow()
    log = CallLog(owner_id=owner_id, call_id=call_id, created_at=now, updated_at=now,
                  **dataclasses.asdict(fields))
    session.add(log)
    await session.flush()
    return log


async def update_log(session: AsyncSession, log: CallLog, fields: LogFields,
                     now: datetime | None = None) -> CallLog:
    for name, value in dataclasses.asdict(fields).items():
        setattr(log, name, value)
    log.updated_at = now or utcnow()
    await session.flush()
    return log


async def get_log(session: AsyncSession, log_id: int) -> CallLog | None:
    return await session.get(CallLog, log_id)


async def link_ticket(session: AsyncSession, log: CallLog, ticket_id: int) -> None:
    log.ticket_id = ticket_id
    await session.flush()


async def logs_of_owner(session: AsyncSession, owner_id: int,
                        limit: int = LIST_LIMIT) -> list[LogRow]:
    """An agent's own logs, newest first ("my call logs")."""
    return await _rows(session, limit, CallLog.owner_id == owner_id)


async def all_logs(session: AsyncSession, limit: int = LIST_LIMIT) -> list[LogRow]:
    return await _rows(session, limit)


async def logs_for_call(session: AsyncSession, call_id: str) -> list[LogRow]:
    """The logs of one call (a screen pop shows what was said last time)."""
    return await _rows(session, LIST_LIMIT, CallLog.call_id == call_id)


async def log_row(session: AsyncSession, log_id: int) -> LogRow | None:
    rows = await _rows(session, 1, CallLog.id == log_id)
    return rows[0] if rows else None


def list_query(owner_id: int | None = None) -> Select[CallLog, User, Ticket]:
    """The logs a list shows, newest first, each with its owner and consultation: one
    agent's (owner_id), or everyone's. The console narrows and pages it
    (agent_console.listing); as_row makes each result a LogRow."""
    query = (select(CallLog, User, Ticket)
             .outerjoin(User, User.id == CallLog.owner_id)
             .outerjoin(Ticket, Ticket.id == CallLog.ticket_id)
             .order_by(CallLog.created_at.desc(), CallLog.id.desc()))
    return query if owner_id is None else query.where(CallLog.owner_id == owner_id)


def as_row(row: Row[CallLog, User, Ticket] | Sequence[Any]) -> LogRow:
    log, user, ticket = row
    return LogRow(log, (user.display_name or user.username) if user else "", ticket)


async def _rows(session: AsyncSession, limit: int, *where: ColumnElement[bool]) -> list[LogRow]:
    query = list_query().where(*where).limit(limit)
    return [as_row(row) for row in (await session.execute(query)).all()]
