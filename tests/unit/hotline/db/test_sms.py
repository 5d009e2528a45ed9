"""hotline.db.sms on SQLite and PostgreSQL: the outbox."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.db import calls, sms, tickets
from hotline.db.base import session_scope
from hotline.db.models import SmsMessage
from hotline.phonenumbers import PhoneNumberError

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


async def test_only_a_mobile_takes_an_sms_kept_in_its_11_digits(sessions: Sessions) -> None:
    async with session_scope(sessions) as session:
        typed = await sms.queue_sms(session, "+86 138-1234-5678", "您的留言已收到。")
        assert typed.to_number == "13812345678"
        for wrong, why in [("0379-65110002", "固定电话"), ("138123456789", "11位"),
                           ("95105", "服务号码")]:
            with pytest.raises(PhoneNumberError, match=why):
                await sms.queue_sms(session, wrong, "您的留言已收到。")
    async with session_scope(sessions) as session:
        assert [m.to_number for m in await sms.outbox(session)] == ["13812345678"]


async def test_an_sms_from_a_service_number_is_not_answered(sessions: Sessions) -> None:
    async with session_scope(sessions) as session:
        inbound = SmsMessage(direction=sms.IN, from_number="10086", to_number="12368",
                             text="您的话费余额不足", status=sms.RECEIVED)
        session.add(inbound)
        await session.flush()
        with pytest.raises(sms.SmsError, match="sms_not_mobile"):
            await sms.reply(session, inbound.id, "收到", 1, inbound.created_at)
    async with session_scope(sessions) as session:
        kept = await session.get(SmsMessage, inbound.id)
        assert kept is not None and kept.status == sms.RECEIVED  # still waiting, not taken
        assert await sms.outbox(session) == []
