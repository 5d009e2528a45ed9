"""Daily roll-ups: a period's call and matter figures added up from each court day's parts
(reports.calls.CallParts, reports.matters.MatterParts), so that a month or a year reads a
row a day instead of every call and event.

A day's parts are counted by the same functions as every figure (call_parts,
matter_parts over load_calls and load_matters of that day), so the roll-up cannot define
a figure differently. They stay right by construction: database triggers mark the UTC hour
of every call, figure-relevant call event, matter and matter reply written, changed or
deleted (hotline/db/report_marks.py), and `period_parts` counts every marked court day
again before it reads — a call the reconciler writes a week late, a reopened matter, a
reply.
A day counted under other office hours or another calendar (its stamp) is counted again
too. 逾期未答复 depends on the moment asked and is counted from the open matters then.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.calendar import WorkingCalendar
from hotline.db import calendar_days
from hotline.db.base import utcnow
from hotline.db.models import CENTRE_COURT_ID, CalendarOverride, ReportDay, ReportDirty
from hotline.settings import Settings
from reports.calls import CallFacts, CallParts, call_parts, load_calls
from reports.matters import MatterFacts, MatterParts, load_matters, matter_parts
from reports.period import Period

# Days counted in one read: a month's calls at a time keep memory bounded on a rebuild.
BLOCK_DAYS = 31
DELETE_CHUNK = 500


@dataclass
class DayParts:
    calls: CallParts
    matters: MatterParts

    def add(self, other: DayParts) -> None:
        self.calls.add(other.calls)
        self.matters.add(other.matters)


def empty() -> DayParts:
    return DayParts(CallParts(), MatterParts())


async def stamp(session: AsyncSession, settings: Settings) -> str:
    """What a day's parts were counted on: the office hours and time zone, the declared
    years and the court's calendar overrides (a change to any counts every day again)."""
    overrides = (await session.execute(  # the centre's calendar: the hotline's hours
        select(CalendarOverride.day, CalendarOverride.workday)
        .where(CalendarOverride.court_id == CENTRE_COURT_ID).order_by(CalendarOverride.day)
    )).all()
    years = sorted(await calendar_days.declared_years(session))
    text = repr((settings.hours, years, [(str(d), bool(w)) for d, w in overrides]))
    return hashlib.sha1(text.encode()).hexdigest()


async def period_parts(session: AsyncSession, settings: Settings, period: Period
                       ) -> dict[date, DayParts]:
    """Each court day's parts in the period, counted again where marked or missing.

    Commits the session's transaction before it writes what it counted (a SQLite reader
    cannot turn writer once another process has written): call it with nothing pending."""
    counted = await refresh(session, settings, period)
    kept: dict[date, DayParts] = {}
    if len(counted) < period.days:
        rows = await session.execute(
            select(ReportDay.day, ReportDay.parts)
            .where(ReportDay.day >= period.first, ReportDay.day <= period.last))
        kept = {day: _parts(parts) for day, parts in rows if day not in counted}
    return {d: counted[d] if d in counted else kept[d] for d in _days(period)}


async def refresh(session: AsyncSession, settings: Settings, period: Period
                  ) -> dict[date, DayParts]:
    """Count again the period's days that are marked, missing or counted on another
    stamp, and every kept day marked elsewhere; return what was counted. The scheduler
    runs it for the current month every minute, so a report seldom waits for it."""
    current = await stamp(session, settings)
    marks = (await session.execute(select(ReportDirty.id, ReportDirty.hour))).all()
    kept: dict[date, str] = {day: kept_stamp for day, kept_stamp in await session.execute(
        select(ReportDay.day, ReportDay.stamp)
        .where(ReportDay.day >= period.first, ReportDay.day <= period.last))}
    marked = _court_days((hour for _, hour in marks), settings.hours.timezone)
    stale = {d for d in _days(period) if kept.get(d) != current or d in marked}
    # marked days outside the period are counted again only if they were kept
    elsewhere = {d for d in marked if not period.first <= d <= period.last}
    if elsewhere:
        stale |= set((await session.execute(
            select(ReportDay.day).where(ReportDay.day.in_(elsewhere)))).scalars())
    counted = await _count(session, settings, sorted(stale)) if stale else {}
    if counted or marks:
        await session.commit()
        await _save(session, counted, current, [mark_id for mark_id, _ in marks])
        await session.commit()
    return counted


def total(parts: Iterable[DayParts]) -> DayParts:
    summed = empty()
    for day in parts:
        summed.add(day)
    return summed


# --- counting days ---------------------------------------------------------------------

async def _count(session: AsyncSession, settings: Settings, days: list[date]
                 ) -> dict[date, DayParts]:
    from reports.figures import report_calendar

    counted: dict[date, DayParts] = {}
    for first, last in _runs(days):
        block = Period.between(first, last)
        calendar = await report_calendar(session, settings, block)
        calls = await load_calls(session, calendar, block)
        created = await load_matters(session, calendar, block, "created")
        forwarded = await load_matters(session, calendar, block, "forwarded")
        counted.update(day_parts(calendar, block, calls, created, forwarded))
    return counted


def day_parts(calendar: WorkingCalendar, period: Period, calls: list[CallFacts],
              created: list[MatterFacts], forwarded: list[MatterFacts]
              ) -> dict[date, DayParts]:
    """The parts of each court day of the period from what was read for it."""
    zone = ZoneInfo(calendar.hours.timezone)
    by_day: dict[date, tuple[list[CallFacts], list[MatterFacts], list[MatterFacts]]] = {
        d: ([], [], []) for d in _days(period)}
    for c in calls:
        by_day[c.started_at.astimezone(zone).date()][0].append(c)
    for m in created:
        by_day[m.created_at.astimezone(zone).date()][1].append(m)
    for m in forwarded:
        if m.forwarded_at is not None:
            by_day[m.forwarded_at.astimezone(zone).date()][2].append(m)
    return {d: DayParts(call_parts(day_calls, calendar.hours.timezone),
                        matter_parts(calendar, day_created, day_forwarded))
            for d, (day_calls, day_created, day_forwarded) in by_day.items()}


async def _save(session: AsyncSession, counted: dict[date, DayParts], current: str,
                marks: list[int]) -> None:
    days = list(counted)
    for i in range(0, len(days), DELETE_CHUNK):
        await session.execute(delete(ReportDay).where(ReportDay.day.in_(days[i:i + DELETE_CHUNK])))
    now = utcnow()
    rows = [{"day": d, "stamp": current, "computed_at": now,
             "parts": {"calls": p.calls.as_json(), "matters": p.matters.as_json()}}
            for d, p in counted.items()]
    for i in range(0, len(rows), DELETE_CHUNK):
        await session.execute(insert(ReportDay), rows[i:i + DELETE_CHUNK])
    # exactly the marks read: one written since (a later commit) stays for the next read
    for i in range(0, len(marks), DELETE_CHUNK):
        await session.execute(delete(ReportDirty).where(
            ReportDirty.id.in_(marks[i:i + DELETE_CHUNK])))


def _parts(data: dict[str, Any]) -> DayParts:
    return DayParts(CallParts.from_json(data["calls"]), MatterParts.from_json(data["matters"]))


# --- days ------------------------------------------------------------------------------

def _days(period: Period) -> list[date]:
    return [period.first + timedelta(days=i) for i in range(period.days)]


def _court_days(utc_hours: Iterable[str], timezone: str) -> set[date]:
    """The court days that overlap each UTC hour ('YYYY-MM-DD HH'): one, unless the court's
    offset is not whole hours."""
    zone = ZoneInfo(timezone)
    found: set[date] = set()
    for text in set(utc_hours):
        start = datetime.strptime(text, "%Y-%m-%d %H").replace(tzinfo=UTC)
        end = start + timedelta(hours=1) - timedelta(microseconds=1)
        found |= {start.astimezone(zone).date(), end.astimezone(zone).date()}
    return found


def _runs(days: list[date]) -> list[tuple[date, date]]:
    """Sorted days as runs of consecutive days, none longer than BLOCK_DAYS."""
    runs: list[tuple[date, date]] = []
    for d in days:
        if runs and d == runs[-1][1] + timedelta(days=1) \
                and (d - runs[-1][0]).days < BLOCK_DAYS:
            runs[-1] = (runs[-1][0], d)
        else:
            runs.append((d, d))
    return runs
