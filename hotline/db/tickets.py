"""Data access for tickets: the matters callers raise (Art. 4-6).

Each ticket gets a reference the caller is told and keys in later: the court's local date
as YYMMDD and a daily sequence of at least 4 digits, e.g. "2611270001". Two processes (the
bridge, the console) may create tickets at the same moment; the unique constraint decides:
the loser's insert finds the reference taken (ON CONFLICT DO NOTHING) and it retries with
the next number, the caller's other work in the same transaction kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    ScalarSelect,
    Select,
    String,
    Table,
    bindparam,
    func,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.callid import known_number
from hotline.catalog import APPOINTMENT_KINDS, TICKET_TYPES
from hotline.db import outbox as _outbox  # every change of a matter is pushed
from hotline.db.base import HOLDS_WRITE_LOCK, utcnow
from hotline.db.models import CENTRE_COURT_ID, Appointment, CallLog, Department, Ticket
from hotline.settings import HoursSettings

OPEN = "open"
# a consultation sent to the duty judge (hotline.db.consultations): not a matter of the
# agent's own list
JUDGE_SUBTYPE = "duty_judge"
COURT_TIMEZONE = HoursSettings().timezone
SEQUENCE_DIGITS = 4
# Each failed attempt means another creation won, so this bounds the number of concurrent
# creations of one day we can outlast, not the number of tickets.
MAX_ATTEMPTS = 100


async def create_ticket(session: AsyncSession, type: str, caller_number: str,
                        call_id: str | None, audio_path: str = "", text: str = "",
                        subtype: str = "", detail: dict[str, str] | None = None,
                        now: datetime | None = None,
                        timezone: str = COURT_TIMEZONE, owner_id: int | None = None,
                        assignee_id: int | None = None,
                        court_id: int = CENTRE_COURT_ID) -> Ticket:
    """Create an open ticket with the next free reference of the court's day (one series
    for every court the centre answers for: a reference names one matter).

    Raises ValueError for a type not in hotline.catalog.TICKET_TYPES (or an appointment
    kind not in APPOINTMENT_KINDS).
    """
    _check_type(type, subtype)
    now = now or utcnow()
    prefix = now.astimezone(ZoneInfo(timezone)).strftime("%y%m%d")
    values = {"type": type, "subtype": subtype, "status": OPEN, "caller_number": caller_number,
              "call_id": call_id, "audio_path": audio_path, "text": text,
              "detail": dict(detail or {}), "created_at": now, "owner_id": owner_id,
              "assignee_id": assignee_id, "court_id": court_id}
    await _serialize_writers_on_sqlite(session)
    for _ in range(MAX_ATTEMPTS):
        reference = await _next_reference(session, prefix)
        if ticket_id := await _try_insert(session, {**values, "reference": reference}):
            ticket = await session.get_one(Ticket, ticket_id)
            await _outbox.created(session, ticket)
            return ticket
    raise RuntimeError(f"no free ticket reference for {prefix} after {MAX_ATTEMPTS} attempts")


def _check_type(type: str, subtype: str) -> None:
    if type not in TICKET_TYPES:
        raise ValueError(f"unknown ticket type {type!r}; known: {', '.join(TICKET_TYPES)}")
    if type == "appointment" and subtype and subtype not in APPOINTMENT_KINDS:
        raise ValueError(f"unknown appointment kind {subtype!r}; "
                         f"known: {', '.join(APPOINTMENT_KINDS)}")


async def _serialize_writers_on_sqlite(session: AsyncSession) -> None:
    # SQLite has one writer at a time. Reading the day's last reference before holding the
    # write lock would leave us on a stale snapshot ("database is locked" at the insert,
    # with no retry possible); a write that changes nothing takes the lock first (others
    # wait out the busy timeout), so the last reference read below is the newest. A
    # transaction that has written already holds it (the bridge's writer says so).
    if session.get_bind().dialect.name == "sqlite" and not session.info.get(HOLDS_WRITE_LOCK):
        await session.execute(text("UPDATE tickets SET id = id WHERE 0 = 1"))


# Longest first: after 9999 the sequence grows a digit, and "…10000" < "…9999" as text.
# The day's references as a range of the unique index, not LIKE 'prefix%' (which neither
# SQLite nor PostgreSQL answers from it: every ticket ever was scanned at each new one).
# Digits sort alike in every collation, and the day's references all lie between its
# prefix and the next day's. Built once: building it cost more CPU than running it.
_LAST_OF_DAY = (select(Ticket.reference)
                .where(Ticket.reference >= bindparam("day", type_=String()),
                       Ticket.reference < bindparam("next_day", type_=String()))
                .order_by(func.length(Ticket.reference).desc(), Ticket.reference.desc())
                .limit(1))


async def _next_reference(session: AsyncSession, prefix: str) -> str:
    last = (await session.execute(_LAST_OF_DAY, {"day": prefix, "next_day": _after(prefix)})
            ).scalar_one_or_none()
    sequence = int(last[len(prefix):]) + 1 if last else 1
    return f"{prefix}{sequence:0{SEQUENCE_DIGITS}d}"


def _after(prefix: str) -> str:
    """The prefix just past `prefix`'s references: "261231" -> "261232" (no such day; the
    bound only has to sort after every "261231…")."""
    return f"{int(prefix) + 1:0{len(prefix)}d}"


# One statement that either takes the reference or finds it taken: no SAVEPOINT to fall
# back to, nor the ORM's unit of work for a row written once. A voice message's ticket job,
# which a caller waits for, cost 4.3-4.7 ms of CPU that way and 3.5 this way, timed alone
# (bench/README.md, issue 12).
# Any other constraint (an unknown call id) still raises: retrying cannot help.
_TICKETS = cast(Table, Ticket.__table__)  # the table's, not the ORM's bulk insert
_INSERTS = {name: insert(_TICKETS).on_conflict_do_nothing(index_elements=[_TICKETS.c.reference])
            .returning(_TICKETS.c.id) for name, insert in (("sqlite", sqlite_insert),
                                                           ("postgresql", pg_insert))}


async def _try_insert(session: AsyncSession, values: dict[str, Any]) -> int | None:
    """The new ticket's id, or None when a concurrent creation took its reference first."""
    statement = _INSERTS[session.get_bind().dialect.name]
    found: int | None = (await session.execute(statement, values)).scalar_one_or_none()
    return found


async def tickets_for_call(session: AsyncSession, call_id: str) -> list[Ticket]:
    query = select(Ticket).where(Ticket.call_id == call_id).order_by(Ticket.id)
    return list((await session.execute(query)).scalars())


async def open_tickets_for_number(session: AsyncSession, number: str) -> list[Ticket]:
    """A caller's matters still open, newest first (the menu can tell them where they are).
    None for a withheld number: that is every anonymous caller's."""
    if not known_number(number):
        return []
    query = (select(Ticket).where(Ticket.caller_number == number, Ticket.status == OPEN)
             .order_by(Ticket.created_at.desc(), Ticket.id.desc()))
    return list((await session.execute(query)).scalars())


async def recent_tickets(session: AsyncSession, limit: int = 20) -> list[Ticket]:
    query = select(Ticket).order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(limit)
    return list((await session.execute(query)).scalars())


CALLBACK = "callback"


async def note_queued_at(session: AsyncSession, call_id: str, queued_at: datetime) -> int:
    """Give the call's callback tickets the time the caller first joined the queue (those
    that have none yet); the number of tickets changed."""
    query = select(Ticket).where(Ticket.call_id == call_id, Ticket.type == CALLBACK,
                                 Ticket.queued_at.is_(None))
    found = list((await session.execute(query)).scalars())
    for ticket in found:
        ticket.queued_at = queued_at
    return len(found)


# --- the lists' queries: the console narrows, sorts and pages them (agent_console.listing) --

def _open_first(query: Select[Ticket]) -> Select[Ticket]:
    return query.order_by((Ticket.status == OPEN).desc(), Ticket.due_at, Ticket.id.desc())


def handler_list(user_id: int) -> Select[Ticket]:
    """Matters forwarded to a handler (as assignee, or as their department's handler),
    open ones first, soonest due first."""
    departments = select(Department.id).where(Department.handler_id == user_id)
    return _open_first(select(Ticket).where(
        Ticket.forwarded_at.is_not(None),
        (Ticket.assignee_id == user_id) | Ticket.department_id.in_(departments)))


def departments_list(department_ids: Sequence[int]) -> Select[Ticket]:
    return _open_first(select(Ticket).where(Ticket.department_id.in_(list(department_ids))))


def forwarded_list() -> Select[Ticket]:
    """Every matter forwarded to a department (administrators)."""
    return _open_first(select(Ticket).where(Ticket.forwarded_at.is_not(None)))


def owner_list(owner_id: int) -> Select[Ticket]:
    """An agent's own matters, consultations to the duty judge left out (their own list)."""
    return _open_first(select(Ticket).where(Ticket.owner_id == owner_id,
                                            Ticket.subtype != JUDGE_SUBTYPE))


def case_number() -> ColumnElement[str]:
    """A matter's case number, as an expression of a SELECT of tickets: an appointment's
    own, else the one in the call log the matter was made from, else in a call log of the
    call that raised it ('' when none names one)."""
    def first(link: ColumnElement[bool]) -> ScalarSelect[str]:
        return (select(CallLog.case_number).where(link, CallLog.case_number != "")
                .order_by(CallLog.id).limit(1).correlate(Ticket).scalar_subquery())

    appointment = (select(Appointment.case_number)
                   .where(Appointment.ticket_id == Ticket.id, Appointment.case_number != "")
                   .correlate(Ticket).scalar_subquery())
    return func.coalesce(appointment, first(CallLog.ticket_id == Ticket.id),
                         first(CallLog.call_id == Ticket.call_id), "")


def callbacks_list() -> Select[Ticket]:
    """After-hours matters no agent has taken yet, in the callers' order: who joined the
    queue first is called back first; one without a queue time counts from its creation."""
    return (select(Ticket).where(Ticket.owner_id.is_(None), Ticket.status == OPEN,
                                 Ticket.subtype != JUDGE_SUBTYPE,
                                 # the discipline department answers these itself
                                 Ticket.confidential.is_(False))
            .order_by(func.coalesce(Ticket.queued_at, Ticket.created_at), Ticket.id))
