"""The live wallboard (大屏): what the centre's screen shows now — callers waiting and the
longest wait, seats signed in / free / on a call / paused (with reason), today's offered,
answered, abandoned and 接通率, matters due today and overdue.

The queue and the seats are Asterisk's live state (LiveQueue: the console asks the PBX,
as the desk's queue summary does); today's figures come from the database with the same
figure functions as the dashboard. Without the PBX (not connected, or it did not answer)
the queue and the seats are read from what the call tracker and the console wrote, and
the board says so (live=False)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.db.models import AgentPresence, Ticket
from hotline.db.tickets import OPEN
from hotline.hours import court_today
from hotline.settings import Settings
from reports.calls import CallFacts, call_figures, is_answered, is_waiting, load_calls
from reports.figures import report_calendar
from reports.period import Period

READY, PAUSED, WRAP_UP = "ready", "paused", "wrap_up"
AFTER_CALL = "after_call"  # the pause reason wrap-up counts as (the console's label: 话后处理)


# Seat phone states (pbx DEVICE_STATES) of a seat talking: in the queue, not paused.
ON_CALL_DEVICES = frozenset({"in_use", "busy", "on_hold", "ring_in_use"})
FREE_DEVICE = "idle"


@dataclass(frozen=True)
class LiveSeat:
    """A queue member as Asterisk has it now."""

    paused: bool
    reason: str  # Asterisk's PausedReason: the console's key (break, after_call, ...)
    device: str  # the phone's state, a value of pbx DEVICE_STATES


@dataclass(frozen=True)
class LiveQueue:
    """The seats queue as Asterisk has it now: when each waiting caller arrived, and the
    seats signed in to it."""

    arrived: list[datetime]
    seats: list[LiveSeat]


def is_on_a_call(c: CallFacts) -> bool:
    return is_answered(c) and c.ended_at is None


@dataclass(frozen=True)
class Wallboard:
    waiting: int
    longest_wait: int  # seconds
    signed_in: int
    free: int
    on_call: int
    paused: int
    paused_reasons: dict[str, int]
    offered: int
    answered: int
    abandoned: int
    answer_rate: float | None
    due_today: int
    overdue: int
    live: bool  # the queue and the seats are Asterisk's now (else the database's)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


async def wallboard(session: AsyncSession, settings: Settings, now: datetime,
                    live: LiveQueue | None = None) -> Wallboard:
    today = Period.day(court_today(settings, now))
    calendar = await report_calendar(session, settings, today)
    calls = await load_calls(session, calendar, today)
    figures = call_figures(calls)
    queue = _live(live, now) if live is not None else await _recorded(session, calls, now)
    _, end = today.bounds(settings.hours.timezone)
    open_unanswered = (Ticket.status == OPEN, Ticket.answered_at.is_(None),
                       Ticket.due_at.is_not(None))
    due_today = await _count(session, *open_unanswered, Ticket.due_at >= now,
                             Ticket.due_at < end)
    overdue = await _count(session, *open_unanswered, Ticket.due_at < now)
    return Wallboard(
        **queue, offered=figures.offered, answered=figures.answered,
        abandoned=figures.abandoned, answer_rate=figures.answer_rate, due_today=due_today,
        overdue=overdue, live=live is not None)


def _live(live: LiveQueue, now: datetime) -> dict[str, Any]:
    """The queue and the seats from Asterisk: a paused seat counts by its reason (wrap-up
    is Asterisk's pause for after_call); a seat not paused is free when its phone is idle,
    on a call when it is in use."""
    reasons: dict[str, int] = {}
    for seat in live.seats:
        if seat.paused:
            reasons[seat.reason or "—"] = reasons.get(seat.reason or "—", 0) + 1
    ready = [s for s in live.seats if not s.paused]
    return {"waiting": len(live.arrived),
            "longest_wait": max((max(0, int((now - at).total_seconds()))
                                 for at in live.arrived), default=0),
            "signed_in": len(live.seats), "free": sum(s.device == FREE_DEVICE for s in ready),
            "on_call": sum(s.device in ON_CALL_DEVICES for s in ready),
            "paused": sum(reasons.values()), "paused_reasons": reasons}


async def _recorded(session: AsyncSession, calls: list[CallFacts], now: datetime
                    ) -> dict[str, Any]:
    """The queue and the seats as the database has them, when the PBX cannot be asked."""
    waiting = [c for c in calls if is_waiting(c)]
    busy = {c.seat_user_id for c in calls if is_on_a_call(c) and c.seat_user_id is not None}
    presence = (await session.execute(select(AgentPresence.user_id, AgentPresence.state,
                                             AgentPresence.reason))).all()
    ready = {user for user, state, _ in presence if state == READY}
    reasons: dict[str, int] = {}
    for _, state, reason in presence:
        # A seat in wrap-up is out of the queue as a paused one is, for the call just done.
        if state == WRAP_UP:
            state, reason = PAUSED, AFTER_CALL
        if state == PAUSED:
            reasons[reason or "—"] = reasons.get(reason or "—", 0) + 1
    return {"waiting": len(waiting),
            "longest_wait": max((int((now - c.queued_at).total_seconds()) for c in waiting
                                 if c.queued_at is not None), default=0),
            "signed_in": len(ready) + sum(reasons.values()), "free": len(ready - busy),
            "on_call": len(ready & busy), "paused": sum(reasons.values()),
            "paused_reasons": reasons}


async def _count(session: AsyncSession, *where: Any) -> int:
    return int((await session.execute(select(func.count()).select_from(Ticket).where(*where))
                ).scalar() or 0)
