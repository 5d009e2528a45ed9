"""Complaints about the court's staff (投诉举报 about staff, Art. 5(4); issue 15): who may
see them. The rule is written once here; every list, search, count, drill-down, export,
recording and screen pop asks it.

A confidential matter (Ticket.confidential) goes to the discipline department the court
names (`[court] discipline_department`, 纪检监察) and may be forwarded nowhere else. It,
the call log it came from (CallLog.confidential), the calls it was raised on or answered
by, their recordings and its SMS are seen only by

- administrators, and
- the people of the department it is forwarded to — its handler, its head and its
  supervising court leader (the ones Art. 5(6) asks to answer it and pushes when it is
  overdue) — unless the complaint names that very department (accused_department_id):
  then by administrators alone.

Nobody else sees them, whatever their role: not the agent who took the call once it is
filed, not the department or the member of staff complained about, not their head, not
another court leader. Other leaders read every log and every figure; for these the
regulation's chain is the discipline department's own (Art. 5(6)), so a leader sees them
only as that department's supervising leader. Counts in the reports' headline figures
stay whole (a number names nobody); the drill-downs behind them list only what the
reader may see.

    seen = await clearance(session, user_id, role)
    query = select(Ticket).where(ticket_seen(seen))          # lists, searches, counts
    query = select(Call).where(call_seen(seen, Call.id))      # calls and recordings
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.db.departments import department_named
from hotline.db.models import CallLog, Department, SmsMessage, Ticket
from hotline.roles import ADMIN


@dataclass(frozen=True)
class Clearance:
    """What the rule needs to know of a member of staff: administrator or not, and the
    departments they serve in (handler, head or leader)."""

    user_id: int
    admin: bool = False
    departments: tuple[int, ...] = ()


# Who a screen pop or a seat's history speaks to: an agent, never cleared.
NOBODY = Clearance(0)


async def clearance(session: AsyncSession, user_id: int, role: str) -> Clearance:
    if role == ADMIN:
        return Clearance(user_id, admin=True)
    query = select(Department.id).where(or_(Department.handler_id == user_id,
                                            Department.head_id == user_id,
                                            Department.leader_id == user_id))
    ids = tuple(sorted((await session.execute(query)).scalars()))
    return Clearance(user_id, departments=ids)


def may_see(seen: Clearance, ticket: Ticket) -> bool:
    """Whether seen may see this matter at all (every matter that is not confidential)."""
    if not ticket.confidential or seen.admin:
        return True
    return (ticket.department_id is not None and ticket.department_id in seen.departments
            and ticket.accused_department_id != ticket.department_id)


def ticket_seen(seen: Clearance) -> ColumnElement[bool]:
    """The matters seen may see, as a condition on a SELECT of tickets."""
    if seen.admin:
        return true()
    return or_(Ticket.confidential.is_(False), and_(
        Ticket.department_id.in_(seen.departments),
        func.coalesce(Ticket.accused_department_id, 0) != Ticket.department_id))


def _hidden_tickets(seen: Clearance) -> ColumnElement[bool]:
    return and_(Ticket.confidential.is_(True), ~ticket_seen(seen))


def call_seen(seen: Clearance, call_id: ColumnElement[str] | object) -> ColumnElement[bool]:
    """The calls seen may see, as a condition on any column holding a call id: a call is
    hidden when a confidential matter seen may not see was raised on it or answered by it.
    A NULL call id (a log or SMS of no call) is seen."""
    if seen.admin:
        return true()
    raised = select(Ticket.call_id).where(_hidden_tickets(seen), Ticket.call_id.is_not(None))
    answered = (select(Ticket.answer_call_id)
                .where(_hidden_tickets(seen), Ticket.answer_call_id.is_not(None)))
    column: ColumnElement[str] = call_id  # type: ignore[assignment]
    return or_(column.is_(None), and_(column.not_in(raised), column.not_in(answered)))


def log_seen(seen: Clearance) -> ColumnElement[bool]:
    """The call logs seen may see: a confidential log goes with its matter."""
    if seen.admin:
        return true()
    visible = select(Ticket.id).where(Ticket.confidential.is_(True), ticket_seen(seen))
    return and_(or_(CallLog.confidential.is_(False), CallLog.ticket_id.in_(visible)),
                call_seen(seen, CallLog.call_id))


def sms_seen(seen: Clearance) -> ColumnElement[bool]:
    """The SMS seen may see: not one of a hidden matter, nor of a hidden call."""
    if seen.admin:
        return true()
    hidden = select(Ticket.id).where(_hidden_tickets(seen))
    return and_(or_(SmsMessage.ticket_id.is_(None), SmsMessage.ticket_id.not_in(hidden)),
                call_seen(seen, SmsMessage.call_id))


async def may_see_call(session: AsyncSession, seen: Clearance, call_id: str) -> bool:
    """Whether no confidential matter hides this call from seen."""
    if seen.admin:
        return True
    query = select(Ticket).where(Ticket.confidential.is_(True),
                                 or_(Ticket.call_id == call_id,
                                     Ticket.answer_call_id == call_id))
    return all(may_see(seen, t) for t in (await session.execute(query)).scalars())


async def may_see_log(session: AsyncSession, seen: Clearance, log: CallLog) -> bool:
    if seen.admin:
        return True
    if log.confidential:
        ticket = await session.get(Ticket, log.ticket_id) if log.ticket_id else None
        if ticket is None or not may_see(seen, ticket):
            return False
    return log.call_id is None or await may_see_call(session, seen, log.call_id)


async def discipline_department(session: AsyncSession, name: str,
                                court_id: int | None = None) -> Department | None:
    """The department a court names for complaints about its staff, if it exists: the
    matter's court's of that name, else the centre's (departments.department_named)."""
    return await department_named(session, name, court_id)


@dataclass(frozen=True)
class Hidden:
    """What one reader may not see, by id: for lists counted in Python (the reports'
    drill-downs), where a condition in SQL cannot reach."""

    calls: frozenset[str] = frozenset()
    tickets: frozenset[int] = frozenset()


async def hidden_from(session: AsyncSession, seen: Clearance) -> Hidden:
    if seen.admin:
        return Hidden()
    query = (select(Ticket.id, Ticket.call_id, Ticket.answer_call_id)
             .where(_hidden_tickets(seen)))
    rows = (await session.execute(query)).all()
    calls = {c for _, raised, answered in rows for c in (raised, answered) if c}
    return Hidden(frozenset(calls), frozenset(t for t, _, _ in rows))
