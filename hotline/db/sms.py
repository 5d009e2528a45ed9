"""Data access for the SMS outbox. Messages wait here as "queued" until a driver (the SMS
issue) sends them and moves them on."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.db.models import SmsMessage

QUEUED = "queued"


async def queue_sms(session: AsyncSession, to_number: str, text: str,
                    call_id: str | None = None, ticket_id: int | None = None) -> SmsMessage:
    if not to_number or not text:
        raise ValueError("an SMS needs a number to go to and some text")
    message = SmsMessage(to_number=to_number, text=text, status=QUEUED, call_id=call_id,
                         ticket_id=ticket_id)
    session.add(message)
    await session.flush()
    return message


async def outbox(session: AsyncSession, limit: int = 100) -> list[SmsMessage]:
    """Queued messages, oldest first: the order a driver should send them in."""
    query = (select(SmsMessage).where(SmsMessage.status == QUEUED)
             .order_by(SmsMessage.created_at, SmsMessage.id).limit(limit))
    return list((await session.execute(query)).scalars())
