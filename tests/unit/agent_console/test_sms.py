"""The SMS pages and API: the inbox of SMS needing a reply (agents), the outbox of SMS
waiting (agents and administrators), numbers masked by role."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agent_console.app import create_app
from agent_console.texts import MESSAGES
from hotline.db import sms as sms_db
from hotline.db.alerts import raise_alert
from hotline.db.base import session_scope
from hotline.db.models import SmsMessage, Ticket
from hotline.settings import Settings
from hotline.sms import templates

from .conftest import ADMIN_NAME, AGENT_NAME, PASSWORD, csrf_of, log_in

Sessions = async_sessionmaker[AsyncSession]
T0 = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
CALLER = "13812345678"


async def _token(client: httpx.AsyncClient, username: str) -> dict[str, str]:
    response = await client.post("/api/login", json={"username": username,
                                                     "password": PASSWORD})
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def _inbound(sessions: Sessions) -> tuple[int, str]:
    async with session_scope(sessions) as db:
        db.add(Ticket(reference="2612010007", type="message", caller_number=CALLER))
        await db.flush()
        message = await sms_db.record_inbound(db, CALLER, "12368", "请问我的留言有人处理吗？", T0)
    return message.id, "2612010007"


async def test_agent_replies_to_an_inbound_sms(client: httpx.AsyncClient,
                                               sessions: Sessions) -> None:
    inbound_id, reference = await _inbound(sessions)
    await log_in(client)
    page = await client.get("/sms/inbox")
    assert page.status_code == 200
    assert "请问我的留言有人处理吗？" in page.text and CALLER in page.text
    assert reference in page.text

    csrf = csrf_of(page.text)
    empty = await client.post(f"/sms/inbox/{inbound_id}/reply",
                              data={"sms_text": "  ", "csrf_token": csrf})
    assert empty.status_code == 422 and "请填写短信内容。" in empty.text
    long = "长" * 501
    too_long = await client.post(f"/sms/inbox/{inbound_id}/reply",
                                 data={"sms_text": long, "csrf_token": csrf})
    assert too_long.status_code == 422 and "短信内容不能超过500个字" in too_long.text
    assert long in too_long.text, "what was typed is kept"

    done = await client.post(f"/sms/inbox/{inbound_id}/reply",
                             data={"sms_text": "已转立案庭，两个工作日内答复。", "csrf_token": csrf})
    assert done.status_code == 303
    after = await client.get(done.headers["location"])
    assert "回复已排队发送。" in after.text and "暂无待回复的短信" in after.text

    async with session_scope(sessions) as db:
        inbound = await db.get(SmsMessage, inbound_id)
        [answer] = await sms_db.waiting(db)
    assert inbound is not None and (inbound.status, inbound.handled_at) == ("replied", T0)
    assert inbound.handled_by is not None
    assert (answer.to_number, answer.text, answer.ticket_id) == (
        CALLER, "已转立案庭，两个工作日内答复。", inbound.ticket_id)

    again = await client.post(f"/api/sms/inbox/{inbound_id}/reply",
                              json={"text": "再答一次"}, headers=await _token(client, AGENT_NAME))
    assert again.status_code == 409
    assert again.json()["detail"] == "这条短信已由其他座席员回复。"


async def test_inbox_api_and_role_checks(client: httpx.AsyncClient, sessions: Sessions) -> None:
    inbound_id, reference = await _inbound(sessions)
    agent = await _token(client, AGENT_NAME)
    [item] = (await client.get("/api/sms/inbox", headers=agent)).json()
    assert (item["id"], item["number"], item["ticket_reference"], item["status_label"]) == (
        inbound_id, CALLER, reference, "待回复")
    bad = await client.post(f"/api/sms/inbox/{inbound_id}/reply", json={"text": ""},
                            headers=agent)
    assert bad.status_code == 422 and bad.json()["detail"]["errors"] == {
        "sms_text": "请填写短信内容。"}
    missing = await client.post("/api/sms/inbox/999999/reply", json={"text": "好"},
                                headers=agent)
    assert missing.status_code == 404

    admin = await _token(client, ADMIN_NAME)
    assert (await client.get("/api/sms/inbox", headers=admin)).status_code == 403
    assert (await client.get("/api/sms/outbox")).status_code == 401
    await log_in(client, ADMIN_NAME)
    assert (await client.get("/sms/inbox")).status_code == 403


async def test_outbox_shows_what_waits_and_why_masked_for_admins(
        client: httpx.AsyncClient, sessions: Sessions) -> None:
    async with session_scope(sessions) as db:
        queued = await sms_db.queue_sms(db, CALLER, "您的案件已立案。")
        failed = await sms_db.queue_sms(db, "13900001111", "开庭通知")
        await sms_db.mark_failed(db, failed, "SMSC refused the message: Invalid Dest Addr")
        failed.attempts = 8
        await raise_alert(db, "sms", "gateway", "短信网关无法连接（smpp）：refused。", T0)
    await log_in(client, ADMIN_NAME)
    page = await client.get("/sms/outbox")
    assert page.status_code == 200
    assert "短信网关尚未配置" in page.text and "未发送（未配置短信网关）" in page.text
    assert "驱动" not in page.text and "hotline.toml" not in page.text
    assert "短信网关无法连接" in page.text
    assert "Invalid Dest Addr" in page.text and "发送失败" in page.text
    assert "138****5678" in page.text and CALLER not in page.text, "masked for administrators"

    retried = await client.post(f"/sms/outbox/{failed.id}/retry",
                                data={"csrf_token": csrf_of(page.text)})
    assert retried.status_code == 303
    assert "已重新排队发送。" in (await client.get(retried.headers["location"])).text
    not_failed = await client.post(f"/sms/outbox/{queued.id}/retry",
                                   data={"csrf_token": csrf_of(page.text)})
    assert not_failed.status_code == 409 and "只有发送失败的短信可以重新发送。" in not_failed.text

    agent = await _token(client, AGENT_NAME)
    body = (await client.get("/api/sms/outbox", headers=agent)).json()
    assert (body["driver"], body["sends"]) == ("outbox", False)
    assert [(m["id"], m["number"], m["status"], m["attempts"]) for m in body["messages"]] == [
        (queued.id, CALLER, "queued", 0), (failed.id, "13900001111", "queued", 0)]
    assert body["alerts"] == ["短信网关无法连接（smpp）：refused。"]


async def test_a_template_only_provider_refuses_staff_free_text_in_the_console(
        settings: Settings, sessions: Sessions, staff: None) -> None:
    # issue 19: [sms] http_templates_required and no template for "reply"
    every = {kind: (f"T_{kind}",) for kind in templates.kinds() if kind != templates.REPLY}
    sms = dataclasses.replace(settings.sms, driver="http", http_url="http://127.0.0.1:9/send",
                              http_templates_required=True, http_templates=every)
    app = create_app(dataclasses.replace(settings, sms=sms), sessions)
    inbound_id, reference = await _inbound(sessions)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://testserver") as client:
        await log_in(client)
        page = await client.get("/sms/inbox")
        assert MESSAGES["sms_templates_only"] in page.text  # said before anyone types
        refused = await client.post(f"/sms/inbox/{inbound_id}/reply", data={
            "sms_text": "明天上午来取。", "csrf_token": csrf_of(page.text)})
        assert refused.status_code == 409 and "明天上午来取。" in refused.text
        headers = await _token(client, AGENT_NAME)
        api = await client.post(f"/api/sms/inbox/{inbound_id}/reply", json={"text": "好"},
                                headers=headers)
        async with session_scope(sessions) as db:
            ticket_id = (await db.execute(select(Ticket.id).where(
                Ticket.reference == reference))).scalar_one()
        answer = await client.post(f"/api/tickets/{ticket_id}/reply-sms",
                                   json={"text": "好"}, headers=headers)
    assert (api.status_code, api.json()["detail"]) == (409, MESSAGES["sms_templates_only"])
    assert (answer.status_code, answer.json()["detail"]) == (409,
                                                             MESSAGES["sms_templates_only"])
    async with session_scope(sessions) as db:
        inbound = await db.get(SmsMessage, inbound_id)
        assert inbound is not None and inbound.status == "received"
        assert await sms_db.waiting(db) == []
