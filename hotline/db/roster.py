"""Data access for the duty roster (Art. 7): which duty judge is on duty on a court day.

The administrator sets it in the console; the agent desk shows today's judge through
duty_judge_for(session, court_today(settings)).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.db.models import DutyAssignment, User

# The role code of duty judges; agent_console.texts.DUTY_JUDGE names the same role.
DUTY_JUDGE_ROLE = "duty_judge"
# One fill covers at most a year: a typo in the end date must not write decades.
MAX_FILL_DAYS = 366


class RosterError(ValueError):
    """The roster change cannot be made; reason is "not_judge" or "range"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Duty:
    day: date
    judge: User
    note: str


async def duty_judge_for(session: AsyncSession, day: date) -> User | None:
    """The duty judge on `day`, or None when nobody is rostered (or the rostered user is
    no longer an active duty judge)."""
    row = await session.get(DutyAssignment, day)
    if row is None:
        return None
    judge = await session.get(User, row.judge_id)
    return judge if judge is not None and _is_duty_judge(judge) else None


async def set_duty(session: AsyncSession, day: date, judge: User, note: str = "") -> None:
    """Put `judge` on duty on `day`, replacing whoever was there."""
    await fill_duty(session, [day], judge, note)


async def fill_duty(session: AsyncSession, days: Iterable[date], judge: User,
                    note: str = "") -> int:
    """Put `judge` on duty on every day of `days`; the number of days written."""
    if not _is_duty_judge(judge):
        raise RosterError("not_judge")
    count = 0
    for day in days:
        row = await session.get(DutyAssignment, day)
        if row is None:
            session.add(DutyAssignment(day=day, judge_id=judge.id, note=note))
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


async def clear_duty(session: AsyncSession, day: date) -> bool:
    """Take `day` off the roster; True when there was an entry."""
    result = await session.execute(delete(DutyAssignment).where(DutyAssignment.day == day))
    return bool(getattr(result, "rowcount", 0))


async def roster_between(session: AsyncSession, start: date, end: date) -> list[Duty]:
    query = (select(DutyAssignment, User).join(User, User.id == DutyAssignment.judge_id)
             .where(DutyAssignment.day >= start, DutyAssignment.day <= end)
             .order_by(DutyAssignment.day))
    rows = (await session.execute(query)).all()
    return [Duty(row.day, judge, row.note) for row, judge in rows]


async def duty_judges(session: AsyncSession) -> list[User]:
    """The active users who may be put on the roster."""
    query = (select(User).where(User.role == DUTY_JUDGE_ROLE, User.active)
             .order_by(User.username))
    return list((await session.scalars(query)).all())


def _is_duty_judge(user: User) -> bool:
    return user.role == DUTY_JUDGE_ROLE and user.active
