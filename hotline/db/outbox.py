"""The matter events outbox (issue 19): each change of a matter that the court's systems
are told of is written as one row per configured endpoint, in the same flush, hence the
same transaction, as the change itself. Nothing is lost if a process dies after the commit,
and nothing is sent for a change that was rolled back; hotline.integrations delivers them.

The rows come from what every step already writes: a new Ticket is "created" (written by
hotline.db.tickets.create_ticket, the one place matters are made, or by any flush of a new
Ticket), and the TicketEvent kinds in EVENT_KINDS are the rest. So no caller of the core
has to remember it — a step that records its history is pushed.

    configure(("case-system",))  # which endpoints get rows; by default [integrations]
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import event, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, UOWTransaction

from hotline.db.models import Department, OutboxEvent, Ticket, TicketEvent
from hotline.timefmt import iso

# What the court's systems are told, from a TicketEvent's kind.
EVENT_KINDS = {
    "forwarded": "forwarded",
    "call_answered": "answered",       # a reply call the caller picked up
    "answered_system": "answered",     # an answer a court system recorded (inbound API)
    "escalated": "escalated",
    "closed": "closed",
    "closed_outside": "closed",        # answered outside the hotline, closed by a head
    "rated": "rated",
}
CREATED = "created"
# What of a TicketEvent's detail each kind passes on (no phone numbers, no user ids).
DETAIL_KEYS = {
    "forwarded": ("department", "due_at"),
    "answered": ("channel", "system", "reference"),
    "escalated": ("level",),
    "closed": ("proof", "reason"),
    "rated": ("score", "label", "channel"),
}

_endpoints: tuple[str, ...] | None = None


def configure(endpoints: Iterable[str]) -> None:
    """The endpoints this process writes rows for (the process's settings at start)."""
    global _endpoints
    _endpoints = tuple(endpoints)


def endpoints() -> tuple[str, ...]:
    if _endpoints is None:
        from hotline.endpoints import endpoint_names
        from hotline.settings import load_settings

        configure(endpoint_names(load_settings()))
    assert _endpoints is not None
    return _endpoints


def payload(ticket: Ticket, kind: str, at: str, event_id: str, department: str,
            detail: dict[str, Any]) -> dict[str, Any]:
    """The JSON body the endpoint receives (docs/integrations.md)."""
    return {
        "id": event_id,
        "type": f"matter.{kind}",
        "at": at,
        "matter": {
            "reference": ticket.reference,
            "type": ticket.type,
            "status": ticket.status,
            "source": (ticket.detail or {}).get("source", "hotline"),
            "department": department,
            "due_at": iso(ticket.due_at) if ticket.due_at else None,
            "escalation_level": ticket.escalation_level or 0,
            "closing": ticket.close_kind or ("proof" if ticket.status == "closed" else ""),
        },
        "detail": {key: detail[key] for key in DETAIL_KEYS.get(kind, ()) if key in detail},
    }


def _changes(session: Session) -> list[tuple[Ticket, str, Any, dict[str, Any]]]:
    """(ticket, kind, at, detail) of this flush, new matters first, then in history order."""
    created = sorted((o for o in session.new if isinstance(o, Ticket)), key=lambda t: t.id)
    steps = sorted((o for o in session.new
                    if isinstance(o, TicketEvent) and o.kind in EVENT_KINDS),
                   key=lambda e: e.id)
    found: list[tuple[Ticket, str, Any, dict[str, Any]]] = [
        (t, CREATED, t.created_at, {}) for t in created]
    for step in steps:
        ticket = session.get(Ticket, step.ticket_id)
        if ticket is not None:
            found.append((ticket, EVENT_KINDS[step.kind], step.at, dict(step.detail or {})))
    return found


def _record(session: Session, _flush: UOWTransaction) -> None:
    _write(session, _changes(session))


def _write(session: Session, changes: list[tuple[Ticket, str, Any, dict[str, Any]]]) -> None:
    names = endpoints()
    if not names:
        return
    rows = []
    for ticket, kind, at, detail in changes:
        department = (session.get(Department, ticket.department_id)
                      if ticket.department_id else None)
        event_id = str(uuid.uuid4())
        body = payload(ticket, kind, iso(at), event_id,
                       department.name if department else "", detail)
        rows += [{"endpoint": name, "event_id": event_id, "ticket_id": ticket.id,
                  "kind": kind, "at": at, "payload": body, "attempts": 0, "last_error": ""}
                 for name in names]
    if rows:
        session.connection().execute(insert(OutboxEvent), rows)


async def created(session: AsyncSession, ticket: Ticket) -> None:
    """The "created" rows of a matter inserted without the ORM's unit of work
    (hotline.db.tickets.create_ticket), which the flush hook below does not see."""
    if endpoints():
        await session.run_sync(lambda sync: _write(sync, [(ticket, CREATED,
                                                           ticket.created_at, {})]))


event.listen(Session, "after_flush", _record)
