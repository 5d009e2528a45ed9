"""Is the hotline open (Art. 1)? The one question every part asks, answered from the
working-day calendar (hotline.calendar), the court's overrides in the database and the
manual mode an administrator sets for emergencies and maintenance.

A year the calendar knows nothing about never fails a call: the Monday-to-Friday rule
answers, a warning is logged, and `hotline status` lists the days to import.

The bridge asks on every call, before the first prompt, so it asks :class:`OpenHours`, which
answers from memory; a timer calls its refresh(), which reloads the mode and the calendar only
when a cheap stamp (the mode, the declared years, the overrides' count and latest change, the
court's day) says they changed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ScalarSelect, select
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.calendar import WorkingCalendar
from hotline.db import calendar_days
from hotline.db.base import utcnow
from hotline.db.state import get_state, state_stamp
from hotline.settings import Settings

MODES = ("auto", "open", "closed")
MODE_KEY = "hotline.mode"
# Overrides loaded around a day: enough behind for recent deadlines, ahead for a year of them.
WINDOW_BEFORE = timedelta(days=30)
WINDOW_AFTER = timedelta(days=400)
WARNING_DAYS = 60

log = logging.getLogger(__name__)
# Days already warned about in this process: one log line per unknown day, not per call.
_warned_days: set[date] = set()


async def load_calendar(session: AsyncSession, settings: Settings,
                        around: date | None = None) -> WorkingCalendar:
    """The calendar with the court's overrides from 30 days before `around` (default: today
    in the court's time zone) to 400 days after."""
    around = around or court_today(settings)
    rows = await calendar_days.overrides_between(session, around - WINDOW_BEFORE,
                                                 around + WINDOW_AFTER)
    overrides = {row.day: (row.workday, row.name) for row in rows}
    years = await calendar_days.declared_years(session)
    return WorkingCalendar(settings.hours, overrides, years)


async def hotline_open(session: AsyncSession, settings: Settings, now: datetime) -> bool:
    """Are the seats staffed at `now` (UTC-aware)? The manual mode wins over the calendar."""
    hours = OpenHours(settings)
    await hours.load(session, now)
    return hours.is_open(now)


Stamp = tuple[object, ...]


class OpenHours:
    """hotline_open without a query: the mode and calendar as last loaded.

    Until the first load it knows no mode and no override (the Monday-to-Friday rule and the
    state calendar), so a call is still routed.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.mode = "auto"
        self.calendar = WorkingCalendar(settings.hours)
        self._stamp: Stamp | None = None

    def is_open(self, now: datetime) -> bool:
        if self.mode in ("open", "closed"):
            return self.mode == "open"
        _warn_if_guessing(self.calendar, now)
        return self.calendar.is_open(now)

    async def refresh(self, session: AsyncSession, now: datetime | None = None,
                      found: Sequence[object] | None = None) -> bool:
        """Reload if anything it depends on changed; whether it did. found: STAMP's values,
        when the caller read them with others' (the bridge)."""
        if found is None:
            found = tuple((await session.execute(select(*STAMP))).one())
        stamp = (court_today(self.settings, now), *found)
        if stamp == self._stamp:
            return False
        await self.load(session, now)
        self._stamp = stamp
        return True

    async def load(self, session: AsyncSession, now: datetime | None = None) -> None:
        self.mode = await get_state(session, MODE_KEY, "auto")
        self.calendar = await load_calendar(session, self.settings,
                                            court_today(self.settings, now))


# What the mode and calendar depend on, besides the day: the mode, the years declared and
# the overrides, as scalar subqueries (the bridge reads them with the other books' in one
# statement).
STAMP: tuple[ScalarSelect[Any], ...] = (
    *state_stamp(MODE_KEY), *state_stamp(calendar_days.DECLARED_YEARS_KEY),
    *calendar_days.VERSION)


async def calendar_warnings(session: AsyncSession, settings: Settings,
                            today: date) -> list[str]:
    """What `hotline status` should say about the calendar: days it only guesses."""
    calendar = await load_calendar(session, settings, today)
    gaps = calendar.coverage_gaps(today, WARNING_DAYS)
    if not gaps:
        return []
    return [f"calendar: no holiday data for {_ranges(gaps)} ({len(gaps)} of the next "
            f"{WARNING_DAYS} days): Monday to Friday are taken as working days; import the "
            "State Council notice with `hotline calendar import FILE`"]


def court_today(settings: Settings, now: datetime | None = None) -> date:
    return (now or utcnow()).astimezone(ZoneInfo(settings.hours.timezone)).date()


def _warn_if_guessing(calendar: WorkingCalendar, now: datetime) -> None:
    day = now.astimezone(calendar.zone).date()
    if calendar.has_data(day) or day in _warned_days:
        return
    _warned_days.add(day)
    log.warning("no holiday data for %s: the Monday-to-Friday rule decides whether the hotline "
                "is open; import the State Council notice (hotline calendar import)", day)


def _ranges(days: list[date]) -> str:
    """>>> _ranges([date(2027, 1, 1), date(2027, 1, 2), date(2027, 1, 5)])
    '2027-01-01..2027-01-02, 2027-01-05'
    """
    runs: list[list[date]] = []
    for day in days:
        if runs and day - runs[-1][-1] == timedelta(days=1):
            runs[-1].append(day)
        else:
            runs.append([day])
    return ", ".join(str(r[0]) if len(r) == 1 else f"{r[0]}..{r[-1]}" for r in runs)
