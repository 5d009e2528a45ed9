"""The sender pass on a real database, sending to a real local HTTP provider: claim before
send, backoff, giving up with an alert, a down gateway that loses nothing, hooks."""

from __future__ import annotations

import asyncio
import socket
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.db import sms as sms_db
from hotline.db.base import session_scope
from hotline.db.models import Alert, SmsMessage
from hotline.settings import SmsSettings
from hotline.sms import register_delivery_hook, unregister_delivery_hook
from hotline.sms.http_api import HttpDriver
from hotline.sms.outbox import OutboxDriver
from hotline.sms.sender import PassReport, Sender, backoff
from tests.unit.hotline.sms.provider import provider

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def _settings(url: str, **values: object) -> SmsSettings:
    base: dict[str, object] = {
        "driver": "http", "http_url": url, "http_body": '{"to": "{to}", "text": "{text}"}',
        "http_success": r'"code"\s*:\s*0', "http_id_path": "data.messageId",
        "backoff_seconds": 10.0, "backoff_max_seconds": 60.0, "max_attempts": 3,
        "http_timeout": 2.0}
    base.update(values)
    return SmsSettings(**base)  # type: ignore[arg-type]


async def _queue(sessions: async_sessionmaker[AsyncSession], *texts: str) -> list[int]:
    async with session_scope(sessions) as db:
        return [(await sms_db.queue_sms(db, "13800138000", text)).id for text in texts]


async def _get(sessions: async_sessionmaker[AsyncSession], message_id: int) -> SmsMessage:
    async with session_scope(sessions) as db:
        message = await db.get(SmsMessage, message_id)
        assert message is not None
        return message


def test_backoff_doubles_up_to_the_cap() -> None:
    s = SmsSettings(backoff_seconds=30, backoff_max_seconds=1800)
    assert [backoff(s, n) / timedelta(seconds=1) for n in range(1, 9)] == [
        30, 60, 120, 240, 480, 960, 1800, 1800]
    assert backoff(s, 10_000) == timedelta(seconds=1800)


async def test_sends_what_is_due_and_records_the_ids(
        sessions: async_sessionmaker[AsyncSession]) -> None:
    first, second = await _queue(sessions, "第一条", "第二条")
    with provider() as p:
        report = await Sender(_settings(p.url), HttpDriver(_settings(p.url)), sessions,
                              Clock()).run_once()
        again = await Sender(_settings(p.url), HttpDriver(_settings(p.url)), sessions,
                             Clock()).run_once()
    assert report.sent == 2 and again.summary() is None
    assert len(p.requests) == 2  # nothing sent twice
    sent = await _get(sessions, first)
    assert (sent.status, sent.provider_ids, sent.attempts, sent.sent_at) == ("sent", ["P1"], 1, T0)
    assert (await _get(sessions, second)).provider_ids == ["P2"]


async def test_a_refused_message_backs_off_then_fails_with_an_alert(
        sessions: async_sessionmaker[AsyncSession]) -> None:
    [message_id] = await _queue(sessions, "会被拒绝")
    clock = Clock()
    with provider() as p:
        p.answers.extend([(200, '{"code": 5, "msg": "签名错误"}')] * 3)
        sender = Sender(_settings(p.url), HttpDriver(_settings(p.url)), sessions, clock)
        await sender.run_once()
        waiting = await _get(sessions, message_id)
        assert (waiting.status, waiting.attempts) == ("queued", 1)
        assert waiting.next_attempt_at == T0 + timedelta(seconds=10)
        assert "签名错误" in waiting.last_error
        clock.now = T0 + timedelta(seconds=9)
        assert (await sender.run_once()).summary() is None  # not due yet
        clock.now = T0 + timedelta(seconds=10)
        await sender.run_once()
        assert (await _get(sessions, message_id)).next_attempt_at == clock.now + timedelta(
            seconds=20)
        clock.now += timedelta(seconds=20)
        report = await sender.run_once()
    assert report.failed == 1 and len(p.requests) == 3
    failed = await _get(sessions, message_id)
    assert (failed.status, failed.attempts, failed.next_attempt_at) == ("failed", 3, None)
    async with session_scope(sessions) as db:
        [alert] = (await db.execute(select(Alert))).scalars()
    assert (alert.kind, alert.key) == ("sms", f"failed:{message_id}")
    assert "138****8000" in alert.message and "13800138000" not in alert.message
    # An agent asks for it again: it goes out.
    async with session_scope(sessions) as db:
        await sms_db.requeue(db, message_id, clock.now)
    with provider() as p2:
        await Sender(_settings(p2.url), HttpDriver(_settings(p2.url)), sessions, clock).run_once()
    assert (await _get(sessions, message_id)).status == "sent"


def _dead_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/send"


async def test_gateway_down_loses_nothing_and_sends_when_back(
        sessions: async_sessionmaker[AsyncSession]) -> None:
    ids = await _queue(sessions, "一", "二", "三")
    clock = Clock()
    dead = _dead_url()
    sender = Sender(_settings(dead), HttpDriver(_settings(dead)), sessions, clock)
    for _ in range(5):  # more tries than max_attempts: a down gateway never fails a message
        report = await sender.run_once()
        assert report.gateway_error and report.sent == 0
        clock.now += timedelta(minutes=5)
    messages = [await _get(sessions, i) for i in ids]
    assert [m.status for m in messages] == ["queued"] * 3
    assert sum(m.attempts for m in messages) == 5 and all(m.last_error for m in messages
                                                          if m.attempts)
    async with session_scope(sessions) as db:
        [alert] = (await db.execute(select(Alert))).scalars()
    assert (alert.key, alert.resolved_at) == ("gateway", None)
    with provider() as p:
        sender.driver = HttpDriver(_settings(p.url))
        clock.now += timedelta(hours=1)
        report = await sender.run_once()
    assert report.sent == 3 and len(p.requests) == 3
    assert [(await _get(sessions, i)).status for i in ids] == ["sent"] * 3
    async with session_scope(sessions) as db:
        [alert] = (await db.execute(select(Alert))).scalars()
    assert alert.resolved_at == clock.now


async def test_two_passes_at_once_send_each_message_once(
        sessions: async_sessionmaker[AsyncSession]) -> None:
    await _queue(sessions, *[f"第{i}条" for i in range(6)])
    with provider() as p:
        senders = [Sender(_settings(p.url), HttpDriver(_settings(p.url)), sessions, Clock())
                   for _ in range(2)]
        reports: list[PassReport] = await asyncio.gather(*(s.run_once() for s in senders))
    assert sum(r.sent for r in reports) == 6
    assert len(p.requests) == 6
    async with session_scope(sessions) as db:
        rows = (await db.execute(select(SmsMessage))).scalars().all()
    assert {m.status for m in rows} == {"sent"} and {m.attempts for m in rows} == {1}


async def test_an_interrupted_send_is_given_back_after_its_lease(
        sessions: async_sessionmaker[AsyncSession]) -> None:
    [message_id] = await _queue(sessions, "发送中断")
    async with session_scope(sessions) as db:  # a pass claimed it, then died
        assert await sms_db.claim(db, message_id, T0, timedelta(minutes=5)) is not None
    async with session_scope(sessions) as db:
        assert await sms_db.claim(db, message_id, T0, timedelta(minutes=5)) is None
    clock = Clock()
    with provider() as p:
        sender = Sender(_settings(p.url), HttpDriver(_settings(p.url)), sessions, clock)
        assert (await sender.run_once()).sent == 0  # still within the lease
        clock.now = T0 + timedelta(minutes=5)
        report = await sender.run_once()
    assert (report.released, report.sent) == (1, 1)
    message = await _get(sessions, message_id)
    assert (message.status, message.attempts) == ("sent", 2)


async def test_outbox_driver_sends_nothing(sessions: async_sessionmaker[AsyncSession]) -> None:
    [message_id] = await _queue(sessions, "不会发出")
    report = await Sender(SmsSettings(), OutboxDriver(), sessions, Clock()).run_once()
    assert report.summary() is None
    message = await _get(sessions, message_id)
    assert (message.status, message.attempts, message.last_error) == ("queued", 0, "")
    async with session_scope(sessions) as db:
        assert (await db.execute(select(Alert))).first() is None


async def test_delivery_hooks_are_a_registry() -> None:
    calls: list[int] = []

    async def hook(_session: AsyncSession, message: SmsMessage) -> None:
        calls.append(message.id)

    register_delivery_hook(hook)
    register_delivery_hook(hook)
    try:
        from hotline.sms import on_delivered
        await on_delivered(None, SmsMessage(id=7))  # type: ignore[arg-type]
    finally:
        unregister_delivery_hook(hook)
    assert calls == [7]
