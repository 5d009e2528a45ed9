"""Data access for SMS, out and in.

Outgoing messages wait here as "queued" until the sender job (hotline.sms.sender) claims
one ("sending", in its own transaction, so two runs never both send it), hands it to the
driver, and records the outcome: "sent" with the gateway's ids, or back to "queued" with
the error and the time of the next try; "failed" after the last try. A receipt makes a
sent message "delivered" (or "undeliverable"). Incoming messages are "received" until an
agent replies ("replied").
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, String, cast, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.db.models import SmsMessage, SmsProviderEvent, Ticket
from hotline.db.tickets import OPEN
from hotline.phonenumbers import is_mobile, mobile_number
from hotline.sms.templates import REPLY

QUEUED = "queued"
SENDING = "sending"
SENT = "sent"
DELIVERED = "delivered"
FAILED = "failed"
UNDELIVERABLE = "undeliverable"
RECEIVED = "received"
REPLIED = "replied"
OUT, IN = "out", "in"
# What the console's outbox page lists: not (yet) out of our hands.
WAITING = (QUEUED, SENDING, FAILED)
TEXT_LIMIT = 1000
INTERRUPTED = "interrupted while sending; it may have gone out, and is sent again"


class SmsError(ValueError):
    """A refused change; reason is a key of the console's messages."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def queue_sms(session: AsyncSession, to_number: str, text: str,
                    call_id: str | None = None, ticket_id: int | None = None,
                    kind: str = "", params: dict[str, str] | None = None) -> SmsMessage:
    """Queue one SMS. Only a mobile takes one: anything else raises PhoneNumberError (a
    ValueError saying why, in Chinese) instead of waiting in the outbox to fail. kind and
    params: a text to a caller made from a template (hotline.caller_sms)."""
    if not to_number or not text:
        raise ValueError("an SMS needs a number to go to and some text")
    to_number = mobile_number(to_number)
    message = SmsMessage(to_number=to_number, text=text, status=QUEUED, call_id=call_id,
                         ticket_id=ticket_id, kind=kind, params=dict(params or {}))
    session.add(message)
    await session.flush()
    return message


async def outbox(session: AsyncSession, limit: int = 100) -> list[SmsMessage]:
    """Queued messages, oldest first: the order a driver should send them in."""
    query = (select(SmsMessage).where(SmsMessage.status == QUEUED)
             .order_by(SmsMessage.created_at, SmsMessage.id).limit(limit))
    return list((await session.execute(query)).scalars())


# --- sending ----------------------------------------------------------------------------

def _due(now: datetime) -> ColumnElement[bool]:
    return or_(SmsMessage.next_attempt_at.is_(None), SmsMessage.next_attempt_at <= now)


async def due_ids(session: AsyncSession, now: datetime, limit: int = 50) -> list[int]:
    """Queued outgoing messages whose next try is due, oldest first."""
    query = (select(SmsMessage.id)
             .where(SmsMessage.status == QUEUED, SmsMessage.direction == OUT, _due(now))
             .order_by(SmsMessage.created_at, SmsMessage.id).limit(limit))
    return list((await session.execute(query)).scalars())


async def claim(session: AsyncSession, message_id: int, now: datetime,
                lease: timedelta) -> SmsMessage | None:
    """Take a due message for sending: status "sending", one more attempt, and a lease
    (next_attempt_at) after which an interrupted send is given back. None when another
    run took it first. Commit before sending."""
    taken = await session.execute(
        update(SmsMessage)
        .where(SmsMessage.id == message_id, SmsMessage.status == QUEUED, _due(now))
        .values(status=SENDING, attempts=SmsMessage.attempts + 1, next_attempt_at=now + lease)
        .execution_options(synchronize_session=False))
    if getattr(taken, "rowcount", 0) != 1:
        return None
    return await session.get(SmsMessage, message_id, populate_existing=True)


async def release_interrupted(session: AsyncSession, now: datetime) -> int:
    """Give back messages whose sender died mid-send (lease over): never lost, though one
    may go out twice."""
    stale = (SmsMessage.status == SENDING, SmsMessage.next_attempt_at <= now)
    # Read first: on SQLite even an UPDATE of no rows takes the write lock, every pass.
    if (await session.execute(select(SmsMessage.id).where(*stale).limit(1))).first() is None:
        return 0
    result = await session.execute(
        update(SmsMessage).where(*stale)
        .values(status=QUEUED, next_attempt_at=now, last_error=INTERRUPTED)
        .execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)


async def mark_sent(session: AsyncSession, message: SmsMessage, provider_ids: list[str],
                    now: datetime) -> None:
    message.status, message.provider_ids, message.sent_at = SENT, provider_ids, now
    message.next_attempt_at, message.last_error = None, ""


async def mark_retry(session: AsyncSession, message: SmsMessage, error: str,
                     next_attempt_at: datetime) -> None:
    message.status, message.last_error = QUEUED, error[:1000]
    message.next_attempt_at = next_attempt_at


async def mark_failed(session: AsyncSession, message: SmsMessage, error: str) -> None:
    message.status, message.last_error, message.next_attempt_at = FAILED, error[:1000], None


async def requeue(session: AsyncSession, message_id: int, now: datetime) -> SmsMessage:
    """Try a failed message again from the start (an agent or admin asks for it)."""
    message = await session.get(SmsMessage, message_id)
    if message is None or message.direction != OUT:
        raise SmsError("not_found")
    if message.status != FAILED:
        raise SmsError("sms_not_failed")
    message.status, message.attempts, message.next_attempt_at = QUEUED, 0, now
    return message


# --- receipts ---------------------------------------------------------------------------

async def find_by_provider_id(session: AsyncSession, provider_id: str) -> SmsMessage | None:
    """The sent message one of whose parts the gateway calls provider_id."""
    if not provider_id:
        return None
    # provider_ids is a JSON list on every backend; its text holds the id in quotes.
    pattern = "%" + _like_escape(f'"{provider_id}"') + "%"
    query = (select(SmsMessage)
             .where(SmsMessage.direction == OUT,
                    SmsMessage.status.in_((SENT, DELIVERED, UNDELIVERABLE, SENDING)),
                    cast(SmsMessage.provider_ids, String).like(pattern, escape="\\"))
             .order_by(SmsMessage.id.desc()))
    for message in (await session.execute(query)).scalars():
        if provider_id in message.provider_ids:
            return message
    return None


def _like_escape(value: str) -> str:
    return re.sub(r"([\\%_])", r"\\\1", value)


# --- what an HTTP provider reported (issue 19) ------------------------------------------

async def keep_event(session: AsyncSession, key: str, kind: str, payload: dict[str, Any],
                     now: datetime, done: bool = False) -> bool:
    """Keep a provider's receipt or inbound SMS under its key; False when that key was
    kept before (a repeated push or poll), which is then to be ignored. done: stored by
    the caller in this same transaction (a poll), else it waits for the sender (a push)."""
    if (await session.execute(select(SmsProviderEvent.id)
                              .where(SmsProviderEvent.key == key))).first() is not None:
        return False
    try:
        async with session.begin_nested():
            session.add(SmsProviderEvent(key=key, kind=kind, payload=payload, received_at=now,
                                         done_at=now if done else None))
    except IntegrityError:  # the same key, kept by another request a moment ago
        return False
    return True


async def waiting_event_ids(session: AsyncSession, limit: int = 50) -> list[int]:
    """Pushed events the sender has not stored yet, oldest first."""
    query = (select(SmsProviderEvent.id).where(SmsProviderEvent.done_at.is_(None))
             .order_by(SmsProviderEvent.id).limit(limit))
    return list((await session.execute(query)).scalars())


async def take_event(session: AsyncSession, event_id: int,
                     now: datetime) -> SmsProviderEvent | None:
    """Mark a pushed event stored; None if another pass took it. The caller stores it in
    the same transaction, so both happen or neither."""
    taken = await session.execute(
        update(SmsProviderEvent)
        .where(SmsProviderEvent.id == event_id, SmsProviderEvent.done_at.is_(None))
        .values(done_at=now).execution_options(synchronize_session=False))
    if getattr(taken, "rowcount", 0) != 1:
        return None
    return await session.get(SmsProviderEvent, event_id, populate_existing=True)


# --- inbound ----------------------------------------------------------------------------

def number_variants(number: str) -> list[str]:
    """The ways one mobile number is written: 13800138000, +8613800138000, 8613800138000."""
    digits = re.sub(r"\D", "", number)
    national = digits
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) - len(prefix) == 11:
            national = digits[len(prefix):]
    return sorted({number, digits, national, "+86" + national, "86" + national} - {""})


async def newest_open_ticket(session: AsyncSession, number: str) -> Ticket | None:
    query = (select(Ticket)
             .where(Ticket.caller_number.in_(number_variants(number)),
                    Ticket.status == OPEN,
                    # the SMS inbox is the agents': it never points at a complaint
                    # about staff (hotline.confidential)
                    Ticket.confidential.is_(False))
             .order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(1))
    return (await session.execute(query)).scalar_one_or_none()


async def record_inbound(session: AsyncSession, from_number: str, to_number: str, text: str,
                         at: datetime) -> SmsMessage:
    """Store an SMS a caller sent, linked to their newest open ticket if they have one."""
    ticket = await newest_open_ticket(session, from_number)
    message = SmsMessage(direction=IN, status=RECEIVED, from_number=from_number,
                         to_number=to_number, text=text, created_at=at,
                         ticket_id=ticket.id if ticket else None)
    session.add(message)
    await session.flush()
    return message


def inbox_query() -> Select[SmsMessage]:
    """SMS from callers still needing a reply (Art. 8), oldest first: first come, first
    answered."""
    return (select(SmsMessage).where(SmsMessage.direction == IN, SmsMessage.status == RECEIVED)
            .order_by(SmsMessage.created_at, SmsMessage.id))


async def inbox(session: AsyncSession, limit: int = 200) -> list[SmsMessage]:
    return list((await session.execute(inbox_query().limit(limit))).scalars())


def waiting_query() -> Select[SmsMessage]:
    """Outgoing messages not yet out of our hands: queued, being sent, or given up."""
    return (select(SmsMessage).where(SmsMessage.direction == OUT,
                                     SmsMessage.status.in_(WAITING))
            .order_by(SmsMessage.created_at, SmsMessage.id))


async def waiting(session: AsyncSession, limit: int = 200) -> list[SmsMessage]:
    return list((await session.execute(waiting_query().limit(limit))).scalars())


async def reply(session: AsyncSession, inbound_id: int, text: str, user_id: int,
                now: datetime) -> SmsMessage:
    """Queue the answer to an inbound SMS and mark that SMS handled by this agent. Two
    agents answering at once: the first wins, the second is told it was answered."""
    inbound = await session.get(SmsMessage, inbound_id)
    if inbound is None or inbound.direction != IN:
        raise SmsError("not_found")
    if not is_mobile(inbound.from_number):  # a service number or a gateway's sender id
        raise SmsError("sms_not_mobile")
    taken = await session.execute(
        update(SmsMessage).where(SmsMessage.id == inbound_id, SmsMessage.status == RECEIVED)
        .values(status=REPLIED, handled_by=user_id, handled_at=now)
        .execution_options(synchronize_session=False))
    if getattr(taken, "rowcount", 0) != 1:
        raise SmsError("sms_already_replied")
    await session.refresh(inbound)
    # "reply": a staff member's own words, which a template-only provider may refuse
    # (hotline.sms.templates; the console says so before it gets here).
    return await queue_sms(session, inbound.from_number, text, ticket_id=inbound.ticket_id,
                           kind=REPLY, params={"text": text})
