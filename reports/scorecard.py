"""Department scorecard (Art. 10) and the seats' figures (Art. 6, 9), per period, limited
to what the reader may see (reports.scope). The counts are the matter and call figures'
own functions, applied per department and per agent."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from hotline.calendar import WorkingCalendar
from hotline.db.models import Call, CallEvent, CallLog, Department, Ticket, User
from hotline.recording_access import REPLY_CALL_EVENT
from hotline.roles import AGENT
from reports.calls import (
    QUEUE,
    QUEUE_ROUTE,
    SEAT,
    CallFacts,
    is_answered,
    mean,
    talk_seconds,
)
from reports.figures import PeriodData
from reports.matters import (
    MatterFacts,
    average_reply_hours,
    is_escalated_to_head,
    is_escalated_to_leader,
    is_forwarded,
    is_late,
    is_on_time,
    overdue_open,
)
from reports.period import Period
from reports.scope import Scope

CALLBACK = "callback"


@dataclass(frozen=True)
class DepartmentRow:
    department_id: int
    name: str
    received: int  # matters forwarded to it in the period
    on_time: int
    late: int
    level1: int
    level2: int
    overdue_open: int
    average_reply_hours: float | None

    @property
    def on_time_rate(self) -> float | None:
        replied = self.on_time + self.late
        return self.on_time / replied if replied else None


async def department_rows(session: AsyncSession, data: PeriodData, scope: Scope,
                          now: datetime) -> list[DepartmentRow]:
    """One row per department the reader may see (every active one, and any inactive one
    that received matters in the period), by name."""
    return await scorecard_rows(session, data.calendar, data.forwarded, scope, now,
                                data.court_id)


async def scorecard_rows(session: AsyncSession, calendar: WorkingCalendar,
                         forwarded: Sequence[MatterFacts], scope: Scope, now: datetime,
                         court_id: int | None = None) -> list[DepartmentRow]:
    """department_rows from the period's forwarded matters alone (load_matters
    "forwarded", of court_id's when cut by a court): the scorecard reads no call."""
    query = select(Department).order_by(Department.name)
    if court_id is not None:  # cut by one court: its departments
        query = query.where(Department.court_id == court_id)
    departments = (await session.execute(query)).scalars()
    received: dict[int, list[MatterFacts]] = {}
    for m in forwarded:
        if m.department_id is not None and is_forwarded(m):
            received.setdefault(m.department_id, []).append(m)
    return [_department_row(d, received.get(d.id, []), calendar, now) for d in departments
            if scope.sees_department(d.id) and (d.active or d.id in received)]


def _department_row(department: Department, matters: Sequence[MatterFacts],
                    calendar: WorkingCalendar, now: datetime) -> DepartmentRow:
    return DepartmentRow(
        department.id, department.name, len(matters),
        sum(map(is_on_time, matters)), sum(map(is_late, matters)),
        sum(map(is_escalated_to_head, matters)), sum(map(is_escalated_to_leader, matters)),
        sum(1 for m in matters if overdue_open(m, now)),
        average_reply_hours(calendar, matters))


def department_matters(data: PeriodData, scope: Scope, department_id: int
                       ) -> list[MatterFacts]:
    """A scorecard row's drill-down: the matters forwarded to the department in the
    period; none for a department the reader may not see."""
    if not scope.sees_department(department_id):
        return []
    return [m for m in data.forwarded if m.department_id == department_id]


@dataclass(frozen=True)
class AgentRow:
    user_id: int
    name: str
    answered: int
    talk_seconds: float
    average_talk: float | None
    call_logs: int  # call logs the agent filed in the period
    callbacks: int  # callback matters of theirs answered in the period
    unlogged: int  # 未登记来电: calls they answered with no call log

    @property
    def unlogged_share(self) -> float | None:
        return self.unlogged / self.answered if self.answered else None


@dataclass(frozen=True)
class SeatCall:
    """What the seats' table counts of one answered call: its seat's console user, its
    talk time (talk_seconds) and whether a call log names it."""

    id: str
    user_id: int
    talk: float | None
    logged: bool


async def agent_rows(session: AsyncSession, data: PeriodData, scope: Scope
                     ) -> list[AgentRow]:
    """One row per agent the reader may see: every active agent, and anyone who answered
    a call in the period."""
    answered = [c for c in data.calls if is_answered(c) and c.seat_user_id is not None]
    logged = await _logged_calls(session, [c.id for c in answered])
    seated = [SeatCall(c.id, c.seat_user_id, talk_seconds(c), c.id in logged)
              for c in answered if c.seat_user_id is not None]
    return await _agent_rows(session, seated, data.period, data.calendar.hours.timezone,
                             scope, data.court_id)


async def seat_rows(session: AsyncSession, timezone: str, period: Period, scope: Scope,
                    court_id: int | None = None) -> list[AgentRow]:
    """agent_rows without reading the period's calls: the answered calls' seat, user and
    talk time come from one narrow query (seat_calls). The same rows (a test holds them
    equal); the monthly report, its tables and the seats page use it."""
    return await _agent_rows(session, await seat_calls(session, timezone, period), period,
                             timezone, scope, court_id)


async def seat_calls(session: AsyncSession, timezone: str, period: Period) -> list[SeatCall]:
    """The period's calls answered by a seat whose console user is known, in the order
    load_calls reads them: one row per seat event (AgentConnect) of a call, the first
    taken. A call with a seat event has a seat_at, so is_answered asks only the rest:
    received (no reply-call event) and offered (a queue event or the queue's route)."""
    start, end = period.bounds(timezone)
    seat, queue, reply = aliased(CallEvent), aliased(CallEvent), aliased(CallEvent)
    rows = await session.execute(
        select(Call.id, Call.route, Call.ended_at, seat.at, seat.detail["user_id"].as_string(),
               exists().where(queue.call_id == Call.id, queue.kind == QUEUE),
               exists().where(reply.call_id == Call.id, reply.kind == REPLY_CALL_EVENT),
               exists().where(CallLog.call_id == Call.id))
        .join(seat, seat.call_id == Call.id)
        .where(Call.started_at >= start, Call.started_at < end, seat.kind == SEAT)
        .order_by(Call.started_at, Call.id, seat.at, seat.id))
    found: list[SeatCall] = []
    last = None
    for call_id, route, ended_at, seat_at, user, queued, outbound, logged in rows:
        if call_id == last:
            continue  # a later seat event of the same call
        last = call_id
        if outbound or not (queued or route == QUEUE_ROUTE) or not (user or "").isdigit():
            continue
        talk = max(0.0, (ended_at - seat_at).total_seconds()) if ended_at else None
        found.append(SeatCall(call_id, int(user), talk, bool(logged)))
    return found


async def _agent_rows(session: AsyncSession, seated: Sequence[SeatCall], period: Period,
                      timezone: str, scope: Scope, court_id: int | None) -> list[AgentRow]:
    answered: dict[int, list[SeatCall]] = {}
    for c in seated:
        answered.setdefault(c.user_id, []).append(c)
    users = (await session.execute(select(User).order_by(User.username))).scalars()
    people = [u for u in users if scope.sees_agent(u.id)
              and (court_id is None or u.court_id == court_id)
              and ((u.role == AGENT and u.active) or u.id in answered)]
    logs = await _logs_filed(session, period, timezone)
    callbacks = await _callbacks_answered(session, period, timezone)
    return [_agent_row(u, answered.get(u.id, []), logs.get(u.id, 0), callbacks.get(u.id, 0))
            for u in people]


def _agent_row(user: User, calls: Sequence[SeatCall], logs: int, callbacks: int) -> AgentRow:
    talks = [c.talk for c in calls if c.talk is not None]
    return AgentRow(user.id, user.display_name or user.username, len(calls), sum(talks),
                    mean(talks), logs, callbacks, sum(1 for c in calls if not c.logged))


def unlogged_calls(data: PeriodData, logged: set[str], user_id: int) -> list[CallFacts]:
    """The drill-down of 未登记来电: calls the agent answered with no call log."""
    return [c for c in data.calls if is_answered(c) and c.seat_user_id == user_id
            and c.id not in logged]


async def logged_call_ids(session: AsyncSession, data: PeriodData) -> set[str]:
    return await _logged_calls(session, [c.id for c in data.calls if is_answered(c)])


async def _logged_calls(session: AsyncSession, call_ids: list[str]) -> set[str]:
    found: set[str] = set()
    for i in range(0, len(call_ids), 500):
        rows = await session.execute(select(CallLog.call_id).where(
            CallLog.call_id.in_(call_ids[i:i + 500])))
        found.update(cid for cid in rows.scalars() if cid)
    return found


async def _logs_filed(session: AsyncSession, period: Period, timezone: str
                      ) -> dict[int, int]:
    start, end = period.bounds(timezone)
    rows = await session.execute(select(CallLog.owner_id).where(
        CallLog.created_at >= start, CallLog.created_at < end))
    counts: dict[int, int] = {}
    for owner in rows.scalars():
        if owner is not None:
            counts[owner] = counts.get(owner, 0) + 1
    return counts


async def _callbacks_answered(session: AsyncSession, period: Period, timezone: str
                              ) -> dict[int, int]:
    """Callback matters (留言回电) closed in the period, by their owner agent."""
    start, end = period.bounds(timezone)
    rows = await session.execute(select(Ticket.owner_id).where(
        Ticket.type == CALLBACK, Ticket.closed_at >= start, Ticket.closed_at < end))
    counts: dict[int, int] = {}
    for owner in rows.scalars():
        if owner is not None:
            counts[owner] = counts.get(owner, 0) + 1
    return counts
