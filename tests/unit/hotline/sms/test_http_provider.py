"""SMS over HTTP the way Chinese providers offer it (issue 19), against a local provider
that behaves as one: it takes only its approved templates with the court's signature,
pushes delivery receipts and callers' replies to the console's webhook over real HTTP
(signed), and keeps them for polling. Real console (uvicorn on loopback), real database,
the real sender and hooks."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import socket
import threading
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.error import HTTPError

import pytest
import uvicorn
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agent_console.app import create_app
from hotline import caller_sms, tickets
from hotline.db.base import session_scope
from hotline.db.models import SmsMessage, SmsProviderEvent, Ticket
from hotline.db.tickets import create_ticket
from hotline.secrets import load_or_create
from hotline.settings import Settings, SettingsError, SmsSettings, load_settings
from hotline.sms import make_driver, register_delivery_hook, templates, unregister_delivery_hook
from hotline.sms.base import SendError
from hotline.sms.http_api import HookRefused, events, render_request, sign_hook, verify_hook
from hotline.sms.sender import Sender
from tests.local_http import serving

Sessions = async_sessionmaker[AsyncSession]
CALLER = "13912340019"
SIGN = "12368诉讼服务热线"
# The provider's approved templates: id -> number of values.
APPROVED = {"T_REPLY": 1, "T_RATING": 1}


@dataclass
class Provider:
    url: str = ""
    sent: list[dict[str, Any]] = field(default_factory=list)
    # what its poll URLs hand out, until the test changes it
    receipts: list[dict[str, str]] = field(default_factory=list)
    inbound: list[dict[str, str]] = field(default_factory=list)

    def push(self, to: str, items: list[dict[str, str]], secret: str,
             stamp: int | None = None, signature: str | None = None) -> int:
        """POST events to the console as the provider does: signed "<timestamp>.<body>"."""
        body = json.dumps({"list": items}, ensure_ascii=False).encode()
        stamp = int(time.time()) if stamp is None else stamp
        headers = {"Content-Type": "application/json", "X-Timestamp": str(stamp),
                   "X-Signature": signature or sign_hook(secret, str(stamp), body)}
        request = urllib.request.Request(to, data=body, headers=headers, method="POST")
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(request, timeout=10) as answer:
                return int(answer.status)
        except HTTPError as exc:
            return exc.code


@contextmanager
def template_provider() -> Iterator[Provider]:
    state, lock = Provider(), threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            asked = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with lock:
                state.sent.append(asked)
                number = len(state.sent)
            # A provider's own checks: an approved template, its values, the signature.
            if (APPROVED.get(asked.get("templateId")) != len(asked.get("params", []))
                    or asked.get("sign") != SIGN):
                self._json({"code": 40, "msg": "模板或签名未审核"})
            else:
                self._json({"code": 0, "data": {"messageId": f"M{number}"}})

        def do_GET(self) -> None:
            self._json({"list": state.receipts if "receipts" in self.path else state.inbound})

        def _json(self, value: object) -> None:
            data = json.dumps(value, ensure_ascii=False).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass

    with serving(ThreadingHTTPServer(("127.0.0.1", 0), Handler)) as state.url:
        yield state


def _every_kind(**extra: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    mapped = {kind: (f"T_{kind.upper()}", *sorted(values))
              for kind, values in templates.kinds().items() if kind != templates.REPLY}
    return {**mapped, **extra}


def _sms(url: str, **values: object) -> SmsSettings:
    base: dict[str, object] = {
        "driver": "http", "http_url": url + "/send", "http_success": r'"code"\s*:\s*0',
        "http_body": '{"mobile": "{to}", "templateId": "{template}", "params": {params}, '
                     '"sign": "{sign}", "outId": "{id}"}',
        "http_id_path": "data.messageId", "http_templates_required": True,
        "http_templates": _every_kind(reply=("T_REPLY", "text"),
                                      rating_ask=("T_RATING", "no=reference")),
        "http_events_path": "list", "http_timeout": 5.0, "max_attempts": 3,
        "http_poll_receipts_url": url + "/receipts", "http_poll_inbound_url": url + "/inbound",
        "http_poll_seconds": 0.0}
    base.update(values)
    return SmsSettings(**base)  # type: ignore[arg-type]


# --- settings and requests, no database -------------------------------------------------

def test_a_kind_without_a_template_stops_the_start_naming_it(tmp_path: Any) -> None:
    env = {"HOTLINE_PATHS_DATA_DIR": str(tmp_path), "HOTLINE_SMS_DRIVER": "http",
           "HOTLINE_SMS_HTTP_URL": "http://127.0.0.1:9/send",
           "HOTLINE_SMS_HTTP_TEMPLATES_REQUIRED": "true",
           "HOTLINE_SMS_HTTP_TEMPLATES": json.dumps(
               {k: list(v) for k, v in _every_kind().items() if k != "case_query"})}
    with pytest.raises(SettingsError, match=r"have none in \[sms.http_templates\]: case_query$"):
        load_settings(env, config_path=None)
    # A court that turns the forwarded text off needs no template for it.
    (tmp_path / "sms_texts.toml").write_text('[texts]\nforwarded = ""\n', encoding="utf-8")
    mapped = {k: list(v) for k, v in _every_kind().items() if k != "forwarded"}
    settings = load_settings({**env, "HOTLINE_SMS_HTTP_TEMPLATES": json.dumps(mapped)},
                             config_path=None)
    assert not templates.free_text_allowed(settings.sms)  # no "reply" template
    for wrong, said in (({"forwarded": ["T1", "judge"]}, "'judge' is not one of its values"),
                        ({"fax": ["T1"]}, "'fax' is not a kind of SMS")):
        with pytest.raises(SettingsError, match=said):
            load_settings({**env, "HOTLINE_SMS_HTTP_TEMPLATES_REQUIRED": "false",
                           "HOTLINE_SMS_HTTP_TEMPLATES": json.dumps(wrong)}, config_path=None)


def test_a_template_request_and_a_refused_free_text() -> None:
    s = _sms("http://sms.test")
    request = render_request(s, CALLER, "【法院】任意", 7, "rating_ask",
                             {"reference": "2612010001"}, sign="【12368诉讼服务热线】")
    assert json.loads(request.body) == {"mobile": CALLER, "templateId": "T_RATING",
                                        "params": ["2612010001"], "sign": SIGN, "outId": "7"}
    form = dataclasses.replace(s, http_body="TemplateParam={param_map}&TemplateCode={template}",
                               http_body_format="form")
    assert render_request(form, CALLER, "", 7, "rating_ask", {"reference": "26"}).body == (
        b"TemplateParam=%7B%22no%22%3A+%2226%22%7D&TemplateCode=T_RATING")
    without = dataclasses.replace(s, http_templates={})
    with pytest.raises(SendError, match="only templates, and an SMS of free text") as refused:
        render_request(without, CALLER, "自己写的话", 8)
    assert refused.value.permanent


def test_a_push_is_checked_by_signature_time_or_token() -> None:
    s, body, now = _sms("http://sms.test"), b'{"list": []}', 1_780_000_000
    good = {"X-Timestamp": str(now), "X-Signature": sign_hook("k", str(now), body)}
    verify_hook(s, "k", good, {}, body, now + 299)
    for headers, secret, at, said in (
            (good, "other", now, "bad signature"),
            (good, "k", now + 301, "5 minutes"),
            ({**good, "X-Timestamp": "x"}, "k", now, "no timestamp"),
            (good, "", now, "no sms_hook_secret")):
        with pytest.raises(HookRefused, match=said):
            verify_hook(s, secret, headers, {}, body, at)
    token = dataclasses.replace(s, http_hook_auth="token")
    verify_hook(token, "k", {}, {"token": "k"}, body)
    with pytest.raises(HookRefused, match="wrong token"):
        verify_hook(token, "k", {"X-Signature": "j"}, {}, body)
    with pytest.raises(HookRefused, match="neither JSON"):
        events(s, "receipt", b"{broken")


# --- the loop through the provider ------------------------------------------------------

@asynccontextmanager
async def _console(settings: Settings, sessions: Sessions) -> AsyncIterator[str]:
    """The console served over real HTTP on a free loopback port."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(create_app(settings, sessions), log_level="warning",
                            lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    for _ in range(500):  # up to 10 s on a busy machine
        if server.started or task.done():
            break
        await asyncio.sleep(0.02)
    assert server.started, "the console did not start"
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/api/sms/http"
    finally:
        server.should_exit = True
        await task
        sock.close()


async def _reply_by_sms(sessions: Sessions) -> tuple[int, int]:
    async with session_scope(sessions) as db:
        ticket = await create_ticket(db, "consultation", CALLER, None, text="何时开庭")
        message = await tickets.reply_by_sms(db, ticket, "下周一上午开庭。", None)
        return ticket.id, message.id


async def test_receipts_and_replies_pushed_and_pulled_close_the_matter_once(
        sessions: Sessions, settings: Settings) -> None:
    with template_provider() as provider:
        settings = dataclasses.replace(settings, sms=_sms(provider.url))
        secret = load_or_create(settings).sms_hook_secret
        ticket_id, reply_id = await _reply_by_sms(sessions)
        async with session_scope(sessions) as db:  # a template the provider never approved
            refused = await caller_sms.tell(db, settings, await db.get(Ticket, ticket_id),
                                            caller_sms.CLOSED, date="12月1日")
            assert refused is not None
        sender = Sender(settings.sms, make_driver(settings.sms, caller_sms.signature(settings)),
                        sessions)
        register_delivery_hook(tickets.close_on_delivered)
        try:
            async with _console(settings, sessions) as hook:
                report = await sender.run_once()
                # The staff member's words went as the approved reply template, signed.
                assert (report.sent, report.retried) == (1, 1)
                assert provider.sent[0] == {"mobile": CALLER, "templateId": "T_REPLY",
                                            "params": ["下周一上午开庭。"], "sign": SIGN,
                                            "outId": str(reply_id)}
                receipt = {"msgId": "M1", "status": "DELIVRD"}
                reply = {"msgId": "U1", "mobile": CALLER, "content": "收到，谢谢"}
                pushes = [
                    await asyncio.to_thread(provider.push, f"{hook}/receipts", [receipt], secret),
                    await asyncio.to_thread(provider.push, f"{hook}/receipts", [receipt], secret),
                    await asyncio.to_thread(provider.push, f"{hook}/inbound", [reply], secret),
                    await asyncio.to_thread(provider.push, f"{hook}/inbound", [reply], "guess"),
                    await asyncio.to_thread(provider.push, f"{hook}/inbound", [reply], secret,
                                            stamp=int(time.time()) - 400)]
                assert pushes == [200, 200, 200, 403, 403]
                # The same receipt and reply again by polling, and one reply only polled.
                provider.receipts = [receipt]
                provider.inbound = [reply, {"msgId": "U2", "mobile": CALLER, "content": "2"}]
                report = await sender.run_once()
                assert (report.delivered, report.inbound) == (1, 2), report
                assert (await sender.run_once()).inbound == 0  # polled again: nothing new
        finally:
            unregister_delivery_hook(tickets.close_on_delivered)
    async with session_scope(sessions) as db:
        ticket = await db.get(Ticket, ticket_id)
        assert ticket is not None and ticket.status == "closed"
        message = await db.get(SmsMessage, reply_id)
        assert message is not None and message.status == "delivered"
        got = (await db.execute(select(SmsMessage.text).where(SmsMessage.direction == "in")
                                .order_by(SmsMessage.id))).scalars().all()
        assert got == ["收到，谢谢", "2"]
        kept = await db.scalar(select(func.count()).select_from(SmsProviderEvent)
                               .where(SmsProviderEvent.done_at.is_not(None)))
        assert kept == 3
        closed = (await db.execute(select(SmsMessage).where(SmsMessage.kind == "closed")
                                   .order_by(SmsMessage.id))).scalars().first()
        assert closed is not None and closed.status == "queued"
        assert "模板或签名未审核" in closed.last_error
