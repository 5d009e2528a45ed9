"""Call figures (docs/metrics.md, "Calls"): every figure is one function over the calls of
a period, read once by load_calls. A counted figure is a predicate on one call, so the
dashboard's drill-down lists exactly the calls a number counts (CALL_SETS).

Only what the figures need is read: each call's row and its queue, seat and abandon events
(ivr.calltracker writes them from AMI; a call the reconciler rebuilt from the CDR has none,
and is counted from its route and agent alone).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.calendar import WorkingCalendar
from hotline.db.models import Call, CallEvent
from hotline.recording_access import REPLY_CALL_EVENT
from reports.period import Period

T = TypeVar("T")

# The call events the figures read (ivr.calltracker's kinds).
QUEUE, SEAT, ABANDON, QUEUE_LEFT = "queue", "agent", "abandon", "queue-left"
EVENT_KINDS = (QUEUE, SEAT, ABANDON, QUEUE_LEFT, REPLY_CALL_EVENT)
QUEUE_ROUTE = "queue"
RECONCILED = "reconciled"  # Call.source of a call rebuilt from the CDR
# The service level's threshold: answered within this many seconds of joining the queue.
SERVICE_LEVEL_SECONDS = 20
# How long callers waited before giving up, in these bands (seconds, upper bound included).
ABANDON_BANDS: tuple[tuple[str, float], ...] = (
    ("≤5秒", 5), ("6–20秒", 20), ("21–60秒", 60), (">60秒", math.inf))


@dataclass(frozen=True)
class CallFacts:
    """What the figures know about one call."""

    id: str
    started_at: datetime
    ended_at: datetime | None
    caller_number: str
    route: str
    source: str  # live | reconciled
    office_hours: bool  # started while the hotline was open by the calendar
    queued_at: datetime | None  # first joined the seats queue
    seat_at: datetime | None  # a seat first answered (AgentConnect)
    seat_user_id: int | None  # the console user on that seat, when known
    agent: str  # the seat as the PBX named it
    abandoned_at: datetime | None  # the caller hung up while waiting (QueueCallerAbandon)
    left_queue: bool  # the queue sent the caller on (timeout, empty): not an abandon
    outbound: bool  # a handler's reply call, not a call to the hotline


async def load_calls(session: AsyncSession, calendar: WorkingCalendar,
                     period: Period) -> list[CallFacts]:
    """The calls that started in the period (court days), whenever they were written: a
    call the reconciler adds late counts in the period it started in."""
    start, end = period.bounds(calendar.hours.timezone)
    in_period = (Call.started_at >= start, Call.started_at < end)
    rows = (await session.execute(
        select(Call.id, Call.started_at, Call.ended_at, Call.caller_number, Call.route,
               Call.source, Call.agent).where(*in_period).order_by(Call.started_at, Call.id)
    )).all()
    events: dict[str, list[tuple[str, datetime, str | None]]] = {}
    # Only the seat's user id of each event's detail: the database picks it out, so a
    # month's events are not each decoded from JSON here.
    event_rows = await session.execute(
        select(CallEvent.call_id, CallEvent.kind, CallEvent.at,
               CallEvent.detail["user_id"].as_string())
        .join(Call, Call.id == CallEvent.call_id)
        .where(*in_period, CallEvent.kind.in_(EVENT_KINDS))
        .order_by(CallEvent.at, CallEvent.id))
    for call_id, kind, at, user in event_rows:
        events.setdefault(call_id, []).append((kind, at, user))
    return [_facts(row, events.get(row.id, []), calendar) for row in rows]


def _facts(row: Any, events: list[tuple[str, datetime, str | None]],
           calendar: WorkingCalendar) -> CallFacts:
    first: dict[str, tuple[datetime, str | None]] = {}
    for kind, at, user_id in events:
        first.setdefault(kind, (at, user_id))
    seat = first.get(SEAT)
    user = (seat[1] or "") if seat else ""
    started: datetime = row.started_at
    return CallFacts(
        id=row.id, started_at=started, ended_at=row.ended_at,
        caller_number=row.caller_number, route=row.route,
        source=row.source, office_hours=calendar.is_open(started),
        queued_at=first[QUEUE][0] if QUEUE in first else None,
        seat_at=seat[0] if seat else None,
        seat_user_id=int(user) if user.isdigit() else None,
        agent=row.agent,
        abandoned_at=first[ABANDON][0] if ABANDON in first else None,
        left_queue=QUEUE_LEFT in first, outbound=REPLY_CALL_EVENT in first)


# --- which calls a figure counts ---------------------------------------------------------

def is_received(c: CallFacts) -> bool:
    """来电总量: a call to the hotline (a handler's reply call is not one)."""
    return not c.outbound


def is_offered(c: CallFacts) -> bool:
    """转人工 (offered): a call that joined the seats queue."""
    return is_received(c) and (c.queued_at is not None or c.route == QUEUE_ROUTE)


def is_answered(c: CallFacts) -> bool:
    """人工接通 (answered by a seat): an offered call a seat picked up."""
    return is_offered(c) and (c.seat_at is not None or bool(c.agent))


def is_abandoned(c: CallFacts) -> bool:
    """排队放弃 (abandoned in the queue): offered, not answered, and the caller hung up
    waiting — not sent on by the queue (timeout, no seat left: left_queue); a call still
    waiting has not abandoned. A call rebuilt from the CDR says nothing of its queue:
    without an abandon event it is unknown."""
    return (is_offered(c) and not is_answered(c) and not c.left_queue
            and (c.abandoned_at is not None
                 or (c.source != RECONCILED and c.ended_at is not None)))


def is_waiting(c: CallFacts) -> bool:
    """排队中 (the wallboard): offered, not answered, not given up, not sent on, not ended."""
    return (is_offered(c) and not is_answered(c) and not c.left_queue
            and c.abandoned_at is None and c.ended_at is None and c.source != RECONCILED)


def is_outcome_unknown(c: CallFacts) -> bool:
    """结果不明: offered per the CDR, but the reconciler cannot tell answered from given up."""
    return (is_offered(c) and not is_answered(c) and not c.left_queue
            and not is_abandoned(c) and not is_waiting(c))


def is_overflowed(c: CallFacts) -> bool:
    """转留言 (sent on by the queue): offered, not answered, the queue gave up on it."""
    return is_offered(c) and not is_answered(c) and c.left_queue


def is_voice_menu_only(c: CallFacts) -> bool:
    """自助服务 (served by the voice menu alone): received, never offered to the seats."""
    return is_received(c) and not is_offered(c)


def is_offered_in_hours(c: CallFacts) -> bool:
    """转人工（工作时间）: offered, and started in office hours (接通率's denominator)."""
    return is_offered(c) and c.office_hours


def is_answered_in_hours(c: CallFacts) -> bool:
    return is_answered(c) and c.office_hours


def is_answered_within_service_level(c: CallFacts) -> bool:
    """Offered in office hours and answered within 20 s of joining the queue."""
    wait = wait_seconds(c)
    return (is_answered_in_hours(c) and wait is not None
            and wait <= SERVICE_LEVEL_SECONDS)


CALL_SETS: dict[str, Callable[[CallFacts], bool]] = {
    "received": is_received,
    "offered": is_offered,
    "answered": is_answered,
    "abandoned": is_abandoned,
    "overflowed": is_overflowed,
    "unknown": is_outcome_unknown,
    "voice_menu": is_voice_menu_only,
    "offered_in_hours": is_offered_in_hours,
    "answered_in_hours": is_answered_in_hours,
    "within_20s": is_answered_within_service_level,
}


def count(items: Iterable[T], which: Callable[[T], bool]) -> int:
    return sum(1 for item in items if which(item))


def calls_of(calls: Iterable[CallFacts], name: str) -> list[CallFacts]:
    """The calls a counted figure counts (the drill-down); KeyError for an unknown name."""
    which = CALL_SETS[name]
    return [c for c in calls if which(c)]


# --- times -------------------------------------------------------------------------------

def wait_seconds(c: CallFacts) -> float | None:
    """An answered call's wait: from joining the queue to a seat answering."""
    if c.queued_at is None or c.seat_at is None:
        return None
    return max(0.0, (c.seat_at - c.queued_at).total_seconds())


def abandon_seconds(c: CallFacts) -> float | None:
    """How long an abandoning caller waited: from joining the queue to hanging up."""
    end = c.abandoned_at or c.ended_at
    if not is_abandoned(c) or c.queued_at is None or end is None:
        return None
    return max(0.0, (end - c.queued_at).total_seconds())


def talk_seconds(c: CallFacts) -> float | None:
    """An answered call's talk time: from the seat answering to the call's end (a transfer
    to the duty judge included)."""
    if c.seat_at is None or c.ended_at is None:
        return None
    return max(0.0, (c.ended_at - c.seat_at).total_seconds())


def mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def percentile(values: Sequence[float], share: float) -> float | None:
    """Nearest rank: the smallest value at or below which `share` of the values lie."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _known(values: Iterable[float | None]) -> list[float]:
    return [v for v in values if v is not None]


def answer_rate(calls: Sequence[CallFacts]) -> float | None:
    """接通率: answered ÷ offered, both among calls in office hours."""
    return ratio(count(calls, is_answered_in_hours), count(calls, is_offered_in_hours))


def service_level(calls: Sequence[CallFacts]) -> float | None:
    """20秒接通率: answered within 20 s ÷ offered, both in office hours."""
    return ratio(count(calls, is_answered_within_service_level),
                 count(calls, is_offered_in_hours))


def waits(calls: Iterable[CallFacts]) -> list[float]:
    return _known(wait_seconds(c) for c in calls if is_answered(c))


def average_wait(calls: Sequence[CallFacts]) -> float | None:
    return mean(waits(calls))


def p90_wait(calls: Sequence[CallFacts]) -> float | None:
    return percentile(waits(calls), 0.9)


def average_talk(calls: Sequence[CallFacts]) -> float | None:
    return mean(_known(talk_seconds(c) for c in calls if is_answered(c)))


def abandon_waits(calls: Iterable[CallFacts]) -> list[float]:
    return _known(abandon_seconds(c) for c in calls)


def abandon_bands(calls: Sequence[CallFacts]) -> dict[str, int]:
    """How many abandoning callers gave up within each band of waiting."""
    bands = dict.fromkeys((name for name, _ in ABANDON_BANDS), 0)
    for wait in abandon_waits(calls):
        name = next(name for name, upper in ABANDON_BANDS if wait <= upper)
        bands[name] += 1
    return bands


def by_hour_and_weekday(calls: Iterable[CallFacts], timezone: str) -> list[list[int]]:
    """Received calls by weekday (0 = Monday) × hour of the court's day: the heat map."""
    zone = ZoneInfo(timezone)
    grid = [[0] * 24 for _ in range(7)]
    for c in calls:
        if is_received(c):
            local = c.started_at.astimezone(zone)
            grid[local.weekday()][local.hour] += 1
    return grid


@dataclass(frozen=True)
class CallFigures:
    received: int
    offered: int
    answered: int
    abandoned: int
    overflowed: int
    unknown: int
    voice_menu: int
    offered_in_hours: int
    answered_in_hours: int
    within_20s: int
    answer_rate: float | None
    service_level: float | None
    average_wait: float | None
    p90_wait: float | None
    average_talk: float | None
    average_abandon_wait: float | None
    abandon_bands: dict[str, int]


# --- additive parts: what a day's calls add to any period's figures --------------------------

MICRO = 1_000_000


def _micro(seconds: float) -> int:
    # A moment is kept to the microsecond, so a wait is a whole number of microseconds.
    return round(seconds * MICRO)


@dataclass
class CallParts:
    """The call figures of some calls, kept so that the parts of two sets of calls add up
    to those of both (reports.rollup keeps one per court day): each counted set, the waits
    (µs: the percentile needs them all), the talk and abandon times' sums, the received
    calls by hour."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CALL_SETS, 0))
    waits: list[int] = field(default_factory=list)
    talk: list[int] = field(default_factory=lambda: [0, 0])  # sum µs, calls
    abandon: list[int] = field(default_factory=lambda: [0, 0])  # sum µs, calls
    bands: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys((name for name, _ in ABANDON_BANDS), 0))
    hours: list[int] = field(default_factory=lambda: [0] * 24)  # received, by court hour

    def add(self, other: CallParts) -> None:
        for name, n in other.counts.items():
            self.counts[name] = self.counts.get(name, 0) + n
        self.waits += other.waits  # sorted runs: figures_of sorts them once
        for mine, theirs in ((self.talk, other.talk), (self.abandon, other.abandon)):
            mine[0] += theirs[0]
            mine[1] += theirs[1]
        for name, n in other.bands.items():
            self.bands[name] = self.bands.get(name, 0) + n
        self.hours = [a + b for a, b in zip(self.hours, other.hours, strict=True)]

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CallParts:
        return cls(**data)


def call_parts(calls: Iterable[CallFacts], timezone: str = "UTC") -> CallParts:
    """The parts of these calls, each from its figure's one function."""
    calls = list(calls)
    zone = ZoneInfo(timezone)
    parts = CallParts(counts={name: count(calls, which) for name, which in CALL_SETS.items()},
                      waits=sorted(_micro(w) for w in waits(calls)))
    talks = _known(talk_seconds(c) for c in calls if is_answered(c))
    parts.talk = [sum(_micro(t) for t in talks), len(talks)]
    gave_up = abandon_waits(calls)
    parts.abandon = [sum(_micro(w) for w in gave_up), len(gave_up)]
    parts.bands = abandon_bands(calls)
    for c in calls:
        if is_received(c):
            parts.hours[c.started_at.astimezone(zone).hour] += 1
    return parts


def _nth_smallest(sorted_waits: list[int], share: float) -> float | None:
    """percentile() over µs kept sorted: the same nearest rank, without sorting again."""
    if not sorted_waits:
        return None
    return sorted_waits[max(0, math.ceil(share * len(sorted_waits)) - 1)] / MICRO


def _mean(total_and_n: list[int]) -> float | None:
    total, n = total_and_n
    return total / n / MICRO if n else None


def figures_of(parts: CallParts) -> CallFigures:
    """Every call figure of docs/metrics.md from the parts of the period's calls: the
    counts as counted, the rates their ratios (接通率, 20秒接通率), the times' means and
    the nearest-rank percentile."""
    n = parts.counts
    ordered = sorted(parts.waits)
    return CallFigures(
        **{name: n.get(name, 0) for name in CALL_SETS},
        answer_rate=ratio(n["answered_in_hours"], n["offered_in_hours"]),
        service_level=ratio(n["within_20s"], n["offered_in_hours"]),
        average_wait=sum(ordered) / len(ordered) / MICRO if ordered else None,
        p90_wait=_nth_smallest(ordered, 0.9), average_talk=_mean(parts.talk),
        average_abandon_wait=_mean(parts.abandon), abandon_bands=dict(parts.bands))


def call_figures(calls: Sequence[CallFacts]) -> CallFigures:
    """Every call figure of docs/metrics.md, each from its one function."""
    return figures_of(call_parts(calls))
