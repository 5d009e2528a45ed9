"""Appointments (Art. 4(6), 4(8)): 预约立案, 预约调解, 约见法官 and 视频信访 as matters a
department can act on.

A caller asks in the voice menu (ivr/modules/appointment.py) or through an agent's call log:
the matter is a ticket of type "appointment" whose kind is its subtype, and an Appointment
row beside it holds the case, the caller's preferred half-days and, once the department has
set it in the console, the slot, the place and what to bring. Confirming, moving and
cancelling each queue an SMS to the caller (hotline.caller_sms: the texts
appointment_confirmed, appointment_rescheduled and appointment_cancelled); each kind's
usual place and what to bring are in hotline/resources/appointment_places_zh.toml (a
court's copy in data_dir, checked at start by :func:`load_places`).

The half-days offered are the morning and afternoon of the next OFFER_DAYS working days of
the court's calendar (hotline.calendar, the same one as deadlines), keyed 1, 2, ... 9, 0:

>>> from hotline.calendar import WorkingCalendar
>>> from hotline.settings import HoursSettings
>>> calendar = WorkingCalendar(HoursSettings())
>>> offered = offered_half_days(calendar, date(2026, 9, 30))
>>> [h.label() for h in offered[:3]]   # the National Day holiday is skipped
['10月8日（周四）上午', '10月8日（周四）下午', '10月9日（周五）上午']
>>> [h.code for h in chosen("51", offered)]   # 5: the make-up Saturday's morning
['2026-10-10/am', '2026-10-08/am']
>>> chosen("7", offered[:4]) is None   # no 7th half-day on offer: asked again
True
>>> len(offered_half_days(calendar, date(2026, 12, 28)))  # 2027 not imported: 3 days
6
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from hotline import caller_sms
from hotline.calendar import WEEKDAY_LABELS, WorkingCalendar
from hotline.catalog import APPOINTMENT_KINDS
from hotline.db import cases as cases_db
from hotline.db.base import utcnow
from hotline.db.models import Appointment, SmsMessage, Ticket, TicketEvent
from hotline.settings import Settings

HALVES = {"am": "上午", "pm": "下午"}
OFFER_DAYS = 5
# The menu looks no further for working days the calendar knows (a long holiday, or the
# end of what the state calendar and the court's imports cover).
LOOKAHEAD_DAYS = 30
KEYS = "1234567890"
REQUESTED, CONFIRMED, CANCELLED = "requested", "confirmed", "cancelled"
# Pre-litigation guidance before a filing (Art. 4(8)): what the caller chose.
GUIDANCE_LABELS = {"mediation": "选择诉前调解", "filing": "继续预约立案",
                   "none": "未选择（按预约立案登记）"}
# TicketEvent kinds of an appointment's life.
REQUESTED_EVENT, CONFIRMED_EVENT = "appt_requested", "appt_confirmed"
RESCHEDULED_EVENT, CANCELLED_EVENT = "appt_rescheduled", "appt_cancelled"
PLACES_FILE = Path(__file__).parent / "resources" / "appointment_places_zh.toml"
OVERRIDE_NAME = "appointment_places.toml"
SMS_KINDS = {"confirmed": caller_sms.APPOINTMENT_CONFIRMED,
             "rescheduled": caller_sms.APPOINTMENT_RESCHEDULED,
             "cancelled": caller_sms.APPOINTMENT_CANCELLED}


class AppointmentRefused(Exception):
    """A step that cannot be done. reason: not_appointment, cancelled, not_confirmed."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --- half-days ----------------------------------------------------------------------------

@dataclass(frozen=True, order=True)
class HalfDay:
    day: date
    half: str  # am | pm

    @property
    def code(self) -> str:
        """How it is stored: "2026-12-02/am"."""
        return f"{self.day.isoformat()}/{self.half}"

    @classmethod
    def parse(cls, code: str) -> HalfDay:
        day, _, half = code.partition("/")
        if half not in HALVES:
            raise ValueError(f"not a half-day: {code!r}")
        return cls(date.fromisoformat(day), half)

    def label(self) -> str:
        """As callers and staff read it: 12月2日（周三）上午."""
        return f"{day_label(self.day)}{HALVES[self.half]}"


def day_label(day: date) -> str:
    return f"{day.month}月{day.day}日（{WEEKDAY_LABELS[day.weekday()]}）"


def offered_half_days(calendar: WorkingCalendar, today: date,
                      days: int = OFFER_DAYS) -> list[HalfDay]:
    """Morning and afternoon of the next `days` working days after today. Days the
    calendar only guesses (no state data, nothing imported) are not offered: a caller must
    not choose a holiday the court has not imported yet."""
    found: list[HalfDay] = []
    for offset in range(1, LOOKAHEAD_DAYS + 1):
        day = today + timedelta(days=offset)
        if calendar.has_data(day) and calendar.is_workday(day):
            found += [HalfDay(day, "am"), HalfDay(day, "pm")]
            if len(found) >= 2 * days:
                break
    return found


def key_of(index: int) -> str:
    """The key of the index-th half-day on offer: 1 ... 9, then 0."""
    return KEYS[index]


def chosen(keyed: str, offered: list[HalfDay]) -> list[HalfDay] | None:
    """The half-days the keys name, in the caller's order, each once; None when nothing
    was keyed or a key names no half-day on offer."""
    picked: list[HalfDay] = []
    for key in keyed:
        index = KEYS.find(key)
        if index < 0 or index >= len(offered):
            return None
        if offered[index] not in picked:
            picked.append(offered[index])
    return picked or None


def slot_problem(calendar: WorkingCalendar, day: date, half: str, today: date) -> str:
    """Why a slot cannot be set ("" when it can): past, not_workday, half."""
    if half not in HALVES:
        return "half"
    if day <= today:
        return "past"
    if not calendar.is_workday(day):
        return "not_workday"
    return ""


# --- each kind's usual place and what to bring ------------------------------------------

@dataclass(frozen=True)
class Place:
    place: str
    bring: str


class PlacesError(ValueError):
    """The places file is wrong; the message names the file, table and key."""


def load_places(settings: Settings | None = None, path: Path = PLACES_FILE
                ) -> dict[str, Place]:
    """Each kind's usual place (required) and what to bring: the shipped file, then the
    court's own copy (data_dir/appointment_places.toml), what it sets winning key by key."""
    raw = _read(path)
    custom = settings.data_dir / OVERRIDE_NAME if settings else None
    if custom is not None and custom.exists():
        for kind, spec in _read(custom).items():
            shipped = raw.get(kind)
            raw[kind] = ({**shipped, **spec} if isinstance(shipped, dict)
                         and isinstance(spec, dict) else spec)
        path = custom
    problems = [f"[{k}]: not an appointment kind ({', '.join(APPOINTMENT_KINDS)})"
                for k in raw if k not in APPOINTMENT_KINDS]
    found = {}
    for kind in APPOINTMENT_KINDS:
        spec = raw.get(kind)
        if not isinstance(spec, dict):
            problems.append(f"[{kind}]: missing")
            continue
        unknown = sorted(set(spec) - {"place", "bring"})
        if unknown:
            problems.append(f"[{kind}]: unknown key(s) {unknown}")
        if not str(spec.get("place", "")).strip():
            problems.append(f"[{kind}] place: required")
        found[kind] = Place(str(spec.get("place", "")).strip(), str(spec.get("bring", "")).strip())
    if problems:
        raise PlacesError(f"{path}: " + "; ".join(problems))
    return found


def _read(path: Path) -> dict[str, object]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise PlacesError(f"{path}: {exc}") from exc


_cache: dict[tuple[object, ...], dict[str, Place]] = {}


def places(settings: Settings) -> dict[str, Place]:
    """load_places(), read again when the court's copy changes (the console reads them at
    start, so a mistake stops it there rather than at the first confirmation)."""
    custom = settings.data_dir / OVERRIDE_NAME
    stat = custom.stat() if custom.exists() else None
    key = (str(custom), stat and (stat.st_mtime_ns, stat.st_size))
    if key not in _cache:
        _cache[key] = load_places(settings)
    return _cache[key]


# --- the request -----------------------------------------------------------------------

async def record_request(session: AsyncSession, ticket: Ticket, kind: str,
                         preferred: list[HalfDay], case_number: str = "", case_code: str = "",
                         guidance: str = "", now: datetime | None = None) -> Appointment:
    """The appointment of a new ticket. A query code keyed in the menu is looked up here,
    behind the call, in the local case table: the case number when it names a case, else
    the code is kept for staff (nothing tells the caller whether it matched)."""
    if kind not in APPOINTMENT_KINDS:
        raise ValueError(f"unknown appointment kind {kind!r}")
    if case_code and not case_number:
        found = await cases_db.case_by_query_code(session, case_code)
        case_number, case_code = (found.case_number, "") if found else ("", case_code)
    now = now or utcnow()
    appointment = Appointment(ticket_id=ticket.id, kind=kind, case_number=case_number,
                              case_code=case_code, preferred=[h.code for h in preferred],
                              guidance=guidance, status=REQUESTED, updated_at=now)
    session.add(appointment)
    session.add(TicketEvent(ticket_id=ticket.id, kind=REQUESTED_EVENT, actor_id=None, at=now,
                            detail={"kind": kind, "preferred": appointment.preferred,
                                    "guidance": guidance}))
    await session.flush()
    return appointment


async def appointment_of(session: AsyncSession, ticket: Ticket) -> Appointment | None:
    return await session.get(Appointment, ticket.id)


# --- the department's steps --------------------------------------------------------------

@dataclass(frozen=True)
class Slot:
    day: date
    half: str
    place: str
    bring: str


async def confirm(session: AsyncSession, settings: Settings, ticket: Ticket,
                  appointment: Appointment, slot: Slot, by_user_id: int | None,
                  now: datetime | None = None) -> SmsMessage | None:
    """Set the slot and tell the caller by SMS. The first confirmation is the department's
    answer to the matter: its delivery closes the ticket, as a reply SMS does. None when
    the caller's number takes no SMS (the department tells them by phone)."""
    if appointment.status == CANCELLED:
        raise AppointmentRefused("cancelled")
    first = appointment.status == REQUESTED
    message = await _set(session, settings, ticket, appointment, slot,
                         "confirmed" if first else "rescheduled", by_user_id, now)
    if first and message is not None and ticket.status == "open":
        ticket.answer_sms_id, ticket.reply_text = message.id, message.text
    await session.flush()
    return message


async def reschedule(session: AsyncSession, settings: Settings, ticket: Ticket,
                     appointment: Appointment, slot: Slot, by_user_id: int | None,
                     now: datetime | None = None) -> SmsMessage | None:
    """Move a confirmed appointment and tell the caller by SMS."""
    if appointment.status != CONFIRMED:
        raise AppointmentRefused("not_confirmed")
    return await _set(session, settings, ticket, appointment, slot, "rescheduled",
                      by_user_id, now)


async def cancel(session: AsyncSession, settings: Settings, ticket: Ticket,
                 appointment: Appointment, reason: str, by_user_id: int | None,
                 now: datetime | None = None) -> SmsMessage | None:
    """Cancel a confirmed appointment and tell the caller by SMS, with the reason."""
    if appointment.status != CONFIRMED:
        raise AppointmentRefused("not_confirmed")
    now = now or utcnow()
    appointment.status, appointment.updated_at = CANCELLED, now
    message = await _tell(session, settings, ticket, appointment, "cancelled", reason)
    session.add(TicketEvent(ticket_id=ticket.id, kind=CANCELLED_EVENT, actor_id=by_user_id,
                            at=now, detail={"slot": _slot_code(appointment), "reason": reason,
                                            "sms_id": message.id if message else None}))
    await session.flush()
    return message


async def _set(session: AsyncSession, settings: Settings, ticket: Ticket,
               appointment: Appointment, slot: Slot, message_name: str,
               by_user_id: int | None, now: datetime | None) -> SmsMessage | None:
    now = now or utcnow()
    event = CONFIRMED_EVENT if message_name == "confirmed" else RESCHEDULED_EVENT
    before = _slot_code(appointment)
    appointment.status, appointment.updated_at = CONFIRMED, now
    appointment.slot_day, appointment.slot_half = slot.day, slot.half
    appointment.place, appointment.bring = slot.place, slot.bring
    message = await _tell(session, settings, ticket, appointment, message_name)
    session.add(TicketEvent(ticket_id=ticket.id, kind=event, actor_id=by_user_id, at=now,
                            detail={"slot": _slot_code(appointment), "before": before,
                                    "place": slot.place,
                                    "sms_id": message.id if message else None}))
    await session.flush()
    return message


def _slot_code(appointment: Appointment) -> str:
    if appointment.slot_day is None:
        return ""
    return HalfDay(appointment.slot_day, appointment.slot_half).code


async def _tell(session: AsyncSession, settings: Settings, ticket: Ticket,
                appointment: Appointment, message: str, reason: str = "") -> SmsMessage | None:
    """The step's SMS to the caller (hotline.caller_sms); None when their number takes none
    or the court turned that text off."""
    assert appointment.slot_day is not None, "an SMS about a slot needs the slot"
    values = {"appointment": APPOINTMENT_KINDS[appointment.kind],
              "date": day_label(appointment.slot_day), "half": HALVES[appointment.slot_half],
              "place": appointment.place, "bring": appointment.bring or "无"}
    if message == "cancelled":
        values["reason"] = reason
    return await caller_sms.tell(session, settings, ticket, SMS_KINDS[message], **values)
