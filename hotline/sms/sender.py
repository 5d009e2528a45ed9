"""The sender: one pass hands every due message to the driver and stores what the gateway
reported back. The scheduler's sms job runs it every [sms] poll_seconds.

Exactly once, as far as a gateway allows: a message is claimed ("sending") in its own
committed transaction before the driver sees it, so two passes never both send it; the
outcome is written in another. A pass that dies mid-send leaves the claim, whose lease
(next_attempt_at) runs out and gives the message back: it may then go out twice, but it
is never lost.

Failures: a message the gateway refused is tried again after a backoff that doubles up to
a cap, and after [sms] max_attempts tries it is "failed" with an alert. A gateway that
cannot be reached at all is nobody's message's fault: the message waits (attempts still
count, backoff still grows, but it never fails for that), the pass stops sending, and one
alert ("sms", "gateway") says so until the gateway answers again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.db import sms as sms_db
from hotline.db.alerts import raise_alert, resolve_alert
from hotline.db.base import session_scope, utcnow
from hotline.db.models import Notice, SmsMessage, Ticket
from hotline.privacy import mask_phone
from hotline.settings import SmsSettings
from hotline.sms.base import (
    Event,
    Inbound,
    Receipt,
    SendError,
    SmsDriver,
    event_of,
    event_payload,
    kind_of,
)
from hotline.sms.hooks import on_delivered, on_inbound

log = logging.getLogger("hotline.sms")

ALERT_KIND = "sms"
GATEWAY_KEY = "gateway"
LEASE = timedelta(minutes=5)
BATCH = 50

# What staff read in alerts and notices.
TEXTS = {
    "gateway": "短信网关无法连接（{driver}）：{error}。短信在待发列表中等待，网关恢复后自动发出。",
    "failed": ("短信 #{id} 发往 {to} 经 {attempts} 次尝试仍未发出：{error}。"
               "请在“短信待发”页面处理。"),
    "undeliverable": "短信 #{id} 发往 {to} 未送达（{state}）。",
    "inbound": "来电人 {number} 发来短信（关联事项 {reference}），请在“待回复短信”页面答复。",
}


def backoff(settings: SmsSettings, attempts: int) -> timedelta:
    """How long to wait after the attempts-th failed try: backoff_seconds, doubled for each
    earlier failure, never more than backoff_max_seconds.

    >>> s = SmsSettings(backoff_seconds=30, backoff_max_seconds=300)
    >>> [backoff(s, n).total_seconds() for n in (1, 2, 3, 4, 5, 6)]
    [30.0, 60.0, 120.0, 240.0, 300.0, 300.0]
    """
    exponent = min(max(attempts - 1, 0), 32)  # 2**32 * anything is past every cap
    return timedelta(seconds=min(settings.backoff_seconds * 2 ** exponent,
                                 settings.backoff_max_seconds))


@dataclass
class PassReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    delivered: int = 0
    undeliverable: int = 0
    inbound: int = 0
    released: int = 0
    gateway_error: str = ""

    def summary(self) -> str | None:
        counts = {k: v for k, v in vars(self).items() if v and k != "gateway_error"}
        if not counts and not self.gateway_error:
            return None
        said = ", ".join(f"{k} {v}" for k, v in counts.items())
        return f"{said}{'; ' if said and self.gateway_error else ''}" + (
            f"gateway down: {self.gateway_error}" if self.gateway_error else "")


class Sender:
    def __init__(self, settings: SmsSettings, driver: SmsDriver,
                 sessions: async_sessionmaker[AsyncSession],
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.settings = settings
        self.driver = driver
        self.sessions = sessions
        self.clock = clock

    async def run_once(self) -> PassReport:
        """One pass: give back interrupted sends, store what the gateway reported, send
        what is due."""
        report = PassReport()
        if self.driver.sends:
            async with session_scope(self.sessions) as db:
                report.released = await sms_db.release_interrupted(db, self.clock())
        if self.driver.takes_pushed:  # pushed before this pass's poll: stored first
            await self._receive_pushed(report)
        await self._receive(report)
        if self.driver.sends:
            # Even when the poll found the gateway down: the first due message's try is
            # what counts its attempts and moves its next try out.
            await self._send_due(report)
        await self._gateway_alert(report.gateway_error)
        return report

    # --- receipts and inbound ---------------------------------------------------------

    async def _receive(self, report: PassReport) -> None:
        try:
            events = await self.driver.poll()
        except SendError as exc:
            report.gateway_error = str(exc)
            return
        stored: list[Event] = []
        for event in events:
            try:
                async with session_scope(self.sessions) as db:
                    # A keyed event (HTTP) polled again is already stored: skip it.
                    if not event.key or await sms_db.keep_event(
                            db, event.key, kind_of(event), event_payload(event),
                            self.clock(), done=True):
                        await self._store(db, event, report)
            except Exception:
                # Not acknowledged: the gateway delivers it again on its next session.
                log.exception("could not store an SMS %s", type(event).__name__.lower())
                continue
            stored.append(event)
        if stored:
            await self.driver.ack(stored)

    async def _receive_pushed(self, report: PassReport) -> None:
        """What the provider pushed to the console since the last pass, each stored with
        its mark as done in one transaction."""
        async with session_scope(self.sessions) as db:
            waiting = await sms_db.waiting_event_ids(db, BATCH)
        for event_id in waiting:
            try:
                async with session_scope(self.sessions) as db:
                    row = await sms_db.take_event(db, event_id, self.clock())
                    if row is not None:
                        await self._store(db, event_of(
                            row.kind, row.payload, row.key, row.received_at), report)
            except Exception:  # left waiting: the next pass tries it again
                log.exception("could not store the provider's event #%d", event_id)

    async def _store(self, db: AsyncSession, event: Event, report: PassReport) -> None:
        if isinstance(event, Receipt):
            await self._receipt(db, event, report)
        else:
            await self._inbound(db, event, report)

    async def _receipt(self, db: AsyncSession, receipt: Receipt, report: PassReport) -> None:
        message = await sms_db.find_by_provider_id(db, receipt.provider_id)
        if message is None or message.status in (sms_db.DELIVERED, sms_db.UNDELIVERABLE):
            return  # not ours, or a receipt we already have
        if receipt.delivered:
            # The sender's clock, not the driver's: one time line for everything stored.
            message.status, message.delivered_at = sms_db.DELIVERED, self.clock()
            await db.flush()
            await on_delivered(db, message)
            report.delivered += 1
            return
        message.status, message.last_error = sms_db.UNDELIVERABLE, f"receipt: {receipt.state}"
        await raise_alert(db, ALERT_KIND, f"undeliverable:{message.id}", TEXTS[
            "undeliverable"].format(id=message.id, to=mask_phone(message.to_number),
                                    state=receipt.state), self.clock())
        report.undeliverable += 1

    async def _inbound(self, db: AsyncSession, inbound: Inbound, report: PassReport) -> None:
        message = await sms_db.record_inbound(db, inbound.from_number, inbound.to_number,
                                              inbound.text, self.clock())
        report.inbound += 1
        if await on_inbound(db, message):
            return  # taken (a rating reply): nothing for the owner agent to answer
        ticket = await db.get(Ticket, message.ticket_id) if message.ticket_id else None
        if ticket is not None and ticket.owner_id is not None:
            # The owner agent answers for the matter (Art. 6): tell them in the console.
            db.add(Notice(user_id=ticket.owner_id, ticket_id=ticket.id, kind="sms_in",
                          text=TEXTS["inbound"].format(number=mask_phone(inbound.from_number),
                                                       reference=ticket.reference),
                          created_at=message.created_at))
        log.info("SMS from %s stored as #%d", mask_phone(inbound.from_number), message.id)

    # --- sending ------------------------------------------------------------------------

    async def _send_due(self, report: PassReport) -> None:
        async with session_scope(self.sessions) as db:
            due = await sms_db.due_ids(db, self.clock(), BATCH)
        for message_id in due:
            async with session_scope(self.sessions) as db:
                message = await sms_db.claim(db, message_id, self.clock(), LEASE)
                if message is None:
                    continue  # another pass took it
                to, text, attempts = message.to_number, message.text, message.attempts
                kind, params = message.kind, dict(message.params or {})
            try:
                ids = await self.driver.send(to, text, message_id=message_id, kind=kind,
                                             params=params)
            except SendError as exc:
                await self._failed(message_id, attempts, exc, report)
                if exc.gateway_down:
                    report.gateway_error = str(exc)
                    return
                continue
            async with session_scope(self.sessions) as db:
                message = await self._get(db, message_id)
                await sms_db.mark_sent(db, message, ids, self.clock())
            report.sent += 1

    async def _failed(self, message_id: int, attempts: int, exc: SendError,
                      report: PassReport) -> None:
        now = self.clock()
        async with session_scope(self.sessions) as db:
            message = await self._get(db, message_id)
            if exc.gateway_down or (attempts < self.settings.max_attempts
                                    and not exc.permanent):
                await sms_db.mark_retry(db, message, str(exc),
                                        now + backoff(self.settings, attempts))
                report.retried += 1
                return
            await sms_db.mark_failed(db, message, str(exc))
            await raise_alert(db, ALERT_KIND, f"failed:{message_id}", TEXTS["failed"].format(
                id=message_id, to=mask_phone(message.to_number), attempts=attempts,
                error=str(exc)[:200]), now)
            report.failed += 1
            log.warning("SMS #%d to %s failed for good after %d tries: %s", message_id,
                        mask_phone(message.to_number), attempts, exc)

    async def _get(self, db: AsyncSession, message_id: int) -> SmsMessage:
        message = await db.get(SmsMessage, message_id, populate_existing=True)
        if message is None:  # deleted under us; nothing to record
            raise LookupError(f"SMS #{message_id} vanished while being sent")
        return message

    async def _gateway_alert(self, error: str) -> None:
        if not self.driver.sends:
            return
        async with session_scope(self.sessions) as db:
            if error:
                await raise_alert(db, ALERT_KIND, GATEWAY_KEY, TEXTS["gateway"].format(
                    driver=self.driver.name, error=error[:200]), self.clock())
            else:
                await resolve_alert(db, ALERT_KIND, GATEWAY_KEY, self.clock())
