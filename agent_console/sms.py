"""SMS in the console: the inbox of SMS from callers needing a reply (Art. 8: agents
collect and answer them), and the outbox of SMS not yet out of our hands (queued, being
sent, given up), with the reason each waits. Each page has its JSON twin under /api/sms/.

Callers' numbers are whole only for roles in SEES_PERSONAL_DATA.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from agent_console.auth import Console, Principal, console, require_role
from agent_console.forms import Errors, Invalid, api_error, field_error, form_values
from agent_console.pages import render
from agent_console.texts import ADMIN, AGENT, MESSAGES, SEES_PERSONAL_DATA, SMS_STATUS_LABELS
from hotline.db import sms as sms_db
from hotline.db.alerts import list_open_alerts
from hotline.db.base import session_scope
from hotline.db.models import SmsMessage, Ticket
from hotline.privacy import mask_phone
from hotline.sms.encoding import parts_needed
from hotline.sms.sender import ALERT_KIND
from hotline.timefmt import local_time

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/sms", tags=["sms"])

Agent = Annotated[Principal, Depends(require_role(AGENT))]
Staff = Annotated[Principal, Depends(require_role(AGENT, ADMIN))]

TEXT_LIMIT = 500  # about 8 SMS parts: a reply, not a letter


class ReplyIn(BaseModel):
    text: str = ""


class SmsOut(BaseModel):
    id: int
    direction: str = Field(description="in | out")
    number: str = Field(description="the caller's number (from for in, to for out); masked "
                                    "unless the reader's role sees personal data")
    text: str
    status: str
    status_label: str
    created_at: str
    ticket_id: int | None
    ticket_reference: str
    attempts: int
    next_attempt_at: str
    last_error: str
    parts: int


class OutboxOut(BaseModel):
    driver: str
    sends: bool = Field(description="false for the outbox driver: nothing leaves")
    alerts: list[str] = Field(description="open SMS alerts: gateway down, given up, ...")
    messages: list[SmsOut]


def _number(who: Principal, number: str) -> str:
    return number if who.account.role in SEES_PERSONAL_DATA else mask_phone(number)


async def _out(db: AsyncSession, message: SmsMessage, who: Principal, timezone: str) -> SmsOut:
    ticket = await db.get(Ticket, message.ticket_id) if message.ticket_id else None
    number = message.from_number if message.direction == sms_db.IN else message.to_number
    return SmsOut(
        id=message.id, direction=message.direction, number=_number(who, number),
        text=message.text, status=message.status,
        status_label=SMS_STATUS_LABELS.get(message.status, message.status),
        created_at=local_time(message.created_at, timezone), ticket_id=message.ticket_id,
        ticket_reference=ticket.reference if ticket else "", attempts=message.attempts,
        next_attempt_at=local_time(message.next_attempt_at, timezone),
        last_error=message.last_error, parts=parts_needed(message.text))


async def _inbox(c: Console, who: Principal) -> list[SmsOut]:
    async with session_scope(c.sessions) as db:
        return [await _out(db, m, who, c.settings.hours.timezone) for m in await sms_db.inbox(db)]


async def _outbox(c: Console, who: Principal) -> OutboxOut:
    async with session_scope(c.sessions) as db:
        messages = [await _out(db, m, who, c.settings.hours.timezone)
                    for m in await sms_db.waiting(db)]
        alerts = [a.message for a in await list_open_alerts(db, ALERT_KIND)]
    driver = c.settings.sms.driver
    return OutboxOut(driver=driver, sends=driver != "outbox", alerts=alerts, messages=messages)


async def reply(c: Console, who: Principal, inbound_id: int, raw: str) -> SmsMessage:
    """Queue the reply; Invalid naming the field, 404, or 409 when already answered."""
    text = raw.strip()
    if not text:
        raise Invalid({"sms_text": field_error("sms_text", "required")})
    if len(text) > TEXT_LIMIT:
        raise Invalid({"sms_text": field_error("sms_text", "too_long", limit=TEXT_LIMIT)})
    try:
        async with session_scope(c.sessions) as db:
            return await sms_db.reply(db, inbound_id, text, who.account.id, c.clock())
    except sms_db.SmsError as refused:
        raise _refusal(refused) from None


async def retry(c: Console, message_id: int) -> SmsMessage:
    try:
        async with session_scope(c.sessions) as db:
            return await sms_db.requeue(db, message_id, c.clock())
    except sms_db.SmsError as refused:
        raise _refusal(refused) from None


def _refusal(refused: sms_db.SmsError) -> HTTPException:
    status = 404 if refused.reason == "not_found" else 409
    return HTTPException(status, MESSAGES[refused.reason])


# --- pages ------------------------------------------------------------------------------

async def _inbox_page(request: Request, who: Principal, status: int = 200,
                      errors: Mapping[int, Errors] | None = None,
                      typed: Mapping[int, str] | None = None, done: str = "") -> Response:
    c = console(request)
    return render(request, "sms_inbox.html", status, user=who.account,
                  csrf_token=who.csrf_token, items=await _inbox(c, who),
                  errors=errors or {}, typed=typed or {}, done=done)


@pages.get("/sms/inbox")
async def inbox_page(request: Request, who: Agent, done: str = "") -> Response:
    return await _inbox_page(request, who, done=MESSAGES["sms_replied"] if done else "")


@pages.post("/sms/inbox/{inbound_id}/reply")
async def reply_page(request: Request, who: Agent, inbound_id: int) -> Response:
    values = await form_values(request, ("sms_text",))
    try:
        await reply(console(request), who, inbound_id, values["sms_text"])
    except Invalid as refused:
        return await _inbox_page(request, who, 422, {inbound_id: refused.errors},
                                 {inbound_id: values["sms_text"]})
    except HTTPException as refused:
        return await _inbox_page(request, who, refused.status_code,
                                 {inbound_id: {"sms_text": str(refused.detail)}},
                                 {inbound_id: values["sms_text"]})
    return RedirectResponse("/sms/inbox?done=1", status_code=303)


async def _outbox_page(request: Request, who: Principal, status: int = 200,
                       notice: str = "", error: str = "") -> Response:
    c = console(request)
    return render(request, "sms_outbox.html", status, user=who.account,
                  csrf_token=who.csrf_token, outbox=await _outbox(c, who), notice=notice,
                  error=error, no_driver=MESSAGES["sms_outbox_driver"])


@pages.get("/sms/outbox")
async def outbox_page(request: Request, who: Staff, done: str = "") -> Response:
    return await _outbox_page(request, who, notice=MESSAGES["sms_requeued"] if done else "")


@pages.post("/sms/outbox/{message_id}/retry")
async def retry_page(request: Request, who: Staff, message_id: int) -> Response:
    try:
        await retry(console(request), message_id)
    except HTTPException as refused:
        return await _outbox_page(request, who, refused.status_code, error=str(refused.detail))
    return RedirectResponse("/sms/outbox?done=1", status_code=303)


# --- API --------------------------------------------------------------------------------

@api.get("/inbox", summary="SMS from callers still needing a reply (agents)")
async def api_inbox(request: Request, who: Agent) -> list[SmsOut]:
    return await _inbox(console(request), who)


@api.post("/inbox/{inbound_id}/reply", status_code=201,
          summary="queue the reply to an inbound SMS and mark it handled by you (agents)")
async def api_reply(request: Request, who: Agent, inbound_id: int, body: ReplyIn) -> SmsOut:
    c = console(request)
    try:
        message = await reply(c, who, inbound_id, body.text)
    except Invalid as refused:
        raise api_error(refused.errors) from None
    async with session_scope(c.sessions) as db:
        return await _out(db, message, who, c.settings.hours.timezone)


@api.get("/outbox", summary="SMS not yet out of our hands, and why (agents, administrators)")
async def api_outbox(request: Request, who: Staff) -> OutboxOut:
    return await _outbox(console(request), who)


@api.post("/outbox/{message_id}/retry",
          summary="send a failed SMS again from its first try (agents, administrators)")
async def api_retry(request: Request, who: Staff, message_id: int) -> SmsOut:
    c = console(request)
    message = await retry(c, message_id)
    async with session_scope(c.sessions) as db:
        return await _out(db, message, who, c.settings.hours.timezone)
