"""Data access for the duty roster (Art. 7): which duty judge is on duty on a court day.

Each court has its own roster (issue 17, migration 0023), of its own duty judges; every
function takes the court, the centre's by default. The administrator sets it in the
console; the agent desk shows today's judge through duty_judge_for(session,
court_today(settings)), and a caller who chose court N is put through to
duty_judge_for(session, today, N) — the centre's judge when court N has none that day.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.db.models import CENTRE_COURT_ID, Call, DutyAssignment, User

logger = logging.getLogger(__name__)

# The role code of duty judges; agent_console.texts.DUTY_JUDGE names the same role.
DUTY_JUDGE_ROLE = "duty_judge"
# One fill covers at most a year: a typo in the end date must not write decades.
MAX_FILL_DAYS = 366


class RosterError(ValueError):
    """The roster change cannot be made; reason is "not_judge", "other_court" (a duty
    judge of another court) or "range"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Duty:
    day: date
    judge: User
    note: str


async def duty_judge_for(session: AsyncSession, day: date,
                         court_id: int | None = None) -> User | None:
    """The duty judge of a court on `day` (the centre's court when None). A basic court
    with nobody rostered that day has the centre's judge (and the log says so); None when
    nobody is (or the rostered user is no longer an active duty judge)."""
    court = court_id or CENTRE_COURT_ID
    judge = await _rostered(session, day, court)
    if judge is None and court != CENTRE_COURT_ID:
        judge = await _rostered(session, day, CENTRE_COURT_ID)
        logger.info("court %s has no duty judge on %s: the centre's (%s)", court, day,
                    judge.username if judge is not None else "none either")
    return judge


async def duty_judge_for_call(session: AsyncSession, day: date,
                              call_id: str | None) -> User | None:
    """The duty judge for a call: of the court its caller chose in the voice menu
    (calls.court_id), the centre's when none was chosen (duty_judge_for)."""
    call = await session.get(Call, call_id) if call_id else None
    return await duty_judge_for(session, day, call.court_id if call is not None else None)


async def _rostered(session: AsyncSession, day: date, court_id: int) -> User | None:
    row = await _row(session, day, court_id)
    if row is None:
        return None
    judge = await session.get(User, row.judge_id)
    return judge if judge is not None and _is_duty_judge(judge) else None


async def _row(session: AsyncSession, day: date, court_id: int) -> DutyAssignment | None:
    return (await session.execute(select(DutyAssignment).where(
        DutyAssignment.court_id == court_id, DutyAssignment.day == day))).scalar()


async def set_duty(session: AsyncSession, day: date, judge: User, note: str = "",
                   court_id: int = CENTRE_COURT_ID) -> None:
    """Put `judge` on duty on `day` for a court, replacing whoever was there."""
    await fill_duty(session, [day], judge, note, court_id)


async def fill_duty(session: AsyncSession, days: Iterable[date], judge: User,
                    note: str = "", court_id: int = CENTRE_COURT_ID) -> int:
    """Put `judge` on a court's duty on every day of `days`; the number of days written.
    The judge must be that court's staff (a basic court's duty judge is its own)."""
    if not _is_duty_judge(judge):
        raise RosterError("not_judge")
    if judge.court_id != court_id:
        raise RosterError("other_court")
    count = 0
    for day in days:
        row = await _row(session, day, court_id)
        if row is None:
            session.add(DutyAssignment(day=day, judge_id=judge.id, note=note,
                                       court_id=court_id))
        else:
            row.judge_id, row.note = judge.id, note
        count += 1
    await session.flush()
    return count


def days_between(start: date, end: date) -> list[date]:
    """Every day from start to end, both included; RosterError("range") when end is
    before start or the range is longer than MAX_FILL_DAYS."""
    count = (end - start).days + 1
    if count < 1 or count > MAX_FILL_DAYS:
        raise RosterError("range")
    return [start + timedelta(days=n) for n in range(count)]


async def clear_duty(session: AsyncSession, day: date,
                     court_id: int = CENTRE_COURT_ID) -> bool:
    """Take `day` off a court's roster; True when there was an entry."""
    result = await session.execute(delete(DutyAssignment).where(
        DutyAssignment.court_id == court_id, DutyAssignment.day == day))
    return bool(getattr(result, "rowcount", 0))


async def roster_between(session: AsyncSession, start: date, end: date,
                         court_id: int = CENTRE_COURT_ID) -> list[Duty]:
    query = (select(DutyAssignment, User).join(User, User.id == DutyAssignment.judge_id)
             .where(DutyAssignment.court_id == court_id,
                    DutyAssignment.day >= start, DutyAssignment.day <= end)
             .order_by(DutyAssignment.day))
    rows = (await session.execute(query)).all()
    return [Duty(row.day, judge, row.note) for row, judge in rows]


async def duty_judges(session: AsyncSession, court_id: int | None = None) -> list[User]:
    """The active users who may be put on the roster (of one court when given)."""
    query = (select(User).where(User.role == DUTY_JUDGE_ROLE, User.active)
             .order_by(User.username))
    if court_id is not None:
        query = query.where(User.court_id == court_id)
    return list((await session.scalars(query)).all())


def _is_duty_judge(user: User) -> bool:
    return user.role == DUTY_JUDGE_ROLE and user.active
