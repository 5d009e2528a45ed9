"""hotline.notify: a notice in the console always; an SMS only to a user with a mobile."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.db.base import session_scope
from hotline.db.models import Notice, SmsMessage, User
from hotline.notify import notify


async def test_notice_always_sms_only_with_a_mobile(
        sessions: async_sessionmaker[AsyncSession]) -> None:
    async with session_scope(sessions) as session:
        head = User(username="head", role="dept_head", password_hash="x", mobile="13900000001")
        nobody = User(username="quiet", role="dept_head", password_hash="x")
        session.add_all([head, nobody])
        await session.flush()
        with_sms = await notify(session, head, "escalated", "工单 2611270001 已超期，请督办。")
        without = await notify(session, nobody, "escalated", "工单 2611270001 已超期，请督办。")

    async with session_scope(sessions) as session:
        notices = list((await session.execute(select(Notice).order_by(Notice.id))).scalars())
        [sms] = list((await session.execute(select(SmsMessage))).scalars())
    assert [n.id for n in notices] == [with_sms.notice_id, without.notice_id]
    assert without.sms_id is None
    assert sms.id == with_sms.sms_id and sms.to_number == "13900000001"
    assert sms.user_id == notices[0].user_id and sms.status == "queued"


async def test_a_mobile_stored_before_the_check_gets_the_notice_without_an_sms(
        sessions: async_sessionmaker[AsyncSession]) -> None:
    async with session_scope(sessions) as session:
        old = User(username="old", role="dept_head", password_hash="x", mobile="1390000000")
        session.add(old)
        await session.flush()
        sent = await notify(session, old, "escalated", "工单 2611270001 已超期，请督办。")

    async with session_scope(sessions) as session:
        assert await session.get(Notice, sent.notice_id) is not None
        assert sent.sms_id is None
        assert list((await session.execute(select(SmsMessage))).scalars()) == []
