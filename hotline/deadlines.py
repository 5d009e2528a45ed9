"""When forwarded matters are due (Art. 5(6)): the close of office hours on the 2nd working
day after the day of forwarding (the starting day is not counted; make-up working days
count), and the next escalation level 2 working days after that, counted the same way.

Forwarded Fri 2026-02-13 10:00 → day 1 is the make-up Saturday 02-14, day 2 Tue 02-24 (after
the Spring Festival) → due 2026-02-24 at closing time.

The deadlines live on the ticket (due_at, next_escalation_at), so the escalation pass only
polls an indexed column. When the court changes its calendar, `recompute_deadlines` moves
the deadlines still ahead; what was already due stays as it was.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from hotline.calendar import WorkingCalendar
from hotline.db import calendar_days
from hotline.db.models import Ticket
from hotline.db.tickets import OPEN
from hotline.hours import court_today
from hotline.settings import Settings

REPLY_WORKING_DAYS = 2
# The last escalation level (the supervising court leader): no step comes after it.
TOP_LEVEL = 2
# Overrides are loaded this far around the days a computation starts from: a long holiday
# plus the working days counted after it fit well inside.
MARGIN = timedelta(days=60)


@dataclass
class Deadlines:
    """Deadline arithmetic over one calendar, remembered per starting day (a pass over many
    tickets asks about the same few days again and again)."""

    calendar: WorkingCalendar
    _by_day: dict[date, datetime] = field(default_factory=dict)

    def due_after(self, start: datetime) -> datetime:
        """Close of office hours on the 2nd working day after the court day of `start` (UTC)."""
        day = start.astimezone(self.calendar.zone).date()
        if day not in self._by_day:
            self._by_day[day] = self.calendar.deadline(start, REPLY_WORKING_DAYS)
        return self._by_day[day]

    def next_step(self, level: int, start: datetime) -> datetime | None:
        """When a ticket now at escalation `level` goes up next: 2 working days after
        `start` (its forwarding, or the step before it); None once at the top level. The
        one rule behind forwarding, the escalation pass and a recount after a calendar
        change."""
        return self.due_after(start) if level < TOP_LEVEL else None


# --- "overdue", said once ---------------------------------------------------------------

def overdue(ticket: Ticket, now: datetime) -> bool:
    """The reply deadline has passed and the matter is still open (what staff see in red)."""
    return ticket.status == OPEN and ticket.due_at is not None and ticket.due_at < now


def step_due(ticket: Ticket, as_of: datetime) -> bool:
    """The ticket's next escalation step is due at `as_of`: unanswered, open, below the top
    level, its step deadline reached. step_due_where is the same rule for a query."""
    return (ticket.next_escalation_at is not None and ticket.next_escalation_at <= as_of
            and ticket.escalation_level < TOP_LEVEL and ticket.answered_at is None
            and ticket.closed_at is None)


def step_due_where(as_of: datetime) -> tuple[ColumnElement[bool], ...]:
    """step_due as WHERE conditions (the pass reads them over next_escalation_at's index)."""
    return (Ticket.next_escalation_at <= as_of, Ticket.escalation_level < TOP_LEVEL,
            Ticket.answered_at.is_(None), Ticket.closed_at.is_(None))


async def load_deadlines(session: AsyncSession, settings: Settings, first: date,
                         last: date) -> Deadlines:
    """Deadlines for starting days from `first` to `last`, with every court override that
    can matter to them."""
    rows = await calendar_days.overrides_between(session, first - MARGIN, last + MARGIN)
    overrides = {row.day: (row.workday, row.name) for row in rows}
    years = await calendar_days.declared_years(session)
    return Deadlines(WorkingCalendar(settings.hours, overrides, years))


async def deadlines_from(session: AsyncSession, settings: Settings,
                         start: datetime) -> Deadlines:
    """Deadlines for counting from the court day of `start`."""
    day = court_today(settings, start)
    return await load_deadlines(session, settings, day, day)


async def due_after(session: AsyncSession, settings: Settings, forwarded_at: datetime) -> datetime:
    """The moment (UTC) a matter forwarded at `forwarded_at` must have been answered."""
    return (await deadlines_from(session, settings, forwarded_at)).due_after(forwarded_at)


@dataclass(frozen=True)
class Recomputed:
    due: int  # not yet due: due_at and the first escalation moved
    second_step: int  # escalated to the head, the leader not yet due: that step moved

    @property
    def total(self) -> int:
        return self.due + self.second_step


async def recompute_deadlines(session: AsyncSession, settings: Settings,
                              now: datetime) -> Recomputed:
    """After a calendar change: recount the deadlines of unanswered tickets not yet due as
    of `now`. A step already due keeps its time (the push has happened or is happening).

    Tickets that start counting on the same court day share a deadline, so the updates go
    one court day at a time: a handful of statements however many tickets are open.
    """
    ahead = (Ticket.next_escalation_at > now, Ticket.answered_at.is_(None),
             Ticket.closed_at.is_(None))
    first = await _recount(session, settings, Ticket.forwarded_at, 0, ahead,
                           {"due_at": True, "next_escalation_at": True})
    second = await _recount(session, settings, Ticket.due_at, 1, ahead,
                            {"next_escalation_at": True})
    return Recomputed(first, second)


async def _recount(session: AsyncSession, settings: Settings,
                   start: InstrumentedAttribute[datetime | None], level: int,
                   ahead: tuple[ColumnElement[bool], ...], targets: dict[str, bool]) -> int:
    """Set the `targets` columns to the next step counted from `start` on the tickets at
    escalation `level` matching `ahead`."""
    where = [*ahead, Ticket.escalation_level == level, start.is_not(None)]
    low, high = (await session.execute(
        select(func.min(start), func.max(start)).where(*where))).one()
    if low is None:
        return 0
    zone = WorkingCalendar(settings.hours).zone
    first, last = (_aware(v).astimezone(zone).date() for v in (low, high or low))
    deadlines = await load_deadlines(session, settings, first, last)
    changed, day = 0, first
    while day <= last:
        day_start = datetime.combine(day, datetime.min.time(), zone)
        due = deadlines.next_step(level, day_start)
        assert due is not None  # only levels below the top have a step ahead
        columns = [getattr(Ticket, name) for name in targets]
        result = await session.execute(
            update(Ticket)
            .where(*where, start >= day_start, start < day_start + timedelta(days=1),
                   or_(*(c.is_(None) | (c != due) for c in columns)))
            .values({name: due for name in targets})
            .execution_options(synchronize_session=False))
        changed += _rowcount(result)
        day += timedelta(days=1)
    return changed


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def _aware(value: datetime | str) -> datetime:
    # An aggregate over the column comes back without the column type's conversion
    # (SQLite: naive, or even text).
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
