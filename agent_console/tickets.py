"""Matters after the call (Art. 5(3)-(6), 6, 8): agents forward them to a department and
follow them; the department's handler answers the caller by SMS or by a recorded call from
their desk phone, and closes them only with that proof; heads and leaders read their
departments' matters. After-hours callbacks and messages wait in a shared list that agents
take from one at a time.

Each step (forward, pick up, reply by SMS or by a call, close) is one workflow below, which
the page and the API adapt (agent_console.service). Who may do what with one ticket is
decided in hotline.access (act: forward, reply, close; read: look); a refusal is answered
403 here.
Callers' numbers are shown whole only to roles in texts.SEES_PERSONAL_DATA.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import Select, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from agent_console import appointments
from agent_console import courts as court_pages
from agent_console.auth import (
    Console,
    Forbidden,
    Principal,
    client_address,
    console,
    require_role,
)
from agent_console.forms import Invalid, Refused, field_error, form_values
from agent_console.listing import (
    LIVE_RESPONSES,
    Aggregate,
    EventStream,
    Filter,
    Page,
    Query,
    Sort,
    Spec,
    api_page,
    live_changes,
    page_of,
    read_query,
    stamp,
)
from agent_console.pages import render
from agent_console.recordings import recordings_dir, stored_file
from agent_console.service import Actor, Refusals, actor, attempt, transaction
from agent_console.texts import (
    ADMIN,
    AGENT,
    DEPT_HANDLER,
    DEPT_HEAD,
    DIAL_STATUS_LABELS,
    FIELD_LABELS,
    LEADER,
    MESSAGES,
    SEES_PERSONAL_DATA,
    TICKET_EVENT_LABELS,
    TICKET_STATUS_LABELS,
)
from hotline import ratings, tickets
from hotline.access import ACT, READ, owns_log, ticket_access
from hotline.catalog import TICKET_TYPES
from hotline.confidential import clearance, ticket_seen
from hotline.courts import court_scope, tickets_in_scope
from hotline.db import calllogs
from hotline.db import calls as calls_db
from hotline.db import courts as courts_db
from hotline.db import departments as db_departments
from hotline.db import ratings as db_ratings
from hotline.db import tickets as db_tickets
from hotline.db.base import session_scope
from hotline.db.models import (
    Department,
    Recording,
    RecordingAccess,
    SmsMessage,
    Ticket,
    TicketEvent,
    User,
)
from hotline.deadlines import overdue
from hotline.privacy import mask_phone
from hotline.sms import templates
from hotline.tickets import TicketRefused
from hotline.timefmt import local_time
from pbx import ControlError, reply_call_action

log = logging.getLogger("agent_console")
pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["tickets"])

Agent = Annotated[Principal, Depends(require_role(AGENT))]
Acting = Annotated[Principal, Depends(require_role(AGENT, DEPT_HANDLER))]
Reader = Annotated[Principal, Depends(require_role(AGENT, DEPT_HANDLER, DEPT_HEAD, LEADER,
                                                   ADMIN))]
Desk = Annotated[Principal, Depends(require_role(DEPT_HANDLER, DEPT_HEAD, LEADER))]

REFUSALS = {"closed": (409, "ticket_closed"), "no_proof": (409, "no_proof"),
            "taken": (409, "ticket_taken"), "no_number": (409, "no_number"),
            "not_mobile": (409, "not_mobile"),
            "no_handler": (409, "no_handler"), "not_found": (404, "not_found"),
            "confidential": (409, "confidential")}


class ForwardIn(BaseModel):
    department_id: int | None = None
    note: str = ""


class ReplyIn(BaseModel):
    text: str = ""


class EventOut(BaseModel):
    at: str
    kind: str
    label: str
    actor: str
    detail: dict[str, Any]


class RatingOut(BaseModel):
    at: str
    channel: str = Field(description="call (a key after a seat's call) | sms (a reply)")
    score: int = Field(description="1 满意 | 2 基本满意 | 3 不满意")
    label: str


class TicketOut(BaseModel):
    id: int
    reference: str
    type: str
    type_label: str
    status: str = Field(description="open | closed")
    status_label: str
    caller_number: str = Field(description="masked unless the reader's role sees personal data")
    text: str
    case_number: str = Field(description="from the call log the matter was made from, or "
                                         "of the call that raised it ('' when none)")
    has_audio: bool
    created_at: str
    owner: str
    assignee: str
    department: str
    forwarded_at: str
    due_at: str
    overdue: bool
    escalation_level: int = Field(description="1: the head was pushed (督办); 2: the leader")
    reply_text: str
    answer_call_id: str | None
    answer_sms_id: int | None
    answered_at: str
    closed_at: str
    may_act: bool
    history: list[EventOut] = Field(default_factory=list)
    call_number: str = Field("", description="the readable number of the call that raised it "
                                             "(with the history only)")
    answer_call_number: str = Field("", description="the reply call's readable number "
                                                    "(with the history only)")
    ratings: list[RatingOut] = Field(default_factory=list, description="the caller's "
                                     "satisfaction ratings of it (with the history only)")


# --- who may see and do what ------------------------------------------------------------

async def _access(db: AsyncSession, who: Principal, ticket: Ticket) -> str:
    """ACT or READ; Forbidden when the ticket is none of the reader's business."""
    access = await ticket_access(db, who.account.id, who.account.role, ticket)
    if access is None:
        raise Forbidden("role")
    return access


async def _ticket(db: AsyncSession, who: Principal, ticket_id: int,
                  need: str = READ) -> tuple[Ticket, str]:
    ticket = await db.get(Ticket, ticket_id)
    if ticket is None:
        raise HTTPException(404, MESSAGES["not_found"])
    access = await _access(db, who, ticket)
    if need == ACT and access != ACT:
        raise Forbidden("read_only")
    return ticket, access


async def _name(db: AsyncSession, user_id: int | None) -> str:
    user = await db.get(User, user_id) if user_id is not None else None
    return (user.display_name or user.username) if user else ""


async def _out(c: Console, db: AsyncSession, who: Principal, ticket: Ticket, access: str,
               with_history: bool = False) -> TicketOut:
    tz = c.settings.hours.timezone
    department = await db.get(Department, ticket.department_id) if ticket.department_id else None
    history = [EventOut(at=local_time(e.at, tz), kind=e.kind,
                        label=TICKET_EVENT_LABELS.get(e.kind, e.kind),
                        actor=await _name(db, e.actor_id), detail=e.detail)
               for e in await tickets.history(db, ticket.id)] if with_history else []
    case = (await db.execute(select(db_tickets.case_number().label("case"))
                             .select_from(Ticket).where(Ticket.id == ticket.id))).scalar()
    numbers = (await calls_db.readable_numbers_of_ids(
        db, (ticket.call_id, ticket.answer_call_id), tz) if with_history else {})
    return TicketOut(
        call_number=numbers.get(ticket.call_id or "", ""),
        answer_call_number=numbers.get(ticket.answer_call_id or "", ""),
        id=ticket.id, reference=ticket.reference, type=ticket.type,
        type_label=TICKET_TYPES.get(ticket.type, ticket.type), status=ticket.status,
        status_label=TICKET_STATUS_LABELS.get(ticket.status, ticket.status),
        caller_number=(ticket.caller_number if who.account.role in SEES_PERSONAL_DATA
                       else mask_phone(ticket.caller_number)),
        text=ticket.text, case_number=case or "", has_audio=bool(ticket.audio_path),
        created_at=local_time(ticket.created_at, tz), owner=await _name(db, ticket.owner_id),
        assignee=await _name(db, ticket.assignee_id),
        department=department.name if department else "",
        forwarded_at=local_time(ticket.forwarded_at, tz), due_at=local_time(ticket.due_at, tz),
        overdue=overdue(ticket, c.clock()),
        escalation_level=ticket.escalation_level, reply_text=ticket.reply_text,
        answer_call_id=ticket.answer_call_id, answer_sms_id=ticket.answer_sms_id,
        answered_at=local_time(ticket.answered_at, tz), closed_at=local_time(ticket.closed_at, tz),
        may_act=access == ACT, history=history,
        ratings=[RatingOut(at=local_time(r.rated_at, tz), channel=r.channel,
                           score=r.score or 0, label=ratings.LABELS.get(r.score or 0, ""))
                 for r in await db_ratings.of_ticket(db, ticket)] if with_history else [])


def _refused(refusal: TicketRefused) -> Refused:
    status, key = REFUSALS.get(refusal.reason, (409, "not_found"))
    return Refused(status, MESSAGES[key])


STEP_REFUSALS: Refusals = {TicketRefused: _refused}


# --- the workflows, for pages and API alike ---------------------------------------------

async def _forward(by: Actor, db: AsyncSession, ticket: Ticket, department_id: int | None,
                   note: str) -> Ticket:
    department = await db.get(Department, department_id) if department_id else None
    if department is None or not department.active:
        raise Invalid({"department": field_error("department", "choose")})
    return await tickets.forward(db, by.c.settings, ticket, department, by.account.id,
                                 by.now(), note.strip()[:500])


async def forward(by: Actor, ticket_id: int, department_id: int | None, note: str = ""
                  ) -> Ticket:
    async with transaction(by, STEP_REFUSALS) as db:
        ticket, _ = await _ticket(db, by.who, ticket_id, ACT)
        return await _forward(by, db, ticket, department_id, note)


async def _log_ticket(by: Actor, db: AsyncSession, log_id: int) -> Ticket:
    found = await calllogs.get_log(db, log_id)
    if found is None:
        raise HTTPException(404, MESSAGES["not_found"])
    if not owns_log(by.account.id, by.account.role, found):
        raise Forbidden("not_owner")
    return await tickets.ticket_for_call_log(db, found, by.now())


async def ticket_of_log(by: Actor, log_id: int) -> Ticket:
    """The ticket of a call log's matter, made on first use (the agent owns it)."""
    async with transaction(by, STEP_REFUSALS) as db:
        return await _log_ticket(by, db, log_id)


async def forward_log(by: Actor, log_id: int, department_id: int | None, note: str = ""
                      ) -> Ticket:
    async with transaction(by, STEP_REFUSALS) as db:
        return await _forward(by, db, await _log_ticket(by, db, log_id), department_id, note)


async def take_callback(by: Actor) -> Ticket | None:
    """The first callback of the list, now the agent's; None when the list is empty."""
    async with transaction(by, STEP_REFUSALS) as db:
        return await tickets.take_next(db, by.account.id, by.now())


async def pick_up(by: Actor, ticket_id: int) -> Ticket:
    async with transaction(by, STEP_REFUSALS) as db:
        return await tickets.pick_up(db, ticket_id, by.account.id, by.now())


def _reply_text(raw: str) -> str:
    text = raw.strip()
    if not text:
        raise Invalid({"reply": field_error("reply", "required")})
    if len(text) > tickets.REPLY_LIMIT:
        raise Invalid({"reply": field_error("reply", "too_long", limit=tickets.REPLY_LIMIT)})
    return text


async def reply_sms(by: Actor, ticket_id: int, raw: str) -> SmsMessage:
    """Queue the answer by SMS; the ticket closes when it is delivered."""
    if not templates.free_text_allowed(by.c.settings.sms):
        raise Refused(409, MESSAGES["sms_templates_only"])
    async with transaction(by, STEP_REFUSALS) as db:
        ticket, _ = await _ticket(db, by.who, ticket_id, ACT)
        return await tickets.reply_by_sms(db, ticket, _reply_text(raw), by.account.id,
                                          by.now())


async def reply_call(by: Actor, ticket_id: int) -> None:
    """Ring the actor's desk phone, then the caller (pbx.reply_call_action); noted on the
    ticket once the PBX has taken it."""
    extension = by.account.extension
    if not extension:
        raise Refused(409, MESSAGES["no_extension"])
    async with transaction(by, STEP_REFUSALS) as db:
        ticket, _ = await _ticket(db, by.who, ticket_id, ACT)
        if ticket.status == tickets.CLOSED:
            raise TicketRefused("closed")
        if not ticket.caller_number:
            raise TicketRefused("no_number")
        try:
            action = reply_call_action(extension, ticket.caller_number, ticket.reference,
                                       ticket.id, by.account.id)
        except ControlError as wrong:
            raise Refused(409, str(wrong)) from None
    try:
        if by.control is None:
            raise ControlError("the console runs without a PBX")
        await by.control.originate(action)
    except ControlError as exc:
        log.warning("reply call for ticket %s failed: %s", ticket_id, exc)
        raise Refused(503, MESSAGES["pbx_down"]) from None
    async with transaction(by, STEP_REFUSALS) as db:
        ticket, _ = await _ticket(db, by.who, ticket_id, ACT)
        await tickets.note_reply_call(db, ticket, by.account.id, extension, by.now())


async def close(by: Actor, ticket_id: int) -> tickets.Proof:
    """Close the ticket on the proof of an answer (a reply call's recording, a delivered
    reply SMS)."""
    async with transaction(by, STEP_REFUSALS) as db:
        ticket, _ = await _ticket(db, by.who, ticket_id, ACT)
        return await tickets.close(db, ticket, by.account.id, by.now(), by.c.settings)


async def _base(db: AsyncSession, who: Principal) -> tuple[Select[Ticket], list[Department]]:
    """The matters who's list holds (before any search), and the departments it spans."""
    me, role = who.account.id, who.account.role
    if role == DEPT_HANDLER:
        return db_tickets.handler_list(me), []
    if role == AGENT:
        return db_tickets.owner_list(me), await db_departments.list_departments(db)
    if role == ADMIN:  # a basic court's administrator: its court's matters (issue 17)
        scope = await court_scope(db, me)
        return (db_tickets.forwarded_list().where(tickets_in_scope(scope)),
                await db_departments.list_departments(db, court_id=scope))
    mine = await db_departments.departments_of(db, me)
    return db_tickets.departments_list([d.id for d in mine]), mine


def ticket_spec(departments: list[Department], callbacks: bool = False) -> Spec:
    """What a list of matters may be searched, filtered and sorted by. The default order
    is the list's own (open first and soonest due; callbacks in the callers' order)."""
    filters = {"type": Filter("类型", TICKET_TYPES, lambda v: Ticket.type == v)}
    if not callbacks:
        filters["status"] = Filter("状态", {k: TICKET_STATUS_LABELS[k] for k in ("open", "closed")},
                                   lambda v: Ticket.status == v)
    if len(departments) > 1:
        # by name, as the API has always taken it; names are unique only within a court
        # (migration 0023), so a name two courts share means both of the list's
        names = {d.name: d.name for d in departments}
        filters["department"] = Filter("部门", names, lambda v: Ticket.department_id.in_(
            [d.id for d in departments if d.name == v]))
    return Spec(search=(Ticket.reference, Ticket.text, Ticket.reply_text),
                cases=(db_tickets.case_number(),),
                numbers=(Ticket.caller_number,), moment=Ticket.created_at, filters=filters,
                sorts={"reference": Sort("编号", Ticket.reference),
                       "created": Sort("登记时间", Ticket.created_at, Ticket.id),
                       "due": Sort("答复期限", Ticket.due_at, Ticket.id)},
                search_hint="事项编号、案号、电话号码或内容")


async def _wanted(c: Console, db: AsyncSession, who: Principal, raw: Mapping[str, str],
                  base: str, callbacks: bool = False) -> tuple[Select[Ticket], Query]:
    """The list's query (what the reader may see) and what the query string asks of it."""
    departments: list[Department] = []
    if callbacks:
        query = db_tickets.callbacks_list()
    else:
        query, departments = await _base(db, who)
    seen = await clearance(db, who.account.id, who.account.role)
    return query.where(ticket_seen(seen)), read_query(
        raw, ticket_spec(departments, callbacks), c.settings.hours.timezone, base=base)


# What changes in a matter that stays on a list: its state, a 督办, and every step (forward,
# reply, close: each writes an event).
TICKET_CHANGES: tuple[Aggregate, ...] = (
    lambda listed: func.sum(case((listed.c.status == db_tickets.OPEN, listed.c.id), else_=0)),
    lambda listed: func.sum(listed.c.escalation_level),
    lambda listed: (select(func.max(TicketEvent.id))
                    .where(TicketEvent.ticket_id.in_(select(listed.c.id))).scalar_subquery()),
)


async def list_stamp(c: Console, db: AsyncSession, who: Principal, raw: Mapping[str, str],
                     callbacks: bool = False) -> str:
    """The version of the reader's list of matters as the query string narrows it."""
    query, wanted = await _wanted(c, db, who, raw, "", callbacks)
    return await stamp(db, query, wanted, *TICKET_CHANGES)


async def _page(c: Console, db: AsyncSession, who: Principal, raw: Mapping[str, str],
                base: str, callbacks: bool = False) -> Page[TicketOut]:
    query, wanted = await _wanted(c, db, who, raw, base, callbacks)
    found = await page_of(db, query, wanted, scalars=True)
    rows = [await _out(c, db, who, t, READ if callbacks else await _access(db, who, t))
            for t in found.rows]
    return Page(rows, found.total, found.number, found.pages, found.query)


# --- pages ------------------------------------------------------------------------------

async def _list_page(request: Request, who: Principal, title: str, callbacks: bool = False,
                     notice: str = "") -> Response:
    c = console(request)
    async with session_scope(c.sessions) as db:
        page = await _page(c, db, who, request.query_params, request.url.path, callbacks)
        version = await list_stamp(c, db, who, request.query_params, callbacks)
    live = "/api/tickets/callbacks/changes" if callbacks else "/api/tickets/changes"
    return render(request, "tickets.html", user=who.account, csrf_token=who.csrf_token,
                  page=page, items=page.rows, title=title, callbacks=callbacks, notice=notice,
                  live=live, stamp=version)


@pages.get("/handler")
async def handler_page(request: Request, who: Desk) -> Response:
    title = "部门待办事项" if who.account.role == DEPT_HANDLER else "本部门转办事项（只读）"
    return await _list_page(request, who, title)


@pages.get("/tickets/mine")
async def mine_page(request: Request, who: Agent, notice: str = "") -> Response:
    return await _list_page(request, who, "我负责的事项", notice=notice)


@pages.get("/callbacks")
async def callbacks_page(request: Request, who: Agent, notice: str = "") -> Response:
    return await _list_page(request, who, "非工作时间回电清单", callbacks=True, notice=notice)


@pages.post("/callbacks/take")
async def take_page(request: Request, who: Agent) -> Response:
    ticket = await take_callback(actor(request, who))
    if ticket is None:
        return RedirectResponse("/callbacks?notice=no_callbacks", status_code=303)
    return RedirectResponse(f"/tickets/{ticket.id}", status_code=303)


async def _ticket_page(request: Request, who: Principal, ticket_id: int,
                       refused: Refused | None = None, values: dict[str, str] | None = None,
                       notice: str = "") -> Response:
    """The ticket; after a refused step, with its status, its message or field errors,
    and the form as typed."""
    c = console(request)
    async with session_scope(c.sessions) as db:
        ticket, access = await _ticket(db, who, ticket_id)
        item = await _out(c, db, who, ticket, access, with_history=True)
        departments = await db_departments.list_departments(db, active_only=True)
        courts = await courts_db.list_courts(db)
        appointment = await appointments.view(c, db, ticket)
    return render(request, "ticket.html", refused.status_code if refused else 200,
                  appointment=appointment,
                  user=who.account, csrf_token=who.csrf_token, t=item,
                  departments=court_pages.department_choices(departments, courts,
                                                             ticket.court_id),
                  court=next((x.name for x in courts if x.id == ticket.court_id), "")
                  if len(courts) > 1 else "",
                  errors=refused.errors if refused else {}, values=values or {},
                  labels=FIELD_LABELS, notice=notice, error=refused.message if refused else "",
                  dial_labels=DIAL_STATUS_LABELS)


# The ticket's page after another area's step on it (agent_console.appointments).
render_ticket_page = _ticket_page


@pages.get("/tickets/{ticket_id}")
async def ticket_page(request: Request, who: Reader, ticket_id: int,
                      notice: str = "") -> Response:
    return await _ticket_page(request, who, ticket_id, notice=notice)


async def _step_page(request: Request, who: Principal, ticket_id: int, step: Awaitable[Any],
                     notice: str, values: dict[str, str] | None = None) -> Response:
    """A step from the ticket's page: back to the ticket with the notice, or the page again
    with the refusal."""
    done = await attempt(step)
    if isinstance(done, Refused):
        return await _ticket_page(request, who, ticket_id, done, values)
    return RedirectResponse(f"/tickets/{ticket_id}?notice={notice}", status_code=303)


@pages.post("/tickets/{ticket_id}/forward")
async def forward_page(request: Request, who: Acting, ticket_id: int) -> Response:
    values = await form_values(request, ("department", "note"))
    raw = values["department"]
    step = forward(actor(request, who), ticket_id, int(raw) if raw.isdigit() else None,
                   values["note"])
    return await _step_page(request, who, ticket_id, step, "forwarded", values)


@pages.post("/tickets/{ticket_id}/pick-up")
async def pick_up_page(request: Request, who: Agent, ticket_id: int) -> Response:
    if isinstance(await attempt(pick_up(actor(request, who), ticket_id)), Refused):
        return RedirectResponse("/callbacks?notice=ticket_taken", status_code=303)
    return RedirectResponse(f"/tickets/{ticket_id}?notice=saved", status_code=303)


@pages.post("/tickets/{ticket_id}/reply-sms")
async def reply_sms_page(request: Request, who: Acting, ticket_id: int) -> Response:
    values = await form_values(request, ("reply",))
    step = reply_sms(actor(request, who), ticket_id, values["reply"])
    return await _step_page(request, who, ticket_id, step, "reply_queued", values)


@pages.post("/tickets/{ticket_id}/reply-call")
async def reply_call_page(request: Request, who: Acting, ticket_id: int) -> Response:
    step = reply_call(actor(request, who), ticket_id)
    return await _step_page(request, who, ticket_id, step, "reply_calling")


@pages.post("/tickets/{ticket_id}/close")
async def close_page(request: Request, who: Acting, ticket_id: int) -> Response:
    return await _step_page(request, who, ticket_id, close(actor(request, who), ticket_id),
                            "closed_ok")


@pages.post("/calls/logs/{log_id}/forward")
async def forward_log_page(request: Request, who: Agent, log_id: int) -> Response:
    """The matter of a call log becomes a ticket (the agent owns it) shown for forwarding."""
    ticket = await ticket_of_log(actor(request, who), log_id)
    return RedirectResponse(f"/tickets/{ticket.id}#forward", status_code=303)


@pages.get("/tickets/{ticket_id}/audio")
async def audio(request: Request, who: Acting, ticket_id: int) -> Response:
    """The caller's voice message, to the owner agent and the handler only; every play and
    every refusal is written to the recordings' access log."""
    c = console(request)
    async with session_scope(c.sessions) as db:
        ticket = await db.get(Ticket, ticket_id)
        if ticket is None or not ticket.audio_path:
            raise HTTPException(404, MESSAGES["not_found"])
        query = select(Recording.id).where(Recording.path == ticket.audio_path)
        recording_id = (await db.execute(query)).scalar_one_or_none()
        access = await ticket_access(db, who.account.id, who.account.role, ticket)
        db.add(RecordingAccess(recording_id=recording_id, user_id=who.account.id,
                               action="play" if access == ACT else "denied",
                               address=client_address(request),
                               reason=f"ticket {ticket.reference}"))
    if access != ACT:
        raise Forbidden("role")
    path = stored_file(recordings_dir(request), ticket.audio_path)
    if path is None:
        raise HTTPException(404, MESSAGES["not_found"])
    return FileResponse(path, media_type="audio/wav")


# --- API --------------------------------------------------------------------------------

async def _shown(by: Actor, ticket_id: int) -> TicketOut:
    """A ticket after the actor's step on it, with its whole history."""
    async with session_scope(by.c.sessions) as db:
        ticket = await db.get(Ticket, ticket_id)
        assert ticket is not None, "a ticket a step has just written"
        return await _out(by.c, db, by.who, ticket, ACT, with_history=True)


@api.get("/tickets", summary="your tickets: an agent's own, a handler's forwarded ones, a "
                             "head's or leader's departments' (read only)")
async def api_list(request: Request, response: Response, who: Reader) -> list[TicketOut]:
    c = console(request)
    async with session_scope(c.sessions) as db:
        return api_page(response, await _page(c, db, who, request.query_params,
                                              "/api/tickets"))


@api.get("/tickets/callbacks", summary="after-hours callbacks and messages no agent has taken")
async def api_callbacks(request: Request, response: Response, who: Agent
                        ) -> list[TicketOut]:
    c = console(request)
    async with session_scope(c.sessions) as db:
        return api_page(response, await _page(c, db, who, request.query_params,
                                              "/api/tickets/callbacks", callbacks=True))


@api.get("/tickets/changes", response_model=None,
         responses=LIVE_RESPONSES,
         summary="server-sent events: `changed` when your list of "
                 "matters (as the query string narrows it) changes")
async def api_changes(request: Request, who: Reader) -> EventStream:
    c = console(request)
    raw = request.query_params
    return live_changes(request, c.sessions, lambda db: list_stamp(c, db, who, raw))


@api.get("/tickets/callbacks/changes", response_model=None,
         responses=LIVE_RESPONSES,
         summary="server-sent events: `changed` when the "
                 "callback list changes")
async def api_callback_changes(request: Request, who: Agent) -> EventStream:
    c = console(request)
    raw = request.query_params
    return live_changes(request, c.sessions,
                        lambda db: list_stamp(c, db, who, raw, callbacks=True))


@api.post("/tickets/callbacks/take", summary="take the first callback of the list (agents); "
                                             "204 when the list is empty",
          response_model=TicketOut, responses={204: {"description": "the list is empty"}})
async def api_take(request: Request, who: Agent) -> Response:
    by = actor(request, who)
    ticket = await take_callback(by)
    if ticket is None:
        return Response(status_code=204)
    item = await _shown(by, ticket.id)
    return Response(item.model_dump_json(), media_type="application/json")


@api.get("/tickets/{ticket_id}", summary="one ticket with its whole history")
async def api_get(request: Request, who: Reader, ticket_id: int) -> TicketOut:
    c = console(request)
    async with session_scope(c.sessions) as db:
        ticket, access = await _ticket(db, who, ticket_id)
        return await _out(c, db, who, ticket, access, with_history=True)


@api.post("/tickets/{ticket_id}/forward", summary="forward to a department; its handler is "
                                                  "notified and the 2-working-day count starts")
async def api_forward(request: Request, who: Acting, ticket_id: int,
                      body: ForwardIn) -> TicketOut:
    by = actor(request, who)
    await forward(by, ticket_id, body.department_id, body.note)
    return await _shown(by, ticket_id)


@api.post("/tickets/{ticket_id}/pick-up", summary="become the owner of an untaken ticket")
async def api_pick_up(request: Request, who: Agent, ticket_id: int) -> TicketOut:
    by = actor(request, who)
    await pick_up(by, ticket_id)
    return await _shown(by, ticket_id)


@api.post("/tickets/{ticket_id}/reply-sms", summary="answer the caller by SMS; the ticket "
                                                    "closes when the SMS is delivered")
async def api_reply_sms(request: Request, who: Acting, ticket_id: int,
                        body: ReplyIn) -> TicketOut:
    by = actor(request, who)
    await reply_sms(by, ticket_id, body.text)
    return await _shown(by, ticket_id)


@api.post("/tickets/{ticket_id}/reply-call", status_code=202,
          summary="ring your desk phone, then the caller; the call is recorded and linked")
async def api_reply_call(request: Request, who: Acting, ticket_id: int) -> dict[str, str]:
    await reply_call(actor(request, who), ticket_id)
    return {"message": MESSAGES["reply_calling"]}


@api.post("/tickets/{ticket_id}/close", summary="close: 409 unless a linked reply call's "
                                                "recording or a delivered reply SMS proves it")
async def api_close(request: Request, who: Acting, ticket_id: int) -> TicketOut:
    by = actor(request, who)
    await close(by, ticket_id)
    return await _shown(by, ticket_id)


@api.post("/call-logs/{log_id}/forward", summary="forward a call log's matter: its ticket "
                                                 "(created on first use) goes to a department")
async def api_forward_log(request: Request, who: Agent, log_id: int,
                          body: ForwardIn) -> TicketOut:
    by = actor(request, who)
    ticket = await forward_log(by, log_id, body.department_id, body.note)
    return await _shown(by, ticket.id)
