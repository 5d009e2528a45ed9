"""The call log (Art. 9): the agent's form for each call, their own list, and everyone's
list for leaders and administrators. Pages and API file and change a log through the same
workflows (file_log, change_log), which check input with check_log.

The agent who saves a log owns it (Art. 6) and alone may change it (hotline.access decides;
a refusal is a 403 here). Contact and ID numbers
are shown whole only to roles in texts.SEES_PERSONAL_DATA.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from agent_console import appointments
from agent_console.auth import Console, Forbidden, Principal, console, require_role
from agent_console.forms import Errors, Invalid, Refused, field_error, form_values
from agent_console.listing import (
    Filter,
    Page,
    Sort,
    Spec,
    api_page,
    by_user,
    page_of,
    read_query,
    staff_choices,
)
from agent_console.pages import render
from agent_console.recordings import call_allowed, check_call, not_your_call
from agent_console.service import Actor, actor, attempt, transaction
from agent_console.texts import (
    ADMIN,
    AGENT,
    CALLER_KIND_LABELS,
    CONSULTATION_STATUS_LABELS,
    FIELD_LABELS,
    LEADER,
    MESSAGES,
    OUTCOME_LABELS,
    SEES_PERSONAL_DATA,
)
from hotline import tickets
from hotline.access import may_read_log_now, owns_log
from hotline.catalog import APPOINTMENT_KINDS, SERVICES
from hotline.confidential import clearance, log_seen
from hotline.courts import court_of_case, court_scope, logs_in_scope
from hotline.db import calllogs, consultations, roster
from hotline.db import calls as calls_db
from hotline.db import courts as courts_db
from hotline.db import departments as db_departments
from hotline.db.base import session_scope
from hotline.db.calllogs import CALLER_KINDS, OUTCOMES, LogFields, LogRow
from hotline.db.models import CallLog, Court
from hotline.hours import court_today
from hotline.identity import IdNumberError, normalize_case_number, normalize_id_number
from hotline.phonenumbers import PhoneNumberError, contact_number
from hotline.privacy import mask_phone, mask_text
from hotline.timefmt import local_time

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["call logs"])

Writer = Annotated[Principal, Depends(require_role(AGENT))]
Reader = Annotated[Principal, Depends(require_role(AGENT, LEADER, ADMIN))]

FIELDS = ("caller_name", "caller_kind", "contact", "id_number", "case_number", "category",
          "question", "answer", "outcome")
LIMITS = {"caller_name": 60, "id_number": 20, "case_number": 60, "question": 4000,
          "answer": 4000}
# Outcomes where the agent told the caller something, and must write down what.
ANSWER_NEEDED = ("answered", "substantive")


# --- checking what was typed ------------------------------------------------------------

def check_log(raw: Mapping[str, str], courts: Sequence[Court] = ()) -> LogFields:
    """The log's fields, checked and normalised; Invalid naming every wrong field.
    courts: the active courts; with more than one, the log names its court (raw "court")."""
    values = {name: raw.get(name, "").strip() for name in FIELDS}
    errors: Errors = {}
    for name in ("caller_name", "contact", "question"):
        if not values[name]:
            errors[name] = field_error(name, "required")
    for name, choices in (("caller_kind", CALLER_KINDS), ("category", tuple(SERVICES)),
                          ("outcome", OUTCOMES)):
        if values[name] not in choices:
            errors[name] = field_error(name, "choose")
    for name, limit in LIMITS.items():
        if len(values[name]) > limit and name not in errors:
            errors[name] = field_error(name, "too_long", limit=limit)
    values["contact"] = check_contact(values["contact"], errors)
    values["id_number"] = _check_id_number(values["id_number"], errors)
    values["case_number"] = _check_case_number(values["case_number"], errors)
    if values["outcome"] in ANSWER_NEEDED and not values["answer"]:
        errors.setdefault("answer", field_error("answer", "answer_needed"))
    court_id = _check_court(raw.get("court", "").strip(), values["case_number"], courts,
                            errors)
    if errors:
        raise Invalid(errors)
    return LogFields(**values, court_id=court_id)


def _check_court(value: str, case_number: str, courts: Sequence[Court],
                 errors: Errors) -> int | None:
    """The court the agent picked; left empty, the case number's court, else the centre's.
    None with one court: nothing to pick, the matter's court is decided as before."""
    if len(courts) < 2:
        return None
    if not value:
        named = court_of_case(courts, case_number)
        return (named or next((c for c in courts if c.centre), courts[0])).id
    picked = next((c for c in courts if str(c.id) == value), None)
    if picked is None:
        errors["court"] = field_error("court", "no_court")
        return None
    return picked.id


def check_contact(value: str, errors: Errors) -> str:
    """A number we can call back or text (hotline.phonenumbers), kept in its normal form;
    what was typed stays in the form when it is refused."""
    if not value:
        return value
    try:
        return contact_number(value)
    except PhoneNumberError as refused:
        errors["contact"] = field_error("contact", "phone", reason=str(refused))
        return value


def _check_id_number(value: str, errors: Errors) -> str:
    if not value:
        return ""
    try:
        return normalize_id_number(value)
    except IdNumberError as refused:
        errors["id_number"] = field_error("id_number", f"id_{refused.reason}")
        return value


def _check_case_number(value: str, errors: Errors) -> str:
    if not value or "case_number" in errors:
        return value
    normal = normalize_case_number(value)
    if normal is None:
        errors["case_number"] = field_error("case_number", "case_number")
        return value
    return normal


# --- what the lists and the API show ----------------------------------------------------

class ConsultationOut(BaseModel):
    reference: str
    status: str
    status_label: str
    answer: str


class CallLogIn(BaseModel):
    """A call log as typed. Every field is text: the checks, not the parser, refuse bad
    input, so each error names its field in Chinese."""

    caller_name: str = ""
    caller_kind: str = Field("", description="party | lawyer | public")
    contact: str = ""
    id_number: str = ""
    case_number: str = ""
    category: str = Field("", description="one of hotline.catalog.SERVICES")
    question: str = ""
    answer: str = ""
    outcome: str = Field("", description="answered | duty_judge | forwarded | substantive")
    court: str = Field("", description="the court's id (GET /api/courts) its matter belongs "
                                       "to, when more than one court is active; empty: the "
                                       "case number's court, else the centre's")
    call_id: str | None = None
    send_to_duty_judge: bool = Field(
        False, description="also send the question to today's duty judge as a consultation")
    appointment_kind: str = Field("", description="category appointment: filing | mediation | "
                                                  "meet_judge | video_petition")
    preferred: list[str] = Field(default_factory=list,
                                 description="category appointment: the half-days the caller "
                                             "prefers, as 2026-12-03/am (the next 5 working "
                                             "days')")
    about_staff: bool = Field(
        False, description="a complaint about the court's staff: confidential, forwarded to "
                           "the discipline department ([court] discipline_department)")
    accused_department_id: int | None = Field(
        None, description="the department complained about (about_staff only)")


class CallLogOut(BaseModel):
    id: int
    call_id: str | None
    call_number: str = Field("", description="the call's readable number, e.g. 20261201-0042 "
                                             "(in lists)")
    owner: str
    created_at: str
    caller_name: str
    caller_kind: str
    caller_kind_label: str
    contact: str = Field(description="masked unless the reader's role sees personal data")
    id_number: str
    case_number: str
    category: str
    category_label: str
    question: str
    answer: str
    outcome: str
    outcome_label: str
    consultation: ConsultationOut | None
    editable: bool
    court_id: int | None = Field(None, description="the court the agent picked (issue 17); "
                                                   "null: the case number's, else the centre's")

    @classmethod
    def of(cls, row: LogRow, reader: Principal, timezone: str,
           call_numbers: Mapping[str, str] | None = None) -> CallLogOut:
        log, whole = row.log, reader.account.role in SEES_PERSONAL_DATA
        return cls(
            id=log.id, call_id=log.call_id,
            call_number=(call_numbers or {}).get(log.call_id or "", ""), owner=row.owner_name,
            created_at=local_time(log.created_at, timezone), caller_name=log.caller_name,
            caller_kind=log.caller_kind,
            caller_kind_label=CALLER_KIND_LABELS.get(log.caller_kind, log.caller_kind),
            contact=log.contact if whole else mask_phone(log.contact),
            id_number=log.id_number if whole else mask_text(log.id_number),
            case_number=log.case_number, category=log.category,
            category_label=SERVICES.get(log.category, log.category),
            question=log.question, answer=log.answer, outcome=log.outcome,
            outcome_label=OUTCOME_LABELS.get(log.outcome, log.outcome),
            consultation=_consultation(row), editable=_owns(reader, log),
            court_id=log.court_id)


def _consultation(row: LogRow) -> ConsultationOut | None:
    ticket = row.ticket
    if ticket is None:
        return None
    return ConsultationOut(reference=ticket.reference, status=ticket.status,
                           status_label=CONSULTATION_STATUS_LABELS.get(ticket.status,
                                                                       ticket.status),
                           answer=ticket.detail.get("answer", ""))


def _owns(who: Principal, log: CallLog) -> bool:
    return owns_log(who.account.id, who.account.role, log)


# --- the workflows, for pages and API alike ---------------------------------------------

async def file_log(by: Actor, raw: Mapping[str, str], call_id: str | None,
                   consult: bool, about_staff: bool = False,
                   accused_department: str = "", appointment_kind: str = "",
                   preferred: Sequence[str] = ()) -> CallLog:
    """Save a new log of the call (checked first: check_call), and with consult its
    question as a consultation to today's duty judge. about_staff: a complaint about the
    court's staff, confidential and forwarded to the discipline department at once
    (hotline.confidential); the agent no longer sees it once filed. An appointment (its
    kind, the half-days the caller prefers) becomes the agent's matter at once."""
    await check_call(by, call_id)
    fields = check_log(raw, await _courts(by.c))
    if about_staff and fields.category != "complaint":
        raise Invalid({"about_staff": field_error("about_staff", "about_staff_category")})
    async with transaction(by) as db:
        judge_id = await _todays_judge(by, db, fields.court_id) if consult else None
        accused = await _accused(db, accused_department) if about_staff else None
        asked = await appointments.check_log_request(by.c, db, fields.category,
                                                     appointment_kind, preferred)
        log = await calllogs.create_log(db, fields, by.account.id, call_id or None, by.now())
        if asked is not None:
            await appointments.file_log_request(by, db, log, *asked)
        if about_staff:
            await _file_confidential(by, db, log, accused)
            return log
        if judge_id is not None:
            ticket = await consultations.send_consultation(
                db, fields.question, by.account.id, judge_id, fields.contact, log.call_id,
                by.now(), court_id=fields.court_id)
            await calllogs.link_ticket(db, log, ticket.id)
    return log


async def _accused(db: AsyncSession, raw: str) -> int | None:
    if not raw.strip():
        return None
    department = (await db_departments.get_department(db, int(raw))
                  if raw.strip().isdigit() and len(raw.strip()) < 10 else None)
    if department is None:
        raise Invalid({"accused_department": field_error("accused_department",
                                                         "no_department")})
    return department.id


async def _file_confidential(by: Actor, db: AsyncSession, log: CallLog,
                             accused: int | None) -> None:
    log.confidential = True
    ticket = await tickets.ticket_for_call_log(db, log, by.now())
    await tickets.make_confidential(db, by.c.settings, ticket, by.account.id, accused,
                                    by.now())


async def _todays_judge(by: Actor, db: AsyncSession, court_id: int | None) -> int:
    """Today's duty judge of the log's court (the centre's when it has none today)."""
    judge = await roster.duty_judge_for(db, court_today(by.c.settings, by.now()), court_id)
    if judge is None:
        raise Invalid({"consult": field_error("consult", "no_duty_judge")})
    return judge.id


async def change_log(by: Actor, log_id: int, raw: Mapping[str, str]) -> CallLog:
    """Change a log (its owner only)."""
    courts = await _courts(by.c)
    async with transaction(by) as db:
        log = await _owned_log(db, by.who, log_id)
        fields = check_log(raw, courts)
        if log.ticket_id is not None:  # its matter's court moves by forwarding, not here
            fields = dataclasses.replace(fields, court_id=log.court_id)
        return await calllogs.update_log(db, log, fields, by.now())


async def _courts(c: Console) -> list[Court]:
    async with session_scope(c.sessions) as db:
        return await courts_db.list_courts(db, active_only=True)


def court_choices(courts: Sequence[Court]) -> dict[str, str]:
    """The form's 所属法院 choices ({} with one court: the field is not shown)."""
    return {str(c.id): courts_db.court_label(c) for c in courts} if len(courts) > 1 else {}


async def _owned_log(db: AsyncSession, who: Principal, log_id: int) -> CallLog:
    log = await calllogs.get_log(db, log_id)
    if log is None:
        raise HTTPException(404, MESSAGES["not_found"])
    if not _owns(who, log):
        raise Forbidden("not_owner")
    return log


# --- pages ------------------------------------------------------------------------------

def _form(request: Request, who: Principal, values: Mapping[str, str | None],
          refused: Refused | None = None, log_id: int | None = None,
          has_consultation: bool = False,
          departments: Mapping[str, str] | None = None,
          half_days: Mapping[str, str] | None = None,
          preferred: Sequence[str] = (), courts: Mapping[str, str] | None = None
          ) -> Response:
    return render(request, "calllog_form.html", refused.status_code if refused else 200,
                  courts=courts or {},
                  departments=departments or {}, half_days=half_days or {},
                  preferred=preferred, appointment_kinds=APPOINTMENT_KINDS,
                  user=who.account, csrf_token=who.csrf_token, values=values,
                  errors=refused.errors if refused else {}, log_id=log_id,
                  has_consultation=has_consultation, labels=FIELD_LABELS,
                  kinds=CALLER_KIND_LABELS, services=SERVICES, outcomes=OUTCOME_LABELS)


async def _departments(request: Request) -> dict[str, str]:
    """The departments a complaint about staff may name (the form's select)."""
    async with session_scope(console(request).sessions) as db:
        found = await db_departments.list_departments(db, active_only=True)
    return {str(d.id): d.name for d in found}


@pages.get("/calls/log")
async def new_log_form(request: Request, who: Writer, call: str = "") -> Response:
    values: dict[str, str | None] = {"call_id": call}
    departments = await _departments(request)
    half_days = await appointments.half_day_choices(console(request))
    if call:
        found = await call_allowed(actor(request, who), call)
        if found is None:
            return _form(request, who, {"call_id": ""}, not_your_call(),
                         departments=departments, half_days=half_days,
                         courts=court_choices(await _courts(console(request))))
        values["contact"] = found.caller_number
    return _form(request, who, values, departments=departments, half_days=half_days,
                 courts=court_choices(await _courts(console(request))))


@pages.post("/calls/log")
async def save_new_log(request: Request, who: Writer) -> Response:
    values = await form_values(request, (*FIELDS, "court", "call_id", "consult",
                                         "about_staff", "accused_department",
                                         "appointment_kind"))
    preferred = [v for v in (await request.form()).getlist("preferred") if isinstance(v, str)]
    done = await attempt(file_log(actor(request, who), values, values["call_id"],
                                  values["consult"] == "1", values["about_staff"] == "1",
                                  values["accused_department"], values["appointment_kind"],
                                  preferred))
    if isinstance(done, Refused):
        # What was typed is kept; a refused call's link is dropped, so saving again saves
        # the log unlinked.
        dropped = {"call_id": ""} if "call" in done.errors else {}
        return _form(request, who, values | dropped, done,
                     departments=await _departments(request),
                     half_days=await appointments.half_day_choices(console(request)),
                     preferred=preferred,
                     courts=court_choices(await _courts(console(request))))
    if done.confidential:
        return RedirectResponse("/calls/logs?confidential=1", status_code=303)
    return RedirectResponse(f"/calls/logs?saved={done.id}", status_code=303)


async def _edit_form(request: Request, who: Principal, log_id: int,
                     typed: Mapping[str, str] | None = None,
                     refused: Refused | None = None) -> Response:
    async with session_scope(console(request).sessions) as db:
        log = await _owned_log(db, who, log_id)
    values = dict(typed) if typed else {name: getattr(log, name) for name in FIELDS}
    if not typed:
        values["court"] = str(log.court_id or "")
    return _form(request, who, values | {"call_id": log.call_id}, refused, log_id=log.id,
                 has_consultation=log.ticket_id is not None,
                 courts=court_choices(await _courts(console(request))))


@pages.get("/calls/log/{log_id}")
async def edit_log_form(request: Request, who: Writer, log_id: int) -> Response:
    return await _edit_form(request, who, log_id)


@pages.post("/calls/log/{log_id}")
async def save_log(request: Request, who: Writer, log_id: int) -> Response:
    values = await form_values(request, (*FIELDS, "court"))
    done = await attempt(change_log(actor(request, who), log_id, values))
    if isinstance(done, Refused):
        return await _edit_form(request, who, log_id, values, done)
    return RedirectResponse(f"/calls/logs?saved={log_id}", status_code=303)


@pages.get("/calls/logs")
async def list_logs(request: Request, who: Reader, saved: int | None = None,
                    confidential: int = 0) -> Response:
    page = await _page(request, who)
    return render(request, "calllogs.html", user=who.account, csrf_token=who.csrf_token,
                  page=page, logs=page.rows, saved=saved, mine=who.account.role == AGENT,
                  confidential=confidential == 1)


async def log_spec(db: AsyncSession, who: Principal) -> Spec:
    """What the call-log list may be searched, filtered and sorted by: an agent's own
    logs, or (leaders, administrators) everyone's with a filter by agent."""
    filters = {"category": Filter("事项类别", SERVICES, lambda v: CallLog.category == v),
               "outcome": Filter("处理结果", OUTCOME_LABELS, lambda v: CallLog.outcome == v)}
    if who.account.role != AGENT:
        filters["agent"] = Filter("座席员", await staff_choices(db, AGENT),
                                  by_user(CallLog.owner_id))
    return Spec(search=(CallLog.caller_name, CallLog.question, CallLog.answer),
                cases=(CallLog.case_number,), numbers=(CallLog.contact,),
                moment=CallLog.created_at, filters=filters,
                sorts={"time": Sort("登记时间", CallLog.created_at, CallLog.id),
                       "caller": Sort("来电人", CallLog.caller_name, CallLog.id),
                       "category": Sort("事项类别", CallLog.category, CallLog.id)},
                default_sort="time", search_hint="电话号码、案号、姓名或内容")


async def _page(request: Request, who: Principal,
                raw: Mapping[str, str] | None = None) -> Page[CallLogOut]:
    c = console(request)
    owner = who.account.id if who.account.role == AGENT else None
    async with session_scope(c.sessions) as db:
        wanted = read_query(request.query_params if raw is None else raw,
                            await log_spec(db, who), c.settings.hours.timezone,
                            base="/calls/logs")
        seen = await clearance(db, who.account.id, who.account.role)
        query = calllogs.list_query(owner).where(log_seen(seen))
        if owner is None:  # a basic court's leader or administrator: its matters' logs
            query = query.where(logs_in_scope(await court_scope(db, who.account.id)))
        found = await page_of(db, query, wanted)
        tz = c.settings.hours.timezone
        numbers = await calls_db.readable_numbers_of_ids(
            db, (row[0].call_id for row in found.rows), tz)
    return found.map(lambda row: CallLogOut.of(calllogs.as_row(row), who, tz, numbers))


# --- API --------------------------------------------------------------------------------

async def _shown(c: Console, who: Principal, log_id: int) -> CallLogOut:
    async with session_scope(c.sessions) as db:
        row = await calllogs.log_row(db, log_id)
    if row is None:
        raise HTTPException(404, MESSAGES["not_found"])
    return CallLogOut.of(row, who, c.settings.hours.timezone)


@api.get("/calllogs", summary="call logs: an agent's own; every agent's for leaders and "
                              "administrators (numbers masked for them). The list's query "
                              "parameters (q, start, end, category, outcome, agent, sort, "
                              "dir, page) apply; X-Total-Count and Link tell the rest")
async def api_list_logs(request: Request, response: Response, who: Reader
                        ) -> list[CallLogOut]:
    return api_page(response, await _page(request, who))


@api.post("/calllogs", status_code=201, summary="log a call (agents); 422 names each wrong "
                                                "field in detail.errors")
async def api_create_log(request: Request, who: Writer, body: CallLogIn) -> CallLogOut:
    log = await file_log(actor(request, who), body.model_dump(include={*FIELDS, "court"}),
                         body.call_id, body.send_to_duty_judge, body.about_staff,
                         str(body.accused_department_id or ""), body.appointment_kind,
                         body.preferred)
    return await _shown(console(request), who, log.id)


@api.get("/calllogs/{log_id}", summary="one call log (its owner, leaders, administrators)")
async def api_get_log(request: Request, who: Reader, log_id: int) -> CallLogOut:
    async with session_scope(console(request).sessions) as db:
        log = await calllogs.get_log(db, log_id)
        if log is None:
            raise HTTPException(404, MESSAGES["not_found"])
        if not await may_read_log_now(db, who.account.id, who.account.role, log):
            raise Forbidden("not_owner")
    return await _shown(console(request), who, log_id)


@api.put("/calllogs/{log_id}", summary="change a call log (its owner only)")
async def api_update_log(request: Request, who: Writer, log_id: int,
                         body: CallLogIn) -> CallLogOut:
    await change_log(actor(request, who), log_id, body.model_dump(include={*FIELDS, "court"}))
    return await _shown(console(request), who, log_id)
