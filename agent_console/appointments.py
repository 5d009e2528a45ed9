"""Appointments on the matter's page (Art. 4(6)): what the caller asked for (the kind, the
case, the half-days they prefer, what they chose about mediation) and the department's
steps — confirm a slot, move it, cancel it — each of which queues an SMS to the caller
with the date, the half-day, the place and what to bring (hotline.appointments).

Who may act is who may act on the ticket (hotline.access: its handler, its owner agent);
everyone who may read the ticket reads its appointment. The page and the API call the same
workflows (confirm, cancel); a refusal is the ticket's page again with the fields marked.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from agent_console.auth import Console, Forbidden, Principal, console, require_role
from agent_console.forms import Errors, Invalid, Refused, field_error, form_values
from agent_console.service import Actor, Refusals, actor, attempt, transaction
from agent_console.texts import ADMIN, AGENT, DEPT_HANDLER, DEPT_HEAD, LEADER, MESSAGES
from hotline import appointments as core
from hotline import tickets
from hotline.access import ACT, ticket_access
from hotline.appointments import AppointmentRefused, HalfDay, Slot
from hotline.catalog import APPOINTMENT_KINDS
from hotline.db.base import session_scope
from hotline.db.models import Appointment, CallLog, SmsMessage, Ticket
from hotline.hours import court_today, load_calendar
from hotline.settings import Settings

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["appointments"])

Acting = Annotated[Principal, Depends(require_role(AGENT, DEPT_HANDLER))]
Reader = Annotated[Principal, Depends(require_role(AGENT, DEPT_HANDLER, DEPT_HEAD, LEADER,
                                                   ADMIN))]

# How many working days ahead the slot list offers.
SLOT_DAYS = 20
PLACE_LIMIT, BRING_LIMIT, REASON_LIMIT = 100, 300, 200
STATUS_LABELS = {core.REQUESTED: "待确认", core.CONFIRMED: "已确认", core.CANCELLED: "已取消"}
REFUSALS = {"not_appointment": (404, "not_found"),
            "cancelled": (409, "appointment_cancelled_already"),
            "not_confirmed": (409, "appointment_not_confirmed")}


def _refused(refusal: AppointmentRefused) -> Exception:
    status, key = REFUSALS.get(refusal.reason, (409, "not_found"))
    return Refused(status, MESSAGES[key])


APPOINTMENT_REFUSALS: Refusals = {AppointmentRefused: _refused}


class SlotIn(BaseModel):
    slot: str = Field("", description="the half-day, as 2026-12-03/am or 2026-12-03/pm")
    place: str = Field("", description="empty: the kind's usual place")
    bring: str = Field("", description="what to bring; empty: the kind's usual list")


class CancelIn(BaseModel):
    reason: str = ""


class AppointmentOut(BaseModel):
    ticket_id: int
    kind: str
    kind_label: str
    case_number: str
    case_code: str = Field(description="a query code keyed in the voice menu that named no "
                                       "case on file")
    preferred: list[str] = Field(description="the caller's half-days, as 2026-12-03/am")
    preferred_labels: list[str]
    guidance: str = Field(description="mediation offered before a filing: mediation | filing "
                                      "| none, '' when not offered")
    guidance_label: str
    status: str = Field(description="requested | confirmed | cancelled")
    status_label: str
    slot: str
    slot_label: str
    place: str
    bring: str
    sms_sent: bool | None = Field(None, description="after a step: whether an SMS was "
                                                    "queued (no: the number takes none)")

    @classmethod
    def of(cls, found: Appointment, sms: SmsMessage | None = None,
           stepped: bool = False) -> AppointmentOut:
        slot = (HalfDay(found.slot_day, found.slot_half)
                if found.slot_day is not None else None)
        preferred = [HalfDay.parse(code) for code in found.preferred]
        return cls(ticket_id=found.ticket_id, kind=found.kind,
                   kind_label=APPOINTMENT_KINDS.get(found.kind, found.kind),
                   case_number=found.case_number, case_code=found.case_code,
                   preferred=found.preferred, preferred_labels=[h.label() for h in preferred],
                   guidance=found.guidance,
                   guidance_label=core.GUIDANCE_LABELS.get(found.guidance, ""),
                   status=found.status, status_label=STATUS_LABELS.get(found.status, ""),
                   slot=slot.code if slot else "", slot_label=slot.label() if slot else "",
                   place=found.place, bring=found.bring,
                   sms_sent=(sms is not None) if stepped else None)


def check_places(settings: Settings) -> None:
    """Read each kind's usual place now: core.PlacesError names a mistake before anyone
    confirms (the SMS texts are checked with the settings, hotline.caller_sms)."""
    core.places(settings)


# --- what the ticket's page shows ----------------------------------------------------------

async def view(c: Console, db: AsyncSession, ticket: Ticket) -> dict[str, object] | None:
    """The appointment part of the ticket's page: the appointment, the slots to choose
    from (the caller's preferred first) and the kind's usual place and list; None for a
    ticket that is no appointment."""
    found = await db.get(Appointment, ticket.id)
    if found is None:
        return None
    calendar = await load_calendar(db, c.settings)
    offered = core.offered_half_days(calendar, court_today(c.settings, c.clock()), SLOT_DAYS)
    preferred = {code for code in found.preferred}
    slots = {h.code: h.label() + ("（来电人希望）" if h.code in preferred else "")
             for h in sorted(offered, key=lambda h: h.code not in preferred)}
    usual = core.places(c.settings)[found.kind]
    return {"a": AppointmentOut.of(found), "slots": slots,
            "place": found.place or usual.place, "bring": found.bring or usual.bring}


# --- an appointment taken in a call log ---------------------------------------------------

async def half_day_choices(c: Console) -> dict[str, str]:
    """The half-days a caller may prefer, as the call log form offers them."""
    async with session_scope(c.sessions) as db:
        return {h.code: h.label() for h in await _offered(c, db)}


async def _offered(c: Console, db: AsyncSession) -> list[HalfDay]:
    calendar = await load_calendar(db, c.settings)
    return core.offered_half_days(calendar, court_today(c.settings, c.clock()))


async def check_log_request(c: Console, db: AsyncSession, category: str, kind: str,
                            preferred: Sequence[str]) -> tuple[str, list[HalfDay]] | None:
    """The appointment a call log asks for (None unless its category is 预约服务): the
    kind is required, the half-days must be ones on offer; Invalid names the field."""
    if category != "appointment":
        return None
    errors: Errors = {}
    if kind not in APPOINTMENT_KINDS:
        errors["appointment_kind"] = field_error("appointment_kind", "choose")
    offered = {h.code: h for h in await _offered(c, db)}
    picked: list[HalfDay] = []
    for code in preferred:
        if code not in offered:
            errors["preferred"] = field_error("preferred", "half_days")
            break
        if offered[code] not in picked:
            picked.append(offered[code])
    if errors:
        raise Invalid(errors)
    return kind, picked


async def file_log_request(by: Actor, db: AsyncSession, log: CallLog, kind: str,
                           preferred: list[HalfDay]) -> Ticket:
    """The log's matter, made now as an appointment the agent owns and can forward."""
    ticket = await tickets.ticket_for_call_log(db, log, by.now())
    ticket.subtype = kind
    await core.record_request(db, ticket, kind, preferred, case_number=log.case_number,
                              now=by.now())
    return ticket


# --- the workflows, for pages and API alike -----------------------------------------------

async def _appointment(db: AsyncSession, by: Actor, ticket_id: int
                       ) -> tuple[Ticket, Appointment]:
    ticket = await db.get(Ticket, ticket_id)
    if ticket is None:
        raise HTTPException(404, MESSAGES["not_found"])
    access = await ticket_access(db, by.account.id, by.account.role, ticket)
    if access is None:
        raise Forbidden("role")
    if access != ACT:
        raise Forbidden("read_only")
    found = await db.get(Appointment, ticket.id)
    if found is None:
        raise AppointmentRefused("not_appointment")
    return ticket, found


async def _slot(c: Console, db: AsyncSession, kind: str, raw: SlotIn) -> Slot:
    """The slot as typed, checked; Invalid naming every wrong field."""
    errors: Errors = {}
    half_day = _half_day(raw.slot, errors)
    if half_day is not None:
        calendar = await load_calendar(db, c.settings)
        problem = core.slot_problem(calendar, half_day.day, half_day.half,
                                    court_today(c.settings, c.clock()))
        if problem:
            errors["slot"] = field_error("slot", f"slot_{problem}")
    usual = core.places(c.settings)[kind]
    place = raw.place.strip() or usual.place
    bring = raw.bring.strip() or usual.bring
    for name, value, limit in (("place", place, PLACE_LIMIT), ("bring", bring, BRING_LIMIT)):
        if len(value) > limit:
            errors[name] = field_error(name, "too_long", limit=limit)
    if errors or half_day is None:
        raise Invalid(errors)
    return Slot(half_day.day, half_day.half, place, bring)


def _half_day(raw: str, errors: Errors) -> HalfDay | None:
    if not raw.strip():
        errors["slot"] = field_error("slot", "choose")
        return None
    try:
        return HalfDay.parse(raw.strip())
    except ValueError:
        errors["slot"] = field_error("slot", "choose")
        return None


async def confirm(by: Actor, ticket_id: int, raw: SlotIn) -> tuple[Appointment, SmsMessage | None]:
    """Confirm the slot (or move a confirmed one there); the caller gets the SMS."""
    async with transaction(by, APPOINTMENT_REFUSALS) as db:
        ticket, found = await _appointment(db, by, ticket_id)
        slot = await _slot(by.c, db, found.kind, raw)
        step = core.reschedule if found.status == core.CONFIRMED else core.confirm
        sms = await step(db, by.c.settings, ticket, found, slot, by.account.id, by.now())
        return found, sms


async def cancel(by: Actor, ticket_id: int, reason: str) -> tuple[Appointment, SmsMessage | None]:
    """Cancel a confirmed appointment; the caller gets the SMS with the reason."""
    reason = reason.strip()
    if len(reason) > REASON_LIMIT:
        raise Invalid({"reason": field_error("reason", "too_long", limit=REASON_LIMIT)})
    async with transaction(by, APPOINTMENT_REFUSALS) as db:
        ticket, found = await _appointment(db, by, ticket_id)
        text = f"原因：{reason.rstrip('。')}。" if reason else ""
        sms = await core.cancel(db, by.c.settings, ticket, found, text, by.account.id, by.now())
        return found, sms


# --- pages --------------------------------------------------------------------------------

async def _step_page(request: Request, who: Principal, ticket_id: int,
                     done: tuple[Appointment, SmsMessage | None] | Refused,
                     values: dict[str, str], notice: str) -> Response:
    from agent_console import tickets  # the ticket's page is that module's

    if isinstance(done, Refused):
        return await tickets.render_ticket_page(request, who, ticket_id, done, values)
    _, sms = done
    notice = notice if sms is not None else "appointment_no_sms"
    return RedirectResponse(f"/tickets/{ticket_id}?notice={notice}#appointment",
                            status_code=303)


@pages.post("/tickets/{ticket_id}/appointment/confirm")
async def confirm_page(request: Request, who: Acting, ticket_id: int) -> Response:
    values = await form_values(request, ("slot", "place", "bring"))
    done = await attempt(confirm(actor(request, who), ticket_id, SlotIn(**values)))
    return await _step_page(request, who, ticket_id, done, values, "appointment_confirmed")


@pages.post("/tickets/{ticket_id}/appointment/cancel")
async def cancel_page(request: Request, who: Acting, ticket_id: int) -> Response:
    values = await form_values(request, ("reason",))
    done = await attempt(cancel(actor(request, who), ticket_id, values["reason"]))
    return await _step_page(request, who, ticket_id, done, values, "appointment_cancelled")


# --- API ----------------------------------------------------------------------------------

@api.get("/tickets/{ticket_id}/appointment", summary="an appointment matter's request and slot")
async def api_get(request: Request, who: Reader, ticket_id: int) -> AppointmentOut:
    async with session_scope(console(request).sessions) as db:
        ticket = await db.get(Ticket, ticket_id)
        found = await db.get(Appointment, ticket_id) if ticket is not None else None
        if ticket is None or found is None:
            raise HTTPException(404, MESSAGES["not_found"])
        if await ticket_access(db, who.account.id, who.account.role, ticket) is None:
            raise Forbidden("role")
        return AppointmentOut.of(found)


@api.post("/tickets/{ticket_id}/appointment/confirm",
          summary="confirm the slot, or move a confirmed one (the caller gets an SMS with the "
                  "date, half-day, place and what to bring)")
async def api_confirm(request: Request, who: Acting, ticket_id: int,
                      body: SlotIn) -> AppointmentOut:
    found, sms = await confirm(actor(request, who), ticket_id, body)
    return AppointmentOut.of(found, sms, stepped=True)


@api.post("/tickets/{ticket_id}/appointment/cancel",
          summary="cancel a confirmed appointment (the caller gets an SMS)")
async def api_cancel(request: Request, who: Acting, ticket_id: int,
                     body: CancelIn) -> AppointmentOut:
    found, sms = await cancel(actor(request, who), ticket_id, body.reason)
    return AppointmentOut.of(found, sms, stepped=True)

