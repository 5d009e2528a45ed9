"""Matter figures (docs/metrics.md, "Matters"): tickets by service type and source, open
and closed, and — for the matters forwarded to a department — replied on time within the
2 working days, late, still open past the deadline, escalated (督办) to the head and to the
leader, and the reply time counted in working hours on the same calendar as the deadlines
(hotline.calendar, hotline.deadlines).

Like the calls, every counted figure is a predicate on one matter (MATTER_SETS), so a
number's drill-down lists exactly the matters it counts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.calendar import WorkingCalendar
from hotline.catalog import TICKET_TYPES
from hotline.db.models import Ticket, TicketEvent
from hotline.db.tickets import OPEN
from hotline.deadlines import TOP_LEVEL
from reports.calls import count, mean
from reports.period import Period

# The reply call the caller picked up (hotline.tickets.REPLY_CALL_ANSWERED): the moment
# they were answered, though the handler may close the matter later.
CALL_ANSWERED = "call_answered"
SOURCES = {"call": "来电", "voice_message": "语音留言", "sms": "短信"}
# Matters the voice menu answered by itself (a case query, a procedural answer) are
# "answered" from the start: neither open nor forwarded.
HEAD_LEVEL = 1


@dataclass(frozen=True)
class MatterFacts:
    id: int
    reference: str
    type: str
    source: str  # SOURCES
    status: str
    created_at: datetime
    department_id: int | None
    owner_id: int | None
    forwarded_at: datetime | None
    due_at: datetime | None
    replied_at: datetime | None  # when the caller was answered (see reply_moment)
    escalation_level: int
    close_kind: str = ""  # "outside": closed by a head without the hotline's proof (issue 19)


def source_of(audio_path: str, detail: dict[str, Any] | None) -> str:
    """Where a matter came from: a voice message (it has the caller's audio), an SMS (its
    detail says so), else a call."""
    if audio_path:
        return "voice_message"
    return "sms" if (detail or {}).get("source") == "sms" else "call"


def reply_moment(answered_at: datetime | None, call_answered_at: datetime | None
                 ) -> datetime | None:
    """When the caller was answered: the reply call they picked up, or the delivered reply
    SMS (the ticket's answered_at, set when its delivery closed it) — whichever is first."""
    known = [m for m in (answered_at, call_answered_at) if m is not None]
    return min(known) if known else None


async def load_matters(session: AsyncSession, calendar: WorkingCalendar, period: Period,
                       by: str = "created", unanswered_only: bool = False,
                       court_id: int | None = None) -> list[MatterFacts]:
    """The matters of a period: created in it (by="created": types, sources, open and
    closed), or forwarded to a department in it (by="forwarded": the reply figures and the
    department scorecard). Reading again after a reply or a reopening gives the new
    figures. unanswered_only: only the open matters not answered by SMS, a narrower read
    for 逾期未答复 (its predicate still decides). court_id: one court's matters (issue 17)."""
    start, end = period.bounds(calendar.hours.timezone)
    column = Ticket.created_at if by == "created" else Ticket.forwarded_at
    answered_call = (select(TicketEvent.ticket_id, func.min(TicketEvent.at).label("at"))
                     .where(TicketEvent.kind == CALL_ANSWERED)
                     .group_by(TicketEvent.ticket_id).subquery())
    rows = await session.execute(
        select(Ticket.id, Ticket.reference, Ticket.type, Ticket.audio_path, Ticket.detail,
               Ticket.status, Ticket.created_at, Ticket.department_id, Ticket.owner_id,
               Ticket.forwarded_at, Ticket.due_at, Ticket.answered_at,
               Ticket.escalation_level, Ticket.close_kind, answered_call.c.at)
        .outerjoin(answered_call, answered_call.c.ticket_id == Ticket.id)
        .where(column >= start, column < end,
               *((Ticket.status == OPEN, Ticket.answered_at.is_(None)) if unanswered_only
                 else ()),
               *((Ticket.court_id == court_id,) if court_id is not None else ()))
        .order_by(column, Ticket.id))
    return [_facts(row) for row in rows]


def _facts(row: Any) -> MatterFacts:
    call_answered = row[-1]
    if isinstance(call_answered, str):  # an aggregate comes back as text on SQLite
        call_answered = datetime.fromisoformat(call_answered)
    if call_answered is not None and call_answered.tzinfo is None:
        call_answered = call_answered.replace(tzinfo=UTC)
    return MatterFacts(
        id=row.id, reference=row.reference, type=row.type,
        source=source_of(row.audio_path, row.detail), status=row.status,
        created_at=row.created_at, department_id=row.department_id, owner_id=row.owner_id,
        forwarded_at=row.forwarded_at, due_at=row.due_at,
        replied_at=reply_moment(row.answered_at, call_answered),
        escalation_level=row.escalation_level, close_kind=row.close_kind)


# --- which matters a figure counts -------------------------------------------------------

def is_open(m: MatterFacts) -> bool:
    return m.status == OPEN


def is_closed(m: MatterFacts) -> bool:
    """Closed, or answered by the voice menu: nothing left to do."""
    return m.status != OPEN


def is_closed_outside(m: MatterFacts) -> bool:
    """系统外答复办结: closed by the department's head or an administrator as answered
    outside the hotline (the judge's own phone), with a reason but no recording or SMS."""
    return m.status != OPEN and m.close_kind == "outside"


def is_forwarded(m: MatterFacts) -> bool:
    """转办: sent to a department, so the 2-working-day reply rule applies."""
    return m.forwarded_at is not None and m.due_at is not None


def is_on_time(m: MatterFacts) -> bool:
    """按期答复: forwarded and answered at or before its deadline (the close of office
    hours on the 2nd working day)."""
    return (is_forwarded(m) and m.replied_at is not None and m.due_at is not None
            and m.replied_at <= m.due_at)


def is_late(m: MatterFacts) -> bool:
    """逾期答复: forwarded and answered after its deadline."""
    return (is_forwarded(m) and m.replied_at is not None and m.due_at is not None
            and m.replied_at > m.due_at)


def overdue_open(m: MatterFacts, now: datetime) -> bool:
    """逾期未答复: forwarded, not answered, its deadline passed (as of `now`)."""
    return (is_forwarded(m) and m.replied_at is None and is_open(m) and m.due_at is not None
            and m.due_at < now)


def is_escalated_to_head(m: MatterFacts) -> bool:
    """督办（部门负责人）: pushed to the department's head (level 1 or beyond)."""
    return m.escalation_level >= HEAD_LEVEL


def is_escalated_to_leader(m: MatterFacts) -> bool:
    """督办（分管院领导）: pushed on to the supervising leader (the top level)."""
    return m.escalation_level >= TOP_LEVEL


MATTER_SETS: dict[str, Callable[[MatterFacts], bool]] = {
    "all": lambda m: True,
    "open": is_open,
    "closed": is_closed,
    "closed_outside": is_closed_outside,
    "forwarded": is_forwarded,
    "on_time": is_on_time,
    "late": is_late,
    "level1": is_escalated_to_head,
    "level2": is_escalated_to_leader,
}


def matters_of(matters: Iterable[MatterFacts], name: str, now: datetime) -> list[MatterFacts]:
    """The matters a counted figure counts (the drill-down); KeyError for an unknown name."""
    if name == "overdue":
        return [m for m in matters if overdue_open(m, now)]
    which = MATTER_SETS[name]
    return [m for m in matters if which(m)]


# --- working hours -----------------------------------------------------------------------

def working_seconds(calendar: WorkingCalendar, start: datetime, end: datetime) -> float:
    """The office hours between two moments (their overlap with each working day's office
    spans, in the court's time zone): nights, weekends and holidays do not count, a
    make-up Saturday does."""
    if end <= start:
        return 0.0
    zone = calendar.zone
    local_start, local_end = start.astimezone(zone), end.astimezone(zone)
    total, day = 0.0, local_start.date()
    while day <= local_end.date():
        for span_start, span_end in calendar.office_spans(day):
            lo = max(local_start, datetime.combine(day, span_start, zone))
            hi = min(local_end, datetime.combine(day, span_end, zone))
            total += max(0.0, (hi - lo).total_seconds())
        day += timedelta(days=1)
    return total


def reply_working_seconds(calendar: WorkingCalendar, m: MatterFacts) -> float | None:
    """A forwarded, answered matter's reply time: forwarding to answer, in office hours."""
    if not is_forwarded(m) or m.forwarded_at is None or m.replied_at is None:
        return None
    return working_seconds(calendar, m.forwarded_at, m.replied_at)


def average_reply_hours(calendar: WorkingCalendar, matters: Iterable[MatterFacts]
                        ) -> float | None:
    """平均答复用时（工作小时）."""
    seconds = [s for m in matters if (s := reply_working_seconds(calendar, m)) is not None]
    average = mean(seconds)
    return None if average is None else average / 3600


def by_type(matters: Iterable[MatterFacts]) -> dict[str, int]:
    """Matters per service type, every type listed (0 when none), in the catalogue's order."""
    counts = dict.fromkeys(TICKET_TYPES, 0)
    for m in matters:
        counts[m.type] = counts.get(m.type, 0) + 1
    return counts


def by_source(matters: Iterable[MatterFacts]) -> dict[str, int]:
    counts = dict.fromkeys(SOURCES, 0)
    for m in matters:
        counts[m.source] = counts.get(m.source, 0) + 1
    return counts


@dataclass(frozen=True)
class MatterFigures:
    created: int
    open: int
    closed: int
    by_type: dict[str, int]
    by_source: dict[str, int]
    # of the matters forwarded in the period
    forwarded: int
    on_time: int
    late: int
    overdue_open: int
    level1: int
    level2: int
    average_reply_hours: float | None
    on_time_rate: float | None
    closed_outside: int = 0  # of `closed`: closed without the hotline's proof (issue 19)


# --- additive parts: what a day's matters add to any period's figures -----------------------

# The counted sets of the matters forwarded in a period (逾期未答复 is never kept).
FORWARD_SETS = ("forwarded", "on_time", "late", "level1", "level2")


@dataclass
class MatterParts:
    """The matter figures that add up from day to day (reports.rollup keeps one per court
    day): of the matters created that day, and of those forwarded that day. 逾期未答复
    depends on the moment asked, so it is never kept (overdue_count)."""

    created: dict[str, int] = field(default_factory=lambda: {"all": 0, "open": 0, "closed": 0,
                                                             "closed_outside": 0})
    by_type: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TICKET_TYPES, 0))
    by_source: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SOURCES, 0))
    forwarded: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FORWARD_SETS, 0))
    reply: list[float] = field(default_factory=lambda: [0.0, 0])  # working seconds, matters

    def add(self, other: MatterParts) -> None:
        for mine, theirs in ((self.created, other.created), (self.by_type, other.by_type),
                             (self.by_source, other.by_source),
                             (self.forwarded, other.forwarded)):
            for name, n in theirs.items():
                mine[name] = mine.get(name, 0) + n
        self.reply = [self.reply[0] + other.reply[0], self.reply[1] + other.reply[1]]

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MatterParts:
        return cls(**data)



def matter_parts(calendar: WorkingCalendar, created: Sequence[MatterFacts],
                 forwarded: Sequence[MatterFacts]) -> MatterParts:
    """The parts of the matters created and of those forwarded (in a day, a period), each
    counted by its figure's one function."""
    seconds = [s for m in forwarded if (s := reply_working_seconds(calendar, m)) is not None]
    return MatterParts(
        created={"all": len(created), "open": count(created, is_open),
                 "closed": count(created, is_closed),
                 "closed_outside": count(created, is_closed_outside)},
        by_type=by_type(created), by_source=by_source(created),
        forwarded={name: count(forwarded, MATTER_SETS[name]) for name in FORWARD_SETS},
        reply=[sum(seconds), len(seconds)])


def overdue_count(forwarded: Iterable[MatterFacts], now: datetime) -> int:
    return sum(1 for m in forwarded if overdue_open(m, now))


def figures_from(parts: MatterParts, overdue: int) -> MatterFigures:
    """Every matter figure of docs/metrics.md from the parts of the period's matters and
    its count of 逾期未答复 (as of now)."""
    f = parts.forwarded
    replied = f["on_time"] + f["late"]
    total, n = parts.reply
    return MatterFigures(
        created=parts.created["all"], open=parts.created["open"],
        closed=parts.created["closed"], by_type=dict(parts.by_type),
        by_source=dict(parts.by_source), forwarded=f["forwarded"], on_time=f["on_time"],
        late=f["late"], overdue_open=overdue, level1=f["level1"], level2=f["level2"],
        average_reply_hours=total / n / 3600 if n else None,
        on_time_rate=f["on_time"] / replied if replied else None,
        closed_outside=parts.created.get("closed_outside", 0))


def matter_figures(calendar: WorkingCalendar, created: Sequence[MatterFacts],
                   forwarded: Sequence[MatterFacts], now: datetime) -> MatterFigures:
    """Every matter figure of docs/metrics.md: `created` are the matters created in the
    period, `forwarded` those forwarded in it (load_matters by="forwarded")."""
    return figures_from(matter_parts(calendar, created, forwarded),
                        overdue_count(forwarded, now))
