"""hotline.db.sms: finding a message by a gateway id, inbound SMS linked to the caller's
newest open ticket, and a reply that only one agent can make."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.db import sms as sms_db
from hotline.db.base import session_scope
from hotline.db.models import Ticket, User

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


async def test_find_by_provider_id_matches_whole_ids_only(
        sessions: async_sessionmaker[AsyncSession]) -> None:
    async with session_scope(sessions) as db:
        a = await sms_db.queue_sms(db, "13800138000", "甲")
        b = await sms_db.queue_sms(db, "13800138001", "乙")
        await sms_db.mark_sent(db, a, ["M1_0", "M1%2"], T0)
        await sms_db.mark_sent(db, b, ["M10"], T0)
    async with session_scope(sessions) as db:
        assert (await sms_db.find_by_provider_id(db, "M1%2")).id == a.id  # type: ignore[union-attr]
        assert (await sms_db.find_by_provider_id(db, "M10")).id == b.id  # type: ignore[union-attr]
        assert await sms_db.find_by_provider_id(db, "M1") is None
        assert await sms_db.find_by_provider_id(db, "M1_") is None
        assert await sms_db.find_by_provider_id(db, "") is None


@pytest.mark.parametrize("sender", ["13800138000", "+8613800138000", "8613800138000"])
async def test_inbound_links_the_newest_open_ticket(
        sessions: async_sessionmaker[AsyncSession], sender: str) -> None:
    async with session_scope(sessions) as db:
        old = Ticket(reference="2603020001", type="message", caller_number="13800138000",
                     created_at=T0)
        new = Ticket(reference="2603020002", type="message", caller_number="13800138000",
                     created_at=T0 + timedelta(hours=1))
        closed = Ticket(reference="2603020003", type="message", caller_number="13800138000",
                        status="closed", created_at=T0 + timedelta(hours=2))
        db.add_all([old, new, closed])
        await db.flush()
        message = await sms_db.record_inbound(db, sender, "12368", "请问进度", T0)
        stranger = await sms_db.record_inbound(db, "13900000000", "12368", "你好", T0)
    assert message.ticket_id == new.id and stranger.ticket_id is None
    assert (message.direction, message.status, message.from_number) == ("in", "received", sender)
    async with session_scope(sessions) as db:
        assert [m.id for m in await sms_db.inbox(db)] == [message.id, stranger.id]


async def test_only_one_reply_to_an_inbound_sms(
        sessions: async_sessionmaker[AsyncSession]) -> None:
    async with session_scope(sessions) as db:
        agent = User(username="a1", role="agent", password_hash="x")
        db.add(agent)
        await db.flush()
        inbound = await sms_db.record_inbound(db, "13800138000", "12368", "请回电", T0)
    async with session_scope(sessions) as db:
        answer = await sms_db.reply(db, inbound.id, "已收到，将尽快回复。", agent.id, T0)
    assert (answer.to_number, answer.status, answer.direction) == ("13800138000", "queued", "out")
    async with session_scope(sessions) as db:
        with pytest.raises(sms_db.SmsError) as refused:
            await sms_db.reply(db, inbound.id, "再答一次", agent.id, T0)
        assert refused.value.reason == "sms_already_replied"
        with pytest.raises(sms_db.SmsError, match="not_found"):
            await sms_db.reply(db, answer.id, "这是发出的短信", agent.id, T0)
        handled = await sms_db.inbox(db)
    assert handled == []
