"""hotline.db.sms on SQLite and PostgreSQL: the outbox."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.db import calls, sms, tickets
from hotline.db.base import session_scope
from hotline.db.models import SmsMessage

Sessions = async_sessionmaker[AsyncSession]
CALL = "1795747054.0"


async def test_queue_sms_waits_in_the_outbox(sessions: Sessions) -> None:
    async with session_scope(sessions) as session:
        await calls.ensure_call(session, CALL)
        ticket = await tickets.create_ticket(session, "suggestion", "13812345678", CALL)
        message = await sms.queue_sms(session, "13812345678", "您的留言已收到。", call_id=CALL,
                                      ticket_id=ticket.id)
        assert message.id is not None

    async with session_scope(sessions) as session:
        stored = await session.get(SmsMessage, message.id)
    assert stored is not None
    assert (stored.to_number, stored.text, stored.status, stored.call_id, stored.ticket_id) == (
        "13812345678", "您的留言已收到。", "queued", CALL, ticket.id)
    assert stored.created_at.tzinfo is not None


async def test_outbox_lists_queued_oldest_first_within_the_limit(sessions: Sessions) -> None:
    async with session_scope(sessions) as session:
        for n in range(4):
            await sms.queue_sms(session, f"1381234567{n}", f"第{n}条")
    async with session_scope(sessions) as session:
        first = (await sms.outbox(session))[0]
        first.status = "sent"  # what a driver does once the carrier took it

    async with session_scope(sessions) as session:
        waiting = await sms.outbox(session)
        two = await sms.outbox(session, limit=2)
    assert [m.text for m in waiting] == ["第1条", "第2条", "第3条"]
    assert [m.text for m in two] == ["第1条", "第2条"]


@pytest.mark.parametrize(("number", "text"), [("", "text"), ("13812345678", "")])
async def test_queue_sms_refuses_empty_number_or_text(sessions: Sessions, number: str,
                                                      text: str) -> None:
    async with session_scope(sessions) as session:
        with pytest.raises(ValueError, match="SMS needs"):
            await sms.queue_sms(session, number, text)
