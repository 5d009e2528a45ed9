"""The dashboard's figures for a period, read in one place: the calendar the deadlines
use, the calls and the matters of the period and of the one before (the trend)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.calendar import Span, WorkingCalendar
from hotline.deadlines import load_deadlines
from hotline.settings import Settings
from reports.calls import CallFacts, CallFigures, figures_of, load_calls
from reports.matters import (
    MatterFacts,
    MatterFigures,
    figures_from,
    load_matters,
    matter_figures,
    overdue_count,
)
from reports.period import Period
from reports.rollup import period_parts, total


class DayCachedCalendar(WorkingCalendar):
    """The same calendar, remembering each day's office hours: a month's report asks about
    the same 31 days for every one of its calls (the rules stay hotline.calendar's)."""

    def __init__(self, calendar: WorkingCalendar) -> None:
        super().__init__(calendar.hours, calendar.overrides, calendar.declared_years)
        self._spans: dict[date, list[Span]] = {}

    def office_spans(self, day: date) -> list[Span]:
        if day not in self._spans:
            self._spans[day] = super().office_spans(day)
        return self._spans[day]


async def report_calendar(session: AsyncSession, settings: Settings,
                          period: Period) -> WorkingCalendar:
    """The working-day calendar the deadlines are counted on, with every court override
    that matters to the period (hotline.deadlines.load_deadlines)."""
    loaded = (await load_deadlines(session, settings, period.first, period.last)).calendar
    return DayCachedCalendar(loaded)


@dataclass(frozen=True)
class PeriodData:
    """What a period's figures are computed from (kept for the drill-downs)."""

    period: Period
    calendar: WorkingCalendar
    calls: list[CallFacts]
    created: list[MatterFacts]
    forwarded: list[MatterFacts]
    court_id: int | None = None  # the matters are this court's alone (issue 17)


async def load_period(session: AsyncSession, settings: Settings, period: Period,
                      court_id: int | None = None) -> PeriodData:
    """court_id: one court's matters (issue 17); the calls are the centre's all the same."""
    calendar = await report_calendar(session, settings, period)
    return PeriodData(period, calendar, await load_calls(session, calendar, period),
                      await load_matters(session, calendar, period, "created",
                                         court_id=court_id),
                      await load_matters(session, calendar, period, "forwarded",
                                         court_id=court_id), court_id)


@dataclass(frozen=True)
class Dashboard:
    period: Period
    calls: CallFigures
    matters: MatterFigures
    previous: CallFigures  # the period before, for the trend
    previous_matters: MatterFigures
    heat: list[list[int]]  # received calls, weekday × hour
    # cut by one court (issue 17): its matters' figures; the call figures stay the
    # centre's (calls are not a court's), and the page does not show them
    court: int | None = None


async def dashboard(session: AsyncSession, settings: Settings, period: Period,
                    now: datetime, court_id: int | None = None) -> Dashboard:
    """Every figure of the leader's dashboard for a period (docs/metrics.md), added up
    from the daily roll-ups (reports.rollup): the same figure functions, counted per day.
    The roll-ups are the whole centre's: one court's matter figures are counted from its
    matters (far fewer than the calls)."""
    current, current_heat = await period_figures(session, settings, period, now)
    before, _ = await period_figures(session, settings, period.previous(), now)
    if court_id is None:
        return Dashboard(period, current[0], current[1], before[0], before[1], current_heat)
    return Dashboard(period, current[0],
                     await court_matter_figures(session, settings, period, now, court_id),
                     before[0],
                     await court_matter_figures(session, settings, period.previous(), now,
                                                court_id),
                     current_heat, court_id)


async def court_matter_figures(session: AsyncSession, settings: Settings, period: Period,
                               now: datetime, court_id: int) -> MatterFigures:
    """One court's matter figures of a period, counted from its matters directly."""
    calendar = await report_calendar(session, settings, period)
    return matter_figures(
        calendar, await load_matters(session, calendar, period, "created", court_id=court_id),
        await load_matters(session, calendar, period, "forwarded", court_id=court_id), now)


async def period_figures(session: AsyncSession, settings: Settings, period: Period,
                         now: datetime
                         ) -> tuple[tuple[CallFigures, MatterFigures], list[list[int]]]:
    """The call and matter figures of a period and its heat map, from the daily roll-ups;
    逾期未答复 (as of now) from the matters still open."""
    figures, heat, _ = await period_figures_by_day(session, settings, period, now)
    return figures, heat


async def period_figures_by_day(
        session: AsyncSession, settings: Settings, period: Period, now: datetime
) -> tuple[tuple[CallFigures, MatterFigures], list[list[int]], list[tuple[date, int, int]]]:
    """period_figures, and each court day's received and answered calls (the monthly
    report's daily chart), from the same roll-ups."""
    days = await period_parts(session, settings, period)
    summed = total(days.values())
    calendar = await report_calendar(session, settings, period)
    pending = await load_matters(session, calendar, period, "forwarded", unanswered_only=True)
    heat = [[0] * 24 for _ in range(7)]
    for day, parts in days.items():
        heat[day.weekday()] = [a + b for a, b in zip(heat[day.weekday()], parts.calls.hours,
                                                     strict=True)]
    daily = [(day, parts.calls.counts.get("received", 0), parts.calls.counts.get("answered", 0))
             for day, parts in days.items()]
    return ((figures_of(summed.calls), figures_from(summed.matters, overdue_count(pending, now))),
            heat, daily)
