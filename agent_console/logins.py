"""Logging in, for the form and the API alike: the lock-out after too many wrong passwords
(per username and per address), and the log of every checked attempt that administrators
read.

A locked name or address is refused before its password is checked, so guessing costs
the attacker time and the server no hashing. Refusals during a lock go to the process log,
not the table: anonymous requests must not grow the database without bound.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from agent_console import accounts
from hotline.db.models import LoginAttempt, User
from hotline.settings import ConsoleSettings

log = logging.getLogger("agent_console.logins")


@dataclass(frozen=True)
class Throttle:
    max_failures: int
    address_max_failures: int
    lock: timedelta
    keep: timedelta

    @classmethod
    def of(cls, settings: ConsoleSettings) -> Throttle:
        return cls(settings.login_max_failures, settings.login_address_max_failures,
                   timedelta(minutes=settings.login_lock_minutes),
                   timedelta(days=settings.login_log_days))


@dataclass(frozen=True)
class Outcome:
    """user when logged in; locked_until when refused (or just locked by this failure)."""

    user: User | None
    locked_until: datetime | None = None


async def log_in(db: AsyncSession, username: str, password: str, address: str,
                 now: datetime, throttle: Throttle, via: str) -> Outcome:
    until = await locked_until(db, username, address, now, throttle)
    if until is not None:
        log.warning("login refused while locked: %r from %s (%s)", username[:40], address, via)
        return Outcome(None, until)
    user = await accounts.authenticate(db, username, password)
    db.add(LoginAttempt(at=now, username=username[:40], address=address[:45],
                        success=user is not None, via=via))
    await db.flush()
    if user is not None:
        await db.execute(delete(LoginAttempt).where(LoginAttempt.at < now - throttle.keep))
        return Outcome(user)
    # The failure that reaches the limit already says so, rather than the next attempt.
    return Outcome(None, await locked_until(db, username, address, now, throttle))


async def locked_until(db: AsyncSession, username: str, address: str, now: datetime,
                       throttle: Throttle) -> datetime | None:
    """When the later of the name's and the address's lock ends; None when neither is."""
    last_success = await db.scalar(select(func.max(LoginAttempt.at)).where(
        LoginAttempt.username == username[:40], LoginAttempt.success))
    # A name's count starts again once its owner logs in; an address's does not (an
    # attacker with an account of their own could otherwise clear it).
    since = now - 2 * throttle.lock
    by_name = await _lock_end(db, LoginAttempt.username == username[:40],
                              max(since, last_success) if last_success else since,
                              throttle.max_failures, throttle.lock)
    by_address = await _lock_end(db, LoginAttempt.address == address[:45], since,
                                 throttle.address_max_failures, throttle.lock)
    ends = [end for end in (by_name, by_address) if end is not None and end > now]
    return max(ends, default=None)


async def _lock_end(db: AsyncSession, where: Any, since: datetime, limit: int,
                    lock: timedelta) -> datetime | None:
    """limit failures within lock lock the key until lock after the last of them. The list
    is short: a locked key adds no failures."""
    times = (await db.scalars(select(LoginAttempt.at).where(
        where, LoginAttempt.at > since, ~LoginAttempt.success).order_by(LoginAttempt.at))).all()
    end = None
    for first, last in zip(times, times[limit - 1:], strict=False):
        if last - first <= lock:
            end = last + lock
    return end


async def recent(db: AsyncSession, username: str = "", address: str = "",
                 limit: int = 200) -> Sequence[LoginAttempt]:
    """The latest attempts, newest first, optionally of one username or one address."""
    query = select(LoginAttempt).order_by(LoginAttempt.at.desc(), LoginAttempt.id.desc())
    if username:
        query = query.where(LoginAttempt.username == username)
    if address:
        query = query.where(LoginAttempt.address == address)
    return (await db.scalars(query.limit(limit))).all()
