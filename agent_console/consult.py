"""Consultation tickets to the duty judge (Art. 5(2), 7): an agent sends a question that
cannot wait for a transfer; today's duty judge answers it on their page; the agent reads
the answer on theirs and calls the caller back (they own the matter, Art. 6)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from agent_console.auth import Console, Principal, console, require_role
from agent_console.calllog import check_contact
from agent_console.forms import Errors, Invalid, Refused, field_error, form_values
from agent_console.listing import (
    LIVE_RESPONSES,
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
from agent_console.recordings import check_call
from agent_console.service import Actor, Refusals, actor, attempt, transaction
from agent_console.texts import (
    AGENT,
    CONSULTATION_STATUS_LABELS,
    DUTY_JUDGE,
    FIELD_LABELS,
    MESSAGES,
    SEES_PERSONAL_DATA,
)
from agent_console.tickets import TICKET_CHANGES
from hotline.db import consultations, roster
from hotline.db.base import session_scope
from hotline.db.consultations import ANSWERED, ConsultationError
from hotline.db.models import Ticket, User
from hotline.db.tickets import OPEN
from hotline.hours import court_today
from hotline.privacy import mask_phone
from hotline.timefmt import local_time

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["consultations"])

Agent = Annotated[Principal, Depends(require_role(AGENT))]
Judge = Annotated[Principal, Depends(require_role(DUTY_JUDGE))]
Either = Annotated[Principal, Depends(require_role(AGENT, DUTY_JUDGE))]

TEXT_LIMIT = 4000


class ConsultationIn(BaseModel):
    question: str = ""
    contact: str = Field("", description="the caller's number, to call them back")
    call_id: str | None = None


class AnswerIn(BaseModel):
    answer: str = ""


class ConsultationOut(BaseModel):
    id: int
    reference: str
    question: str
    contact: str = Field(description="masked unless the reader's role sees personal data")
    call_id: str | None
    status: str = Field(description="open | answered")
    status_label: str
    answer: str
    created_at: str
    answered_at: str
    agent: str
    judge: str


async def _out(db: AsyncSession, ticket: Ticket, who: Principal, timezone: str
               ) -> ConsultationOut:
    answered = ticket.detail.get("answered_at", "")
    return ConsultationOut(
        id=ticket.id, reference=ticket.reference, question=ticket.text,
        contact=(ticket.caller_number if who.account.role in SEES_PERSONAL_DATA
                 else mask_phone(ticket.caller_number)),
        call_id=ticket.call_id, status=ticket.status,
        status_label=CONSULTATION_STATUS_LABELS.get(ticket.status, ticket.status),
        answer=ticket.detail.get("answer", ""), created_at=local_time(ticket.created_at, timezone),
        answered_at=local_time(datetime.fromisoformat(answered), timezone) if answered else "",
        agent=await _name(db, ticket.owner_id), judge=await _name(db, ticket.assignee_id))


async def _name(db: AsyncSession, user_id: int | None) -> str:
    user = await db.get(User, user_id) if user_id is not None else None
    return (user.display_name or user.username) if user else ""


def _text(field: str, raw: str, errors: Errors) -> str:
    value = raw.strip()
    if not value:
        errors[field] = field_error(field, "required")
    elif len(value) > TEXT_LIMIT:
        errors[field] = field_error(field, "too_long", limit=TEXT_LIMIT)
    return value


async def send(by: Actor, raw: Mapping[str, str | None]) -> Ticket:
    """Check the question (and the call it names: check_call) and send it to today's duty
    judge."""
    call_id = (raw.get("call_id") or "").strip() or None
    await check_call(by, call_id)
    errors: Errors = {}
    question = _text("question", raw.get("question") or "", errors)
    contact = check_contact((raw.get("contact") or "").strip(), errors)
    async with transaction(by) as db:
        judge = await roster.duty_judge_for_call(db, court_today(by.c.settings, by.now()),
                                                 call_id)
        if judge is None:
            errors["consult"] = field_error("consult", "no_duty_judge")
        if errors or judge is None:
            raise Invalid(errors)
        return await consultations.send_consultation(db, question, by.account.id, judge.id,
                                                     contact, call_id, by.now())


async def answer(by: Actor, ticket_id: int, raw: str) -> Ticket:
    errors: Errors = {}
    text = _text("answer", raw, errors)
    if errors:
        raise Invalid(errors)
    async with transaction(by, ANSWER_REFUSALS) as db:
        return await consultations.answer_consultation(db, ticket_id, by.account.id, text,
                                                       by.now())


def _not_answerable(refused: ConsultationError) -> Exception:
    if refused.reason == "not_found":
        return HTTPException(404, MESSAGES["not_found"])
    return Invalid({"answer": MESSAGES["consultation_answered"]})


ANSWER_REFUSALS: Refusals = {ConsultationError: _not_answerable}


CONSULTATION_SPEC = Spec(
    search=(Ticket.reference, Ticket.text), numbers=(Ticket.caller_number,),
    moment=Ticket.created_at,
    filters={"status": Filter("状态", CONSULTATION_STATUS_LABELS, lambda v: Ticket.status == v)},
    sorts={"created": Sort("时间", Ticket.created_at, Ticket.id),
           "reference": Sort("编号", Ticket.reference)},
    default_sort="created", search_hint="编号、电话号码或问题")


async def _page(c: Console, db: AsyncSession, who: Principal, raw: Mapping[str, str],
                base: str) -> Page[ConsultationOut]:
    """A page of the consultations an agent sent, or (a judge) the answered ones assigned
    to them: the open ones a judge must answer are all on their page, not paged."""
    if who.account.role == DUTY_JUDGE:
        query = consultations.list_query(judge_id=who.account.id, status=ANSWERED)
        spec = dataclasses.replace(CONSULTATION_SPEC, filters={})
    else:
        query, spec = consultations.list_query(owner_id=who.account.id), CONSULTATION_SPEC
    found = await page_of(db, query, read_query(raw, spec, c.settings.hours.timezone, base),
                          scalars=True)
    rows = [await _out(db, t, who, c.settings.hours.timezone) for t in found.rows]
    return Page(rows, found.total, found.number, found.pages, found.query)


async def list_stamp(c: Console, db: AsyncSession, who: Principal, raw: Mapping[str, str]
                     ) -> str:
    """The version of the reader's consultations: an agent's as the query string narrows
    them; a judge's all (the open ones are not paged, the answered ones are)."""
    if who.account.role == DUTY_JUDGE:
        return await stamp(db, consultations.list_query(judge_id=who.account.id), None,
                           *TICKET_CHANGES)
    wanted = read_query(raw, CONSULTATION_SPEC, c.settings.hours.timezone)
    return await stamp(db, consultations.list_query(owner_id=who.account.id), wanted,
                       *TICKET_CHANGES)


async def _open_for_judge(c: Console, db: AsyncSession, who: Principal
                          ) -> list[ConsultationOut]:
    query = consultations.list_query(judge_id=who.account.id, status=OPEN)
    return [await _out(db, t, who, c.settings.hours.timezone) for t in await db.scalars(query)]


# --- pages ------------------------------------------------------------------------------

async def _agent_page(request: Request, who: Principal, refused: Refused | None = None,
                      values: Mapping[str, str | None] | None = None, sent: str = ""
                      ) -> Response:
    c = console(request)
    async with session_scope(c.sessions) as db:
        page = await _page(c, db, who, request.query_params, "/consultations")
        judge = await roster.duty_judge_for(db, court_today(c.settings, c.clock()))
        version = await list_stamp(c, db, who, request.query_params)
    return render(request, "consultations.html", refused.status_code if refused else 200,
                  user=who.account, csrf_token=who.csrf_token, page=page, items=page.rows,
                  judge=judge, live="/api/consultations/changes", stamp=version,
                  values=values or {}, errors=refused.errors if refused else {},
                  labels=FIELD_LABELS, sent=sent)


@pages.get("/consultations")
async def consultations_page(request: Request, who: Agent, call: str = "", contact: str = "",
                             sent: str = "") -> Response:
    return await _agent_page(request, who, values={"call_id": call, "contact": contact},
                             sent=sent)


@pages.post("/consultations")
async def send_page(request: Request, who: Agent) -> Response:
    values = await form_values(request, ("question", "contact", "call_id"))
    done = await attempt(send(actor(request, who), values))
    if isinstance(done, Refused):
        dropped = {"call_id": ""} if "call" in done.errors else {}
        return await _agent_page(request, who, done, values | dropped)
    return RedirectResponse(f"/consultations?sent={done.reference}", status_code=303)


async def _judge_page(request: Request, who: Principal, ticket_id: int | None = None,
                      refused: Refused | None = None, typed: str = "") -> Response:
    """The judge's consultations; after a refused answer, its errors and the answer as
    typed beside that consultation."""
    c = console(request)
    async with session_scope(c.sessions) as db:
        open_items = await _open_for_judge(c, db, who)
        page = await _page(c, db, who, request.query_params, "/judge/consultations")
        version = await list_stamp(c, db, who, request.query_params)
    errors = {ticket_id: refused.errors} if refused and ticket_id is not None else {}
    return render(request, "judge_consultations.html", refused.status_code if refused else 200,
                  user=who.account, csrf_token=who.csrf_token, open_items=open_items,
                  live="/api/consultations/changes", stamp=version,
                  page=page, errors=errors,
                  typed={ticket_id: typed} if errors else {})


@pages.get("/judge/consultations")
async def judge_page(request: Request, who: Judge) -> Response:
    return await _judge_page(request, who)


@pages.post("/judge/consultations/{ticket_id}/answer")
async def answer_page(request: Request, who: Judge, ticket_id: int) -> Response:
    values = await form_values(request, ("answer",))
    done = await attempt(answer(actor(request, who), ticket_id, values["answer"]))
    if isinstance(done, Refused):
        return await _judge_page(request, who, ticket_id, done, values["answer"])
    return RedirectResponse("/judge/consultations", status_code=303)


# --- API --------------------------------------------------------------------------------

async def _shown(c: Console, who: Principal, ticket: Ticket) -> ConsultationOut:
    async with session_scope(c.sessions) as db:
        return await _out(db, ticket, who, c.settings.hours.timezone)


@api.get("/consultations", summary="consultations: those an agent sent, or those assigned "
                                   "to the duty judge asking")
async def api_list(request: Request, response: Response, who: Either
                   ) -> list[ConsultationOut]:
    c = console(request)
    async with session_scope(c.sessions) as db:
        query = consultations.list_query(
            owner_id=None if who.account.role == DUTY_JUDGE else who.account.id,
            judge_id=who.account.id if who.account.role == DUTY_JUDGE else None)
        wanted = read_query(request.query_params, CONSULTATION_SPEC,
                            c.settings.hours.timezone, "/api/consultations")
        found = await page_of(db, query, wanted, scalars=True)
        rows = [await _out(db, t, who, c.settings.hours.timezone) for t in found.rows]
        return api_page(response, Page(rows, found.total, found.number, found.pages, wanted))


@api.get("/consultations/changes", response_model=None,
         responses=LIVE_RESPONSES,
         summary="server-sent events: `changed` when your "
                 "consultations change (sent, answered)")
async def api_changes(request: Request, who: Either) -> EventStream:
    c = console(request)
    raw = request.query_params
    return live_changes(request, c.sessions, lambda db: list_stamp(c, db, who, raw))


@api.post("/consultations", status_code=201,
          summary="send a question to today's duty judge (agents)")
async def api_send(request: Request, who: Agent, body: ConsultationIn) -> ConsultationOut:
    ticket = await send(actor(request, who), body.model_dump())
    return await _shown(console(request), who, ticket)


@api.post("/consultations/{ticket_id}/answer",
          summary="answer a consultation assigned to you (duty judges)")
async def api_answer(request: Request, who: Judge, ticket_id: int,
                     body: AnswerIn) -> ConsultationOut:
    ticket = await answer(actor(request, who), ticket_id, body.answer)
    return await _shown(console(request), who, ticket)
