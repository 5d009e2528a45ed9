"""Consultation tickets (Art. 5(2), 7): a question an agent sends to the duty judge when the
call cannot wait. They are tickets of type "consultation", subtype "duty_judge": owned by
the agent (Art. 6), assigned to the judge on duty that day, answered in detail["answer"]."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.db.base import utcnow
from hotline.db.models import CENTRE_COURT_ID, Ticket
from hotline.db.tickets import JUDGE_SUBTYPE, OPEN, create_ticket
from hotline.timefmt import iso

TYPE, SUBTYPE = "consultation", JUDGE_SUBTYPE
ANSWERED = "answered"
LIST_LIMIT = 200


class ConsultationError(ValueError):
    """reason: "not_found" (no such consultation for this judge) or "answered" (already)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def send_consultation(session: AsyncSession, question: str, owner_id: int, judge_id: int,
                            caller_number: str = "", call_id: str | None = None,
                            now: datetime | None = None, court_id: int | None = None
                            ) -> Ticket:
    """court_id: the court the call log names (issue 17); the centre's when None."""
    return await create_ticket(session, TYPE, caller_number, call_id, text=question,
                               subtype=SUBTYPE, now=now, owner_id=owner_id,
                               assignee_id=judge_id, court_id=court_id or CENTRE_COURT_ID)


async def consultations_of_owner(session: AsyncSession, owner_id: int) -> list[Ticket]:
    """The questions an agent sent, newest first, answered or not."""
    return await _list(session, Ticket.owner_id == owner_id)


async def consultations_for_judge(session: AsyncSession, judge_id: int,
                                  open_only: bool = False) -> list[Ticket]:
    """The questions assigned to a judge, newest first."""
    tickets = await _list(session, Ticket.assignee_id == judge_id)
    return [t for t in tickets if t.status == OPEN] if open_only else tickets


async def answer_consultation(session: AsyncSession, ticket_id: int, judge_id: int,
                              answer: str, now: datetime | None = None) -> Ticket:
    ticket = await session.get(Ticket, ticket_id)
    if (ticket is None or ticket.type != TYPE or ticket.subtype != SUBTYPE
            or ticket.assignee_id != judge_id):
        raise ConsultationError("not_found")
    if ticket.status != OPEN:
        raise ConsultationError("answered")
    answered_at = iso(now or utcnow())
    # A new dict: the JSON column notices reassignment, not changes inside it.
    ticket.detail = {**ticket.detail, "answer": answer, "answered_at": answered_at}
    ticket.status = ANSWERED
    await session.flush()
    return ticket


async def _list(session: AsyncSession, *where: ColumnElement[bool]) -> list[Ticket]:
    query = (select(Ticket).where(Ticket.type == TYPE, Ticket.subtype == SUBTYPE, *where)
             .order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(LIST_LIMIT))
    return list((await session.scalars(query)).all())


def list_query(owner_id: int | None = None, judge_id: int | None = None,
               status: str | None = None) -> Select[Ticket]:
    """Consultations, newest first: those an agent sent (owner_id), those assigned to a
    judge (judge_id), in one status; the console narrows and pages it."""
    query = (select(Ticket).where(Ticket.type == TYPE, Ticket.subtype == SUBTYPE)
             .order_by(Ticket.created_at.desc(), Ticket.id.desc()))
    if owner_id is not None:
        query = query.where(Ticket.owner_id == owner_id)
    if judge_id is not None:
        query = query.where(Ticket.assignee_id == judge_id)
    if status is not None:
        query = query.where(Ticket.status == status)
    return query
