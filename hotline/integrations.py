"""Pushing matter events to the court's systems (issue 19, docs/integrations.md).

The rows are written with each change (hotline.db.outbox); `deliver` sends them, one
endpoint at a time, in id order, as JSON signed with the endpoint's secret:

    X-Hotline-Event: <event id, the same for every retry: dedupe on it>
    X-Hotline-Timestamp: <unix seconds>
    X-Hotline-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">

A 2xx answer acknowledges the event; anything else (or no answer) leaves it and every later
one waiting for the endpoint's next try: 5 s, then twice as long each time, up to an hour.
An endpoint failing for [integrations] alert_minutes raises an alert, resolved when it
answers again. Two schedulers never deliver to one endpoint at once: each pass first takes
the endpoint's lease with a conditional UPDATE (any database), and renews it per event.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import httpx
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.db.alerts import raise_alert, resolve_alert
from hotline.db.base import session_scope
from hotline.db.models import OutboxEndpoint, OutboxEvent
from hotline.endpoints import Endpoint, parse_endpoints
from hotline.secrets import endpoint_secret
from hotline.settings import Settings
from hotline.timefmt import short_time

log = logging.getLogger("hotline.integrations")

ALERT_KIND = "integration-failing"
ALERT_TEXT = "对接系统“{name}”自{since}起推送失败（{error}），事项变动暂存待发，恢复后按序补发。"
FIRST_BACKOFF_SECONDS = 5.0
LEASE_SECONDS = 60
BATCH = 50


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The X-Hotline-Signature value of a body sent at `timestamp` (unix seconds)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def backoff(failures: int, cap: float) -> float:
    """Seconds to wait after the n-th failure in a row: 5, 10, 20, ... up to cap."""
    return float(min(cap, FIRST_BACKOFF_SECONDS * 2 ** max(0, failures - 1)))


# What sends one event: (url, body, headers) → None when acknowledged, else the error.
Send = Callable[[str, bytes, dict[str, str]], Awaitable[str | None]]


def http_sender(timeout: float) -> Send:
    async def send(url: str, body: bytes, headers: dict[str, str]) -> str | None:
        try:
            async with httpx.AsyncClient(timeout=timeout, trust_env=False) as client:
                answer = await client.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {exc}"[:300]
        return None if 200 <= answer.status_code < 300 else f"HTTP {answer.status_code}"
    return send


HOLDER = f"{socket.gethostname()}:{os.getpid()}"


async def deliver(sessions: async_sessionmaker[AsyncSession], settings: Settings,
                  now: Callable[[], datetime], send: Send | None = None,
                  holder: str = HOLDER) -> str | None:
    """One pass over every endpoint; a line for the log, or None when nothing was sent."""
    send = send or http_sender(settings.integrations.timeout_seconds)
    said = []
    for endpoint in parse_endpoints(settings.integrations.endpoints):
        sent, error = await _deliver_to(sessions, settings, endpoint, now, send, holder)
        if sent or error:
            said.append(f"{endpoint.name}: {sent} sent" + (f", failing ({error})" if error
                                                           else ""))
    return "; ".join(said) or None


async def _deliver_to(sessions: async_sessionmaker[AsyncSession], settings: Settings,
                      endpoint: Endpoint, now: Callable[[], datetime], send: Send,
                      holder: str) -> tuple[int, str]:
    if not await _claim(sessions, endpoint.name, now(), holder):
        return 0, ""  # another scheduler holds it, or it is backing off
    secret = endpoint_secret(settings, endpoint.name)
    sent = 0
    while True:
        async with session_scope(sessions) as db:
            query = (select(OutboxEvent).where(OutboxEvent.endpoint == endpoint.name,
                                               OutboxEvent.delivered_at.is_(None))
                     .order_by(OutboxEvent.id).limit(BATCH))
            batch = list((await db.execute(query)).scalars())
        if not batch:
            break
        for row in batch:
            error = await _send_one(send, endpoint, secret, row)
            async with session_scope(sessions) as db:
                await _note(db, settings, endpoint.name, row.id, error, now(), holder)
            if error:
                log.warning("integration %s: event %s of matter %s not delivered: %s",
                            endpoint.name, row.event_id, row.ticket_id, error)
                return sent, error
            sent += 1
    await _release(sessions, endpoint.name, holder)
    return sent, ""


async def _send_one(send: Send, endpoint: Endpoint, secret: str, row: OutboxEvent
                    ) -> str | None:
    body = json.dumps(row.payload, ensure_ascii=False, separators=(",", ":")).encode()
    timestamp = str(int(time.time()))
    headers = {"Content-Type": "application/json; charset=utf-8",
               "X-Hotline-Event": row.event_id, "X-Hotline-Timestamp": timestamp,
               "X-Hotline-Signature": sign(secret, timestamp, body)}
    return await send(endpoint.url, body, headers)


async def _claim(sessions: async_sessionmaker[AsyncSession], name: str, at: datetime,
                 holder: str) -> bool:
    """Take the endpoint's lease unless another holds it or its back-off is not over."""
    async with session_scope(sessions) as db:
        if await db.get(OutboxEndpoint, name) is None:
            db.add(OutboxEndpoint(name=name, lease_holder="", failures=0, last_error=""))
            await db.flush()
        done = await db.execute(
            update(OutboxEndpoint).where(
                OutboxEndpoint.name == name,
                or_(OutboxEndpoint.lease_until.is_(None), OutboxEndpoint.lease_until < at,
                    OutboxEndpoint.lease_holder == holder),
                or_(OutboxEndpoint.next_try_at.is_(None), OutboxEndpoint.next_try_at <= at))
            .values(lease_holder=holder, lease_until=at + timedelta(seconds=LEASE_SECONDS))
            .execution_options(synchronize_session=False))
        return bool(done.rowcount == 1)  # type: ignore[attr-defined]


async def _release(sessions: async_sessionmaker[AsyncSession], name: str, holder: str
                   ) -> None:
    async with session_scope(sessions) as db:
        await db.execute(update(OutboxEndpoint)
                         .where(OutboxEndpoint.name == name,
                                OutboxEndpoint.lease_holder == holder)
                         .values(lease_holder="", lease_until=None)
                         .execution_options(synchronize_session=False))


async def _note(db: AsyncSession, settings: Settings, name: str, row_id: int,
                error: str | None, at: datetime, holder: str) -> None:
    """The outcome of one send, on the event and on the endpoint (back-off, alert)."""
    row = await db.get(OutboxEvent, row_id)
    state = await db.get(OutboxEndpoint, name)
    assert row is not None and state is not None
    row.attempts += 1
    if error is None:
        row.delivered_at, row.last_error = at, ""
        state.failures, state.next_try_at, state.failing_since = 0, None, None
        state.delivered_at, state.last_error = at, ""
        state.lease_until = at + timedelta(seconds=LEASE_SECONDS)
        await resolve_alert(db, ALERT_KIND, name, at)
        return
    row.last_error = state.last_error = error[:300]
    state.failures += 1
    state.failing_since = state.failing_since or at
    state.next_try_at = at + timedelta(seconds=backoff(
        state.failures, settings.integrations.max_backoff_seconds))
    state.lease_holder, state.lease_until = "", None
    if at - state.failing_since >= timedelta(minutes=settings.integrations.alert_minutes):
        since = short_time(state.failing_since, settings.hours.timezone)
        await raise_alert(db, ALERT_KIND, name,
                          ALERT_TEXT.format(name=name, since=since, error=error[:80]), at)


async def pending(session: AsyncSession) -> dict[str, int]:
    """Events waiting per endpoint (hotline integrations status)."""
    from sqlalchemy import func

    query = (select(OutboxEvent.endpoint, func.count()).where(
        OutboxEvent.delivered_at.is_(None)).group_by(OutboxEvent.endpoint))
    return {name: count for name, count in (await session.execute(query)).all()}
