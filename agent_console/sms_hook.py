"""Where an HTTP SMS provider pushes delivery receipts and callers' SMS (issue 19).

    POST /api/sms/http/receipts     POST /api/sms/http/inbound

No session and no CSRF token: the provider proves itself by the shared secret of
data_dir/secrets.toml (sms_hook_secret), as an HMAC-SHA256 of "<timestamp>.<body>" no more
than 5 minutes old, or the secret itself ([sms] http_hook_auth; hotline.sms.http_api
.verify_hook). Each receipt or SMS is kept once under its key (a repeat is answered as
accepted and ignored); the scheduler's sms job stores it within a few seconds, closing
the matter a delivered answer proves as an SMPP receipt does.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from agent_console.auth import client_address, console
from hotline.db import sms as sms_db
from hotline.db.base import session_scope
from hotline.secrets import sms_hook_secret
from hotline.sms.base import INBOUND, RECEIPT, event_payload, kind_of
from hotline.sms.http_api import HookRefused, events, verify_hook

log = logging.getLogger("agent_console")
router = APIRouter(prefix="/api/sms/http", tags=["SMS provider"], include_in_schema=False)
BODY_LIMIT = 1 << 20  # a provider's batch of receipts, not an upload


@router.post("/receipts")
async def receipts(request: Request) -> Response:
    return await _take(request, RECEIPT)


@router.post("/inbound")
async def inbound(request: Request) -> Response:
    return await _take(request, INBOUND)


async def _take(request: Request, kind: str) -> Response:
    c = console(request)
    s = c.settings.sms
    if s.driver != "http":
        return JSONResponse({"detail": "未配置HTTP短信接口"}, status_code=404)
    declared = request.headers.get("content-length", "0")
    if not declared.isdigit() or int(declared) > BODY_LIMIT:  # before reading it
        return JSONResponse({"detail": "请求过大"}, status_code=413)
    body = await request.body()
    try:
        if len(body) > BODY_LIMIT:
            raise HookRefused("body too large")
        verify_hook(s, sms_hook_secret(c.settings), request.headers, request.query_params,
                    body, c.clock().timestamp())
        found = events(s, kind, body, request.headers.get("content-type", ""), c.clock())
    except HookRefused as exc:
        # Logged without the body: an inbound SMS is a caller's words and number.
        log.warning("SMS provider push to %s refused from %s: %s", kind,
                    client_address(request), exc)
        return JSONResponse({"detail": "签名无效或已过期"}, status_code=403)
    new = 0
    async with session_scope(c.sessions) as db:
        for event in found:
            new += await sms_db.keep_event(db, event.key, kind_of(event),
                                           event_payload(event), c.clock())
    log.info("SMS provider pushed %d %s event(s), %d new", len(found), kind, new)
    return Response(s.http_hook_answer, media_type="application/json")
