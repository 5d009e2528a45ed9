"""The duty roster (Art. 7): administrators put a duty judge on each court day, one day at
a time or a whole range ("fill these dates", working days only by default). Every role
may read it; the desk shows today's judge from roster.duty_judge_for.

Each court has its own roster of its own duty judges (issue 17): the page and the API take
the court (?court=N, "court" in the forms; the centre's court by default). The centre's
administrators manage every court's, a basic court's administrator only their own."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from agent_console import accounts
from agent_console.auth import Principal, console, require_role
from agent_console.forms import Errors, Invalid, Refused, field_error, form_values, parse_day
from agent_console.pages import render
from agent_console.service import Actor, actor, attempt, transaction
from agent_console.texts import ADMIN, FIELD_LABELS, MESSAGES, ROLES
from hotline.courts import court_scope
from hotline.db import courts as courts_db
from hotline.db import roster
from hotline.db.base import session_scope
from hotline.db.models import CENTRE_COURT_ID, User
from hotline.db.roster import Duty, RosterError
from hotline.hours import court_today, load_calendar

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["duty roster"])

Admin = Annotated[Principal, Depends(require_role(ADMIN))]
Anyone = Annotated[Principal, Depends(require_role(*ROLES))]

SHOWN_DAYS = 31
WEEKDAYS = "一二三四五六日"
NOTE_LIMIT = 200


class DutyOut(BaseModel):
    day: date
    judge: str = Field(description="the judge's username")
    judge_name: str
    extension: str
    note: str

    @classmethod
    def of(cls, duty: Duty) -> DutyOut:
        judge = duty.judge
        return cls(day=duty.day, judge=judge.username,
                   judge_name=judge.display_name or judge.username,
                   extension=judge.extension, note=duty.note)


class DutyIn(BaseModel):
    judge: str = Field("", description="the duty judge's username")
    note: str = ""
    court: int | None = Field(None, description="the court's roster (default: the centre's)")


class FillIn(BaseModel):
    court: int | None = Field(None, description="the court's roster (default: the centre's)")
    start: str = Field("", description="first day, YYYY-MM-DD")
    end: str = Field("", description="last day, YYYY-MM-DD (included)")
    judge: str = Field("", description="the duty judge's username")
    note: str = ""
    workdays_only: bool = Field(True, description="skip the court's non-working days")


class FillOut(BaseModel):
    days: int = Field(description="how many days were written")


# --- which court's roster ---------------------------------------------------------------

@dataclass(frozen=True)
class RosterCourt:
    id: int
    choices: dict[str, str]  # the courts the reader may pick ({}: nothing to pick)


async def roster_court(db: AsyncSession, who: Principal, wanted: int | str | None
                       ) -> RosterCourt:
    """The court whose roster (or calendar) is shown or changed: `wanted` (an id) when the
    user may manage it — the centre's staff every active court, a basic court's staff
    their own (asked for nothing, theirs) — else Refused: 403 for another court's, 404
    for no such court."""
    scope = await court_scope(db, who.account.id)
    courts = await courts_db.list_courts(db, active_only=True)
    allowed = {str(c.id): courts_db.court_label(c) for c in courts
               if scope is None or c.id == scope}
    text = str(wanted).strip() if wanted is not None else ""
    if not text:
        return RosterCourt(scope or CENTRE_COURT_ID, allowed if len(allowed) > 1 else {})
    if text not in allowed:
        known = any(str(c.id) == text for c in courts)
        raise Refused(403 if known else 404, MESSAGES["other_courts" if known else "not_found"])
    return RosterCourt(int(text), allowed if len(allowed) > 1 else {})


# --- checking and writing ---------------------------------------------------------------

async def _judge(db: AsyncSession, username: str, errors: Errors,
                 court_id: int = CENTRE_COURT_ID) -> User | None:
    if not username.strip():
        errors["judge"] = field_error("judge", "choose")
        return None
    user = await accounts.get_user(db, username.strip())
    if user is None or user.role != roster.DUTY_JUDGE_ROLE or not user.active:
        errors["judge"] = field_error("judge", "not_judge")
        return None
    if user.court_id != court_id:
        errors["judge"] = field_error("judge", "judge_other_court")
        return None
    return user


def _note(raw: str, errors: Errors) -> str:
    if len(raw.strip()) > NOTE_LIMIT:
        errors["note"] = field_error("note", "too_long", limit=NOTE_LIMIT)
    return raw.strip()


async def set_day(by: Actor, raw_day: str, username: str, raw_note: str,
                  court: int | str | None = None) -> Duty:
    """Put the judge on the day of a court's roster."""
    errors: Errors = {}
    day = parse_day("day", raw_day, errors)
    async with transaction(by) as db:
        court_id = (await roster_court(db, by.who, court)).id
        judge, note = await _judge(db, username, errors, court_id), _note(raw_note, errors)
        if errors or day is None or judge is None:
            raise Invalid(errors)
        await roster.set_duty(db, day, judge, note, court_id)
        return (await roster.roster_between(db, day, day, court_id))[0]


async def clear_day(by: Actor, raw_day: str, court: int | str | None = None) -> None:
    """Take the day off a court's roster."""
    errors: Errors = {}
    day = parse_day("day", raw_day, errors)
    if day is None:
        raise Invalid(errors)
    async with transaction(by) as db:
        await roster.clear_duty(db, day, (await roster_court(db, by.who, court)).id)


async def fill(by: Actor, raw: Mapping[str, str], workdays_only: bool,
               court: int | str | None = None) -> int:
    """Put the judge on every (working) day from start to end; how many days."""
    errors: Errors = {}
    start, end = parse_day("start", raw["start"], errors), parse_day("end", raw["end"], errors)
    async with transaction(by) as db:
        court_id = (await roster_court(db, by.who, court)).id
        judge = await _judge(db, raw["judge"], errors, court_id)
        note = _note(raw["note"], errors)
        days: list[date] = []
        if start and end:
            try:
                days = roster.days_between(start, end)
            except RosterError:
                errors["end"] = field_error("end", "range")
        if errors or judge is None:
            raise Invalid(errors)
        if workdays_only:
            calendar = await load_calendar(db, by.c.settings, days[0])
            days = [day for day in days if calendar.is_workday(day)]
        return await roster.fill_duty(db, days, judge, note, court_id)


# --- pages ------------------------------------------------------------------------------

@dataclass(frozen=True)
class DayLine:
    day: date
    weekday: str
    workday: bool
    duty: Duty | None


async def _page(request: Request, who: Principal, status: int = 200,
                court: str | None = None, **context: object) -> Response:
    c = console(request)
    today = court_today(c.settings, c.clock())
    async with session_scope(c.sessions) as db:
        chosen = await roster_court(db, who, court)
        days = [today + timedelta(days=n) for n in range(SHOWN_DAYS)]
        duties = {d.day: d for d in await roster.roster_between(db, days[0], days[-1],
                                                                chosen.id)}
        calendar = await load_calendar(db, c.settings, today)
        judges = await roster.duty_judges(db, chosen.id)
    lines = [DayLine(day, WEEKDAYS[day.weekday()], calendar.is_workday(day), duties.get(day))
             for day in days]
    context.setdefault("values", {"day": today.isoformat()})
    context.setdefault("fill_values", {"start": today.isoformat(), "workdays_only": "1"})
    return render(request, "roster.html", status, user=who.account, csrf_token=who.csrf_token,
                  lines=lines, judges=judges, labels=FIELD_LABELS, today=today,
                  court=chosen,
                  **{"errors": {}, "fill_errors": {}, **context})


@pages.get("/admin/roster")
async def roster_page(request: Request, who: Admin, saved: int | None = None,
                      court: str | None = None) -> Response:
    return await _page(request, who, court=court, saved=saved)


def _saved(court: str, count: int) -> RedirectResponse:
    query = f"court={court}&" if court else ""
    return RedirectResponse(f"/admin/roster?{query}saved={count}", status_code=303)


@pages.post("/admin/roster/day")
async def roster_set_day(request: Request, who: Admin) -> Response:
    values = await form_values(request, ("day", "judge", "note", "clear", "court"))
    by, court = actor(request, who), values["court"]
    done = await attempt(clear_day(by, values["day"], court) if values["clear"] == "1"
                         else set_day(by, values["day"], values["judge"], values["note"], court))
    if isinstance(done, Refused):
        return await _page(request, who, done.status_code, court=court, values=values,
                           errors=done.errors)
    return _saved(court, 1)


@pages.post("/admin/roster/fill")
async def roster_fill(request: Request, who: Admin) -> Response:
    values = await form_values(request, ("start", "end", "judge", "note", "workdays_only",
                                         "court"))
    done = await attempt(fill(actor(request, who), values, values["workdays_only"] == "1",
                              values["court"]))
    if isinstance(done, Refused):
        return await _page(request, who, done.status_code, court=values["court"],
                           fill_values=values, fill_errors=done.errors)
    return _saved(values["court"], done)


# --- API --------------------------------------------------------------------------------

@api.get("/roster", summary="a court's duty roster between two days (default: the next 31 "
        "days, the centre's court)")
async def api_roster(request: Request, who: Anyone, start: date | None = None,
                     end: date | None = None, court: int | None = None) -> list[DutyOut]:
    c = console(request)
    start = start or court_today(c.settings, c.clock())
    end = end or start + timedelta(days=SHOWN_DAYS - 1)
    async with session_scope(c.sessions) as db:
        court_id = (await roster_court(db, who, court)).id
        return [DutyOut.of(duty)
                for duty in await roster.roster_between(db, start, end, court_id)]


@api.get("/roster/today", summary="a court's duty judge today (the centre's when that court "
        "has none; null when nobody is rostered)")
async def api_today(request: Request, who: Anyone, court: int | None = None
                    ) -> DutyOut | None:
    c = console(request)
    today = court_today(c.settings, c.clock())
    async with session_scope(c.sessions) as db:
        judge = await roster.duty_judge_for(db, today, (await roster_court(db, who, court)).id)
        duties = await roster.roster_between(db, today, today,
                                             judge.court_id if judge else CENTRE_COURT_ID)
    return DutyOut.of(duties[0]) if judge is not None and duties else None


@api.put("/roster/{day}", summary="put a duty judge on a day of a court's roster "
         "(administrators)")
async def api_set_day(request: Request, who: Admin, day: str, body: DutyIn) -> DutyOut:
    return DutyOut.of(await set_day(actor(request, who), day, body.judge, body.note,
                                    body.court))


@api.delete("/roster/{day}", status_code=204, summary="take a day off a court's roster "
                                                      "(administrators)")
async def api_clear_day(request: Request, who: Admin, day: date,
                        court: int | None = None) -> Response:
    await clear_day(actor(request, who), day.isoformat(), court)
    return Response(status_code=204)


@api.post("/roster/fill", summary="put a duty judge on every (working) day of a range "
                                  "of a court's roster (administrators)")
async def api_fill(request: Request, who: Admin, body: FillIn) -> FillOut:
    raw = body.model_dump(exclude={"workdays_only", "court"})
    return FillOut(days=await fill(actor(request, who), raw, body.workdays_only, body.court))
