"""The duty roster (Art. 7): administrators put a duty judge on each court day, one day at
a time or a whole range ("fill these dates", working days only by default). Every role
may read it; the desk shows today's judge from roster.duty_judge_for."""

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
from agent_console.texts import ADMIN, FIELD_LABELS, ROLES
from hotline.db import roster
from hotline.db.base import session_scope
from hotline.db.models import User
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


class FillIn(BaseModel):
    start: str = Field("", description="first day, YYYY-MM-DD")
    end: str = Field("", description="last day, YYYY-MM-DD (included)")
    judge: str = Field("", description="the duty judge's username")
    note: str = ""
    workdays_only: bool = Field(True, description="skip the court's non-working days")


class FillOut(BaseModel):
    days: int = Field(description="how many days were written")


# --- checking and writing ---------------------------------------------------------------

async def _judge(db: AsyncSession, username: str, errors: Errors) -> User | None:
    if not username.strip():
        errors["judge"] = field_error("judge", "choose")
        return None
    user = await accounts.get_user(db, username.strip())
    if user is None or user.role != roster.DUTY_JUDGE_ROLE or not user.active:
        errors["judge"] = field_error("judge", "not_judge")
        return None
    return user


def _note(raw: str, errors: Errors) -> str:
    if len(raw.strip()) > NOTE_LIMIT:
        errors["note"] = field_error("note", "too_long", limit=NOTE_LIMIT)
    return raw.strip()


async def set_day(by: Actor, raw_day: str, username: str, raw_note: str) -> Duty:
    """Put the judge on the day."""
    errors: Errors = {}
    day = parse_day("day", raw_day, errors)
    async with transaction(by) as db:
        judge, note = await _judge(db, username, errors), _note(raw_note, errors)
        if errors or day is None or judge is None:
            raise Invalid(errors)
        await roster.set_duty(db, day, judge, note)
        return (await roster.roster_between(db, day, day))[0]


async def clear_day(by: Actor, raw_day: str) -> None:
    """Take the day off the roster."""
    errors: Errors = {}
    day = parse_day("day", raw_day, errors)
    if day is None:
        raise Invalid(errors)
    async with transaction(by) as db:
        await roster.clear_duty(db, day)


async def fill(by: Actor, raw: Mapping[str, str], workdays_only: bool) -> int:
    """Put the judge on every (working) day from start to end; how many days."""
    errors: Errors = {}
    start, end = parse_day("start", raw["start"], errors), parse_day("end", raw["end"], errors)
    async with transaction(by) as db:
        judge, note = await _judge(db, raw["judge"], errors), _note(raw["note"], errors)
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
        return await roster.fill_duty(db, days, judge, note)


# --- pages ------------------------------------------------------------------------------

@dataclass(frozen=True)
class DayLine:
    day: date
    weekday: str
    workday: bool
    duty: Duty | None


async def _page(request: Request, who: Principal, status: int = 200, **context: object
                ) -> Response:
    c = console(request)
    today = court_today(c.settings, c.clock())
    async with session_scope(c.sessions) as db:
        days = [today + timedelta(days=n) for n in range(SHOWN_DAYS)]
        duties = {d.day: d for d in await roster.roster_between(db, days[0], days[-1])}
        calendar = await load_calendar(db, c.settings, today)
        judges = await roster.duty_judges(db)
    lines = [DayLine(day, WEEKDAYS[day.weekday()], calendar.is_workday(day), duties.get(day))
             for day in days]
    context.setdefault("values", {"day": today.isoformat()})
    context.setdefault("fill_values", {"start": today.isoformat(), "workdays_only": "1"})
    return render(request, "roster.html", status, user=who.account, csrf_token=who.csrf_token,
                  lines=lines, judges=judges, labels=FIELD_LABELS, today=today,
                  **{"errors": {}, "fill_errors": {}, **context})


@pages.get("/admin/roster")
async def roster_page(request: Request, who: Admin, saved: int | None = None) -> Response:
    return await _page(request, who, saved=saved)


@pages.post("/admin/roster/day")
async def roster_set_day(request: Request, who: Admin) -> Response:
    values = await form_values(request, ("day", "judge", "note", "clear"))
    by = actor(request, who)
    done = await attempt(clear_day(by, values["day"]) if values["clear"] == "1"
                         else set_day(by, values["day"], values["judge"], values["note"]))
    if isinstance(done, Refused):
        return await _page(request, who, done.status_code, values=values, errors=done.errors)
    return RedirectResponse("/admin/roster?saved=1", status_code=303)


@pages.post("/admin/roster/fill")
async def roster_fill(request: Request, who: Admin) -> Response:
    values = await form_values(request, ("start", "end", "judge", "note", "workdays_only"))
    done = await attempt(fill(actor(request, who), values, values["workdays_only"] == "1"))
    if isinstance(done, Refused):
        return await _page(request, who, done.status_code, fill_values=values,
                           fill_errors=done.errors)
    return RedirectResponse(f"/admin/roster?saved={done}", status_code=303)


# --- API --------------------------------------------------------------------------------

@api.get("/roster", summary="the duty roster between two days (default: the next 31 days)")
async def api_roster(request: Request, _who: Anyone, start: date | None = None,
                     end: date | None = None) -> list[DutyOut]:
    c = console(request)
    start = start or court_today(c.settings, c.clock())
    end = end or start + timedelta(days=SHOWN_DAYS - 1)
    async with session_scope(c.sessions) as db:
        return [DutyOut.of(duty) for duty in await roster.roster_between(db, start, end)]


@api.get("/roster/today", summary="today's duty judge (null when nobody is rostered)")
async def api_today(request: Request, _who: Anyone) -> DutyOut | None:
    c = console(request)
    today = court_today(c.settings, c.clock())
    async with session_scope(c.sessions) as db:
        duties = await roster.roster_between(db, today, today)
        judge = await roster.duty_judge_for(db, today)
    return DutyOut.of(duties[0]) if judge is not None and duties else None


@api.put("/roster/{day}", summary="put a duty judge on a day (administrators)")
async def api_set_day(request: Request, who: Admin, day: str, body: DutyIn) -> DutyOut:
    return DutyOut.of(await set_day(actor(request, who), day, body.judge, body.note))


@api.delete("/roster/{day}", status_code=204, summary="take a day off the roster "
                                                      "(administrators)")
async def api_clear_day(request: Request, who: Admin, day: date) -> Response:
    await clear_day(actor(request, who), day.isoformat())
    return Response(status_code=204)


@api.post("/roster/fill", summary="put a duty judge on every (working) day of a range "
                                  "(administrators)")
async def api_fill(request: Request, who: Admin, body: FillIn) -> FillOut:
    raw = body.model_dump(exclude={"workdays_only"})
    return FillOut(days=await fill(actor(request, who), raw, body.workdays_only))
