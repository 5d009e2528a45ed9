"""The smpp driver and the sender job against a real SMSC (tests/smsc, Node.js `smpp`):
long Chinese messages joined at the SMSC, receipts, inbound SMS into the inbox, and a
gateway that is down and comes back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline import progress
from hotline.db import sms as sms_db
from hotline.db.base import session_scope
from hotline.db.models import Alert, Notice, SmsMessage, Ticket, User
from hotline.settings import Settings, SmsSettings
from hotline.sms import (
    register_delivery_hook,
    register_inbound_hook,
    unregister_delivery_hook,
    unregister_inbound_hook,
)
from hotline.sms.encoding import parts_needed
from hotline.sms.sender import Sender
from hotline.sms.smpp_session import SmppDriver
from scheduler.jobs import Context
from scheduler.sms import SmsPass, sms_job
from tests.sms.conftest import PASSWORD, SYSTEM_ID, Smsc, free_port

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
LONG = ("洛阳市中级人民法院12368诉讼服务热线：您于3月2日反映的事项（编号2603020001）"
        "已由立案庭办理完毕。经核实，您的案件已于2026年3月1日立案，案号（2026）豫03民初"
        "1234号，承办法官将在五个工作日内与您联系。请保持电话畅通，按时参加庭前调解，并携带"
        "身份证件、起诉状副本和证据材料原件。如有疑问请再次拨打12368。😀谢谢！")


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def _settings(port: int, **values: object) -> SmsSettings:
    base: dict[str, object] = {
        "driver": "smpp", "smpp_host": "127.0.0.1", "smpp_port": port,
        "smpp_system_id": SYSTEM_ID, "smpp_password": PASSWORD, "smpp_timeout": 5.0,
        "backoff_seconds": 10.0, "backoff_max_seconds": 40.0, "max_attempts": 2}
    base.update(values)
    return SmsSettings(**base)  # type: ignore[arg-type]


@pytest.fixture
async def driver_for() -> AsyncIterator[Callable[[SmsSettings], SmppDriver]]:
    made: list[SmppDriver] = []

    def make(settings: SmsSettings) -> SmppDriver:
        made.append(SmppDriver(settings))
        return made[-1]

    yield make
    for driver in made:
        await driver.close()


async def _message(sessions: async_sessionmaker[AsyncSession], message_id: int) -> SmsMessage:
    async with session_scope(sessions) as db:
        message = await db.get(SmsMessage, message_id)
        assert message is not None
        return message


async def test_long_chinese_message_arrives_whole_and_the_receipt_marks_it_delivered(
        sessions: async_sessionmaker[AsyncSession], smsc: Smsc,
        driver_for: Callable[[SmsSettings], SmppDriver]) -> None:
    delivered: list[int] = []

    async def hook(_db: AsyncSession, message: SmsMessage) -> None:
        delivered.append(message.id)

    async with session_scope(sessions) as db:
        message_id = (await sms_db.queue_sms(db, "13800138000", LONG)).id
    settings = _settings(smsc.port)
    sender = Sender(settings, driver_for(settings), sessions, Clock())
    register_delivery_hook(hook)
    try:
        report = await sender.run_once()
        assert report.sent == 1
        got = smsc.wait_for("message")
        for _ in range(40):
            if (await sender.run_once()).delivered:
                break
            await asyncio.sleep(0.1)
    finally:
        unregister_delivery_hook(hook)
    assert parts_needed(LONG) == 3
    assert got["text"] == LONG and got["parts"] == 3 and got["data_coding"] == 8
    assert got["to"] == "13800138000" and got["from"] == "12368"
    message = await _message(sessions, message_id)
    assert message.provider_ids == got["ids"]
    assert (message.status, message.delivered_at) == ("delivered", T0)
    assert delivered == [message_id]
    # The receipt was acknowledged only after it was stored, and once.
    smsc.wait_for("receipt_acked", lambda e: e["id"] == got["ids"][-1])
    assert len(smsc.events("receipt_acked")) == 1


async def test_inbound_sms_lands_in_the_inbox_linked_to_the_open_ticket(
        sessions: async_sessionmaker[AsyncSession], smsc: Smsc,
        driver_for: Callable[[SmsSettings], SmppDriver]) -> None:
    async with session_scope(sessions) as db:
        agent = User(username="agent1", role="agent", password_hash="x")
        db.add(agent)
        await db.flush()
        ticket = Ticket(reference="2603020001", type="message", caller_number="13800138000",
                        owner_id=agent.id)
        db.add(ticket)
    settings = _settings(smsc.port)
    sender = Sender(settings, driver_for(settings), sessions, Clock())
    await sender.run_once()  # binds the session
    smsc.wait_for("bound")
    text = "您好，我上周留言反映的立案问题还没有人联系我，" * 4 + "请尽快回复。"
    smsc.send_inbound("+8613800138000", text, parts=2)
    smsc.wait_for("inbound_sent")
    for _ in range(40):
        if (await sender.run_once()).inbound:
            break
        await asyncio.sleep(0.1)
    async with session_scope(sessions) as db:
        [inbound] = await sms_db.inbox(db)
        [notice] = (await db.execute(select(Notice))).scalars()
    assert (inbound.text, inbound.from_number, inbound.ticket_id) == (
        text, "+8613800138000", ticket.id)
    assert notice.user_id == agent.id and "13800138000" not in notice.text
    acked = [smsc.wait_for("inbound_acked", lambda e, n=n: e["part"] == n) for n in (1, 2)]
    assert all(a["status"] == 0 for a in acked)


async def test_a_caller_texts_a_reference_and_gets_its_progress_back(
        sessions: async_sessionmaker[AsyncSession], smsc: Smsc,
        driver_for: Callable[[SmsSettings], SmppDriver]) -> None:
    """Issue 15: progress by reference, by SMS — no agent needs to answer it."""
    async with session_scope(sessions) as db:
        db.add(Ticket(reference="2603020007", type="suggestion", caller_number="13800138007",
                      created_at=T0))
    settings = _settings(smsc.port)
    sender = Sender(settings, driver_for(settings), sessions, Clock())
    register_inbound_hook(progress.take_sms_query)  # as the scheduler's sms job does
    try:
        await sender.run_once()  # binds the session
        smsc.wait_for("bound")
        smsc.send_inbound("+8613800138007", "进度 2603020007")
        smsc.wait_for("inbound_sent")
        for _ in range(40):
            await sender.run_once()
            if any(e["to"] == "13800138007" for e in smsc.events("message")):
                break
            await asyncio.sleep(0.1)
    finally:
        unregister_inbound_hook(progress.take_sms_query)
    got = smsc.wait_for("message", lambda e: e["to"] == "13800138007")
    assert got["text"].startswith("【") and "受理编号2603020007的事项已于3月2日受理" in got["text"]
    async with session_scope(sessions) as db:
        assert await sms_db.inbox(db) == []


async def test_gateway_down_messages_wait_and_go_out_when_it_returns(
        sessions: async_sessionmaker[AsyncSession],
        start_smsc: Callable[..., Smsc],
        driver_for: Callable[[SmsSettings], SmppDriver]) -> None:
    port = free_port()
    async with session_scope(sessions) as db:
        ids = [(await sms_db.queue_sms(db, "1380013800" + str(i), f"第{i}条通知")).id
               for i in range(3)]
    clock = Clock()
    settings = _settings(port)
    sender = Sender(settings, driver_for(settings), sessions, clock)
    for _ in range(4):  # twice max_attempts: down gateways never fail a message
        report = await sender.run_once()
        assert "cannot bind to the SMSC" in report.gateway_error and report.sent == 0
        clock.now += timedelta(minutes=1)
    waiting = [await _message(sessions, i) for i in ids]
    assert [m.status for m in waiting] == ["queued"] * 3
    assert sum(m.attempts for m in waiting) == 4
    assert all("cannot bind" in m.last_error for m in waiting if m.attempts)
    async with session_scope(sessions) as db:
        assert [m.id for m in await sms_db.waiting(db)] == ids
        [alert] = (await db.execute(select(Alert))).scalars()
    assert (alert.kind, alert.key, alert.resolved_at) == ("sms", "gateway", None)

    smsc = start_smsc(port=port)
    clock.now += timedelta(minutes=5)  # every backoff is over
    report = await sender.run_once()
    assert report.sent == 3, report
    texts = sorted(smsc.wait_for("message", lambda e, n=n: e["text"] == f"第{n}条通知")["text"]
                   for n in range(3))
    assert texts == ["第0条通知", "第1条通知", "第2条通知"]
    assert [(await _message(sessions, i)).status for i in ids] == ["sent"] * 3
    async with session_scope(sessions) as db:
        [alert] = (await db.execute(select(Alert))).scalars()
    assert alert.resolved_at == clock.now


async def test_an_undeliverable_receipt_is_alerted(
        sessions: async_sessionmaker[AsyncSession], start_smsc: Callable[..., Smsc],
        driver_for: Callable[[SmsSettings], SmppDriver]) -> None:
    smsc = start_smsc(receipt_stat="UNDELIV")
    async with session_scope(sessions) as db:
        message_id = (await sms_db.queue_sms(db, "13800138000", "空号测试")).id
    settings = _settings(smsc.port)
    sender = Sender(settings, driver_for(settings), sessions, Clock())
    for _ in range(40):
        if (await sender.run_once()).undeliverable:
            break
        await asyncio.sleep(0.1)
    message = await _message(sessions, message_id)
    assert (message.status, message.last_error) == ("undeliverable", "receipt: UNDELIV")
    async with session_scope(sessions) as db:
        [alert] = (await db.execute(select(Alert))).scalars()
    assert alert.key == f"undeliverable:{message_id}" and "UNDELIV" in alert.message


async def test_a_wrong_password_is_a_bind_failure(
        sessions: async_sessionmaker[AsyncSession], smsc: Smsc,
        driver_for: Callable[[SmsSettings], SmppDriver]) -> None:
    async with session_scope(sessions) as db:
        message_id = (await sms_db.queue_sms(db, "13800138000", "密码错误")).id
    settings = _settings(smsc.port, smpp_password="wrong")
    report = await Sender(settings, driver_for(settings), sessions, Clock()).run_once()
    assert "cannot bind" in report.gateway_error
    smsc.wait_for("bind_refused")
    assert (await _message(sessions, message_id)).status == "queued"


async def test_the_scheduler_job_keeps_one_session_across_runs(
        sessions: async_sessionmaker[AsyncSession], smsc: Smsc) -> None:
    settings = Settings(sms=_settings(smsc.port))
    job = sms_job(settings)
    ctx = Context(settings, sessions, Clock())
    async with session_scope(sessions) as db:
        await sms_db.queue_sms(db, "13800138000", "第一条")
    assert job.name == "sms" and job.every_seconds == settings.sms.poll_seconds
    assert isinstance(job.run, SmsPass)
    try:
        said = await job.run(ctx)
        assert said is not None and "sent 1" in said
        async with session_scope(sessions) as db:
            await sms_db.queue_sms(db, "13800138000", "第二条")
        await job.run(ctx)
        smsc.wait_for("message", lambda e: e["text"] == "第二条")
    finally:
        await job.run.close()
    assert len(smsc.events("bound")) == 1


async def test_a_ticket_answered_by_sms_closes_on_the_smscs_receipt(
        sessions: async_sessionmaker[AsyncSession], smsc: Smsc) -> None:
    from hotline import tickets

    async with session_scope(sessions) as db:
        ticket = Ticket(reference="2603020009", type="message", caller_number="13800138000")
        db.add(ticket)
        await db.flush()
        reply = await tickets.reply_by_sms(db, ticket, "您反映的事项已办理完毕。", None, T0)
    settings = Settings(sms=_settings(smsc.port))
    job = sms_job(settings)
    assert isinstance(job.run, SmsPass)
    try:
        for _ in range(40):
            await job.run(Context(settings, sessions, Clock()))
            async with session_scope(sessions) as db:
                closed = await db.get(Ticket, ticket.id)
                assert closed is not None
                if closed.status == "closed":
                    break
            await asyncio.sleep(0.1)
    finally:
        await job.run.close()
        unregister_delivery_hook(tickets.close_on_delivered)
    assert (closed.status, closed.answer_sms_id, closed.closed_at) == ("closed", reply.id, T0)
    smsc.wait_for("message", lambda e: e["text"] == "您反映的事项已办理完毕。")
