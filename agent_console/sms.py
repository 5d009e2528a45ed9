"""SMS in the console: the inbox of SMS from callers needing a reply (Art. 8: agents
collect and answer them), and the outbox of SMS not yet out of our hands (queued, being
sent, given up), with the reason each waits. Each page has its JSON twin under /api/sms/.

Callers' numbers are whole only for roles in SEES_PERSONAL_DATA.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from agent_console.auth import Console, Principal, console, require_role
from agent_console.forms import Invalid, Refused, field_error, form_values
from agent_console.listing import (
    LIVE_RESPONSES,
    AnySelect,
    EventStream,
    Filter,
    Page,
    Sort,
    Spec,
    api_page,
    live_changes,
    page_of,
    read_query,
    stamp,
)
from agent_console.pages import render
from agent_console.service import Actor, Refusals, actor, attempt, transaction
from agent_console.texts import ADMIN, AGENT, MESSAGES, SEES_PERSONAL_DATA, SMS_STATUS_LABELS
from hotline.confidential import clearance, sms_seen
from hotline.db import sms as sms_db
from hotline.db.alerts import list_open_alerts
from hotline.db.base import session_scope
from hotline.db.models import SmsMessage, Ticket
from hotline.privacy import mask_phone
from hotline.sms import templates
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


INBOX_SPEC = Spec(search=(SmsMessage.text,), numbers=(SmsMessage.from_number,),
                  moment=SmsMessage.created_at,
                  sorts={"created": Sort("收到时间", SmsMessage.created_at, SmsMessage.id)},
                  default_sort="created", default_desc=False,
                  search_hint="电话号码或短信内容")
OUTBOX_SPEC = Spec(search=(SmsMessage.text,), numbers=(SmsMessage.to_number,),
                   moment=SmsMessage.created_at,
                   filters={"status": Filter("状态", {k: SMS_STATUS_LABELS[k]
                                                     for k in sms_db.WAITING},
                                             lambda v: SmsMessage.status == v)},
                   sorts={"created": Sort("排队时间", SmsMessage.created_at, SmsMessage.id)},
                   default_sort="created", default_desc=False,
                   search_hint="电话号码或短信内容")


async def _messages(c: Console, db: AsyncSession, who: Principal, query: AnySelect, spec: Spec,
                    raw: Mapping[str, str], base: str) -> Page[SmsOut]:
    wanted = read_query(raw, spec, c.settings.hours.timezone, base)
    seen = await clearance(db, who.account.id, who.account.role)
    found = await page_of(db, query.where(sms_seen(seen)), wanted, scalars=True)
    rows = [await _out(db, m, who, c.settings.hours.timezone) for m in found.rows]
    return Page(rows, found.total, found.number, found.pages, wanted)


async def _inbox(c: Console, who: Principal, raw: Mapping[str, str],
                 base: str = "/sms/inbox") -> Page[SmsOut]:
    async with session_scope(c.sessions) as db:
        return await _messages(c, db, who, sms_db.inbox_query(), INBOX_SPEC, raw, base)


async def _outbox(c: Console, who: Principal, raw: Mapping[str, str],
                  base: str = "/sms/outbox") -> tuple[OutboxOut, Page[SmsOut]]:
    async with session_scope(c.sessions) as db:
        page = await _messages(c, db, who, sms_db.waiting_query(), OUTBOX_SPEC, raw, base)
        alerts = [a.message for a in await list_open_alerts(db, ALERT_KIND)]
    driver = c.settings.sms.driver
    return OutboxOut(driver=driver, sends=driver != "outbox", alerts=alerts,
                     messages=page.rows), page


# --- the workflows, for pages and API alike ---------------------------------------------

def _refused(refused: sms_db.SmsError) -> Refused:
    """404, or 409: already answered, not failed."""
    return Refused(404 if refused.reason == "not_found" else 409, MESSAGES[refused.reason])


STEP_REFUSALS: Refusals = {sms_db.SmsError: _refused}


async def reply(by: Actor, inbound_id: int, raw: str) -> SmsMessage:
    """Queue the reply to an inbound SMS, which is then handled by the actor."""
    if not templates.free_text_allowed(by.c.settings.sms):
        raise Refused(409, MESSAGES["sms_templates_only"])
    text = raw.strip()
    if not text:
        raise Invalid({"sms_text": field_error("sms_text", "required")})
    if len(text) > TEXT_LIMIT:
        raise Invalid({"sms_text": field_error("sms_text", "too_long", limit=TEXT_LIMIT)})
    async with transaction(by, STEP_REFUSALS) as db:
        return await sms_db.reply(db, inbound_id, text, by.account.id, by.now())


async def retry(by: Actor, message_id: int) -> SmsMessage:
    """Send a failed SMS again from its first try."""
    async with transaction(by, STEP_REFUSALS) as db:
        return await sms_db.requeue(db, message_id, by.now())


# --- pages ------------------------------------------------------------------------------

async def inbox_stamp(c: Console, db: AsyncSession, raw: Mapping[str, str]) -> str:
    """The version of the inbox as the query string narrows it (a reply takes an SMS off)."""
    wanted = read_query(raw, INBOX_SPEC, c.settings.hours.timezone)
    return await stamp(db, sms_db.inbox_query(), wanted)


async def _inbox_page(request: Request, who: Principal, inbound_id: int | None = None,
                      refused: Refused | None = None, typed: str = "", done: str = ""
                      ) -> Response:
    """The inbox; after a refused reply, the refusal and the text as typed beside that
    SMS (a message without a field is the text's)."""
    c = console(request)
    errors = ({inbound_id: refused.errors or {"sms_text": refused.message}}
              if refused and inbound_id is not None else {})
    page = await _inbox(c, who, request.query_params)
    async with session_scope(c.sessions) as db:
        version = await inbox_stamp(c, db, request.query_params)
    return render(request, "sms_inbox.html", refused.status_code if refused else 200,
                  user=who.account, csrf_token=who.csrf_token, page=page, items=page.rows,
                  live="/api/sms/inbox/changes", stamp=version,
                  errors=errors, typed={inbound_id: typed} if errors else {}, done=done,
                  free_text=templates.free_text_allowed(c.settings.sms))


@pages.get("/sms/inbox")
async def inbox_page(request: Request, who: Agent, done: str = "") -> Response:
    return await _inbox_page(request, who, done=MESSAGES["sms_replied"] if done else "")


@pages.post("/sms/inbox/{inbound_id}/reply")
async def reply_page(request: Request, who: Agent, inbound_id: int) -> Response:
    values = await form_values(request, ("sms_text",))
    done = await attempt(reply(actor(request, who), inbound_id, values["sms_text"]))
    if isinstance(done, Refused):
        return await _inbox_page(request, who, inbound_id, done, values["sms_text"])
    return RedirectResponse("/sms/inbox?done=1", status_code=303)


async def _outbox_page(request: Request, who: Principal, refused: Refused | None = None,
                       notice: str = "") -> Response:
    c = console(request)
    outbox, page = await _outbox(c, who, request.query_params)
    no_driver = MESSAGES["sms_no_gateway_admin" if who.account.role == ADMIN
                         else "sms_no_gateway"]
    return render(request, "sms_outbox.html", refused.status_code if refused else 200,
                  user=who.account, csrf_token=who.csrf_token, outbox=outbox, page=page,
                  notice=notice, error=refused.message if refused else "",
                  no_driver=no_driver)


@pages.get("/sms/outbox")
async def outbox_page(request: Request, who: Staff, done: str = "") -> Response:
    return await _outbox_page(request, who, notice=MESSAGES["sms_requeued"] if done else "")


@pages.post("/sms/outbox/{message_id}/retry")
async def retry_page(request: Request, who: Staff, message_id: int) -> Response:
    done = await attempt(retry(actor(request, who), message_id))
    if isinstance(done, Refused):
        return await _outbox_page(request, who, done)
    return RedirectResponse("/sms/outbox?done=1", status_code=303)


# --- API --------------------------------------------------------------------------------

async def _shown(c: Console, who: Principal, message: SmsMessage) -> SmsOut:
    async with session_scope(c.sessions) as db:
        return await _out(db, message, who, c.settings.hours.timezone)


@api.get("/inbox", summary="SMS from callers still needing a reply (agents)")
async def api_inbox(request: Request, response: Response, who: Agent) -> list[SmsOut]:
    return api_page(response, await _inbox(console(request), who, request.query_params,
                                           "/api/sms/inbox"))


@api.get("/inbox/changes", response_model=None,
         responses=LIVE_RESPONSES,
         summary="server-sent events: `changed` when the inbox changes "
                 "(agents)")
async def api_inbox_changes(request: Request, who: Agent) -> EventStream:
    c = console(request)
    raw = request.query_params
    return live_changes(request, c.sessions, lambda db: inbox_stamp(c, db, raw))


@api.post("/inbox/{inbound_id}/reply", status_code=201,
          summary="queue the reply to an inbound SMS and mark it handled by you (agents)")
async def api_reply(request: Request, who: Agent, inbound_id: int, body: ReplyIn) -> SmsOut:
    message = await reply(actor(request, who), inbound_id, body.text)
    return await _shown(console(request), who, message)


@api.get("/outbox", summary="SMS not yet out of our hands, and why (agents, administrators)")
async def api_outbox(request: Request, response: Response, who: Staff) -> OutboxOut:
    outbox, page = await _outbox(console(request), who, request.query_params,
                                 "/api/sms/outbox")
    api_page(response, page)
    return outbox


@api.post("/outbox/{message_id}/retry",
          summary="send a failed SMS again from its first try (agents, administrators)")
async def api_retry(request: Request, who: Staff, message_id: int) -> SmsOut:
    message = await retry(actor(request, who), message_id)
    return await _shown(console(request), who, message)
