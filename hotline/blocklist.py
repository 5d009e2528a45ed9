"""Callers who abuse the line (issue 15): the block list administrators keep, and the
repeat callers the agent's desk flags.

A number on the list (with a reason and an expiry: harassment, repeated abuse) is never
cut off: its calls hear a short notice (prompt blocked-caller) and may only leave a voice
message, which reaches staff like any other. The bridge answers "is it blocked?" from
memory (BlockList, refreshed on change, like hotline.hours.OpenHours): no caller waits on
the database. Every change is written to block_changes (who, when, the entry as it stood
after it) and to the console's log.

Repeat callers (REPEAT_CALLS calls or more in REPEAT_DAYS days) are only flagged on the
agent's desk; nobody is blocked automatically.

    blocked = BlockList()
    await blocked.refresh(session)          # the bridge, every second: cheap when unchanged
    blocked.blocks("+86 138 1234 5678", now)   # True while the entry has not expired
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ScalarSelect, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.callid import known_number
from hotline.db.base import utcnow
from hotline.db.models import BlockChange, BlockedNumber, Call, User
from hotline.phonenumbers import PhoneNumberError, parse_phone
from hotline.privacy import mask_phone

log = logging.getLogger("hotline.blocklist")

ADDED, CHANGED, REMOVED = "added", "changed", "removed"
REASON_LIMIT = 200
# The longest a number stays on the list without an administrator looking again.
MAX_DAYS = 366
REPEAT_CALLS, REPEAT_DAYS = 3, 7


class BlockInvalid(ValueError):
    """errors maps a field (number, reason, expires) to a kind: required, number,
    too_long, past, too_far."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(", ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def normal_number(raw: str) -> str:
    """How the list keys a number, and how a caller's number is looked up in it: the
    dialled form (13812345678, 01062345678), so +86 and spaces do not matter."""
    try:
        return parse_phone(raw).dial
    except PhoneNumberError:
        return "".join(ch for ch in raw if ch in "0123456789")


# What tells the list changed: the newest line of block_changes, as a scalar subquery.
STAMP: tuple[ScalarSelect[Any], ...] = (select(func.max(BlockChange.id)).scalar_subquery(),)


class BlockList:
    """The block list in memory: number → expiry (aware UTC)."""

    def __init__(self) -> None:
        self.expiries: dict[str, datetime] = {}
        self.loaded = False
        self._stamp: object = None

    def blocks(self, caller_number: str, now: datetime) -> bool:
        # An empty list (most courts, most days) blocks nobody: no number is parsed for it.
        if not self.expiries or not known_number(caller_number):
            return False
        expires = self.expiries.get(normal_number(caller_number))
        return expires is not None and now < expires

    async def refresh(self, session: AsyncSession, found: Sequence[object] | None = None
                      ) -> bool:
        """Reload if the list changed (a new line in block_changes); whether it did. found:
        STAMP's values, when the caller read them with others' (the bridge)."""
        stamp = (await session.execute(select(*STAMP))).one()[0] if found is None else found[0]
        if self.loaded and stamp == self._stamp:
            return False
        rows = await session.execute(select(BlockedNumber.number, BlockedNumber.expires_at))
        self.expiries = {number: expires for number, expires in rows.all()}
        self._stamp, self.loaded = stamp, True
        return True


# --- what administrators change ---------------------------------------------------------

@dataclass(frozen=True)
class Entry:
    number: str
    reason: str
    expires_at: datetime


def check_entry(number: str, reason: str, expires_at: datetime | None,
                now: datetime) -> Entry:
    """The entry, checked; BlockInvalid naming each wrong field."""
    errors: dict[str, str] = {}
    normal = normal_number(number.strip()) if number.strip() else ""
    if not number.strip():
        errors["number"] = "required"
    elif not known_number(number.strip()) or len(normal) < 3 or len(normal) > 20:
        errors["number"] = "number"
    reason = reason.strip()
    if not reason:
        errors["reason"] = "required"
    elif len(reason) > REASON_LIMIT:
        errors["reason"] = "too_long"
    if expires_at is None:
        errors["expires"] = "required"
    elif expires_at <= now:
        errors["expires"] = "past"
    elif expires_at > now + timedelta(days=MAX_DAYS):
        errors["expires"] = "too_far"
    if errors:
        raise BlockInvalid(errors)
    assert expires_at is not None
    return Entry(normal, reason, expires_at)


async def save_block(session: AsyncSession, entry: Entry, by: User | None,
                     now: datetime | None = None) -> BlockedNumber:
    """Put the number on the list, or change its reason and expiry; logged."""
    now = now or utcnow()
    found = await session.get(BlockedNumber, entry.number)
    action = CHANGED if found is not None else ADDED
    if found is None:
        found = BlockedNumber(number=entry.number, created_at=now,
                              created_by=by.id if by else None)
        session.add(found)
    found.reason, found.expires_at = entry.reason, entry.expires_at
    _log(session, action, entry.number, entry.reason, entry.expires_at, by, now)
    await session.flush()
    return found


async def remove_block(session: AsyncSession, number: str, by: User | None,
                       now: datetime | None = None) -> bool:
    """Take the number off the list; whether it was on it. Logged."""
    found = await session.get(BlockedNumber, number)
    if found is None:
        return False
    await session.execute(delete(BlockedNumber).where(BlockedNumber.number == number))
    _log(session, REMOVED, number, found.reason, found.expires_at, by, now or utcnow())
    await session.flush()
    return True


def _log(session: AsyncSession, action: str, number: str, reason: str,
         expires_at: datetime | None, by: User | None, now: datetime) -> None:
    session.add(BlockChange(number=number, action=action, reason=reason,
                            expires_at=expires_at, at=now, user_id=by.id if by else None,
                            username=by.username if by else ""))
    log.info("block list: %s %s by %s", action, mask_phone(number),
             by.username if by else "the command line")


async def blocked_numbers(session: AsyncSession) -> list[BlockedNumber]:
    query = select(BlockedNumber).order_by(BlockedNumber.expires_at.desc())
    return list((await session.execute(query)).scalars())


async def changes(session: AsyncSession, limit: int = 200) -> list[BlockChange]:
    query = select(BlockChange).order_by(BlockChange.id.desc()).limit(limit)
    return list((await session.execute(query)).scalars())


# --- repeat callers -----------------------------------------------------------------------

async def recent_calls(session: AsyncSession, number: str, now: datetime | None = None
                       ) -> int:
    """How many calls this number made in the last REPEAT_DAYS days (the one now included):
    REPEAT_CALLS or more flags the caller on the desk. 0 for a withheld number."""
    if not known_number(number):
        return 0
    since = (now or utcnow()) - timedelta(days=REPEAT_DAYS)
    query = (select(func.count()).select_from(Call)
             .where(Call.caller_number == number, Call.started_at >= since))
    return int(await session.scalar(query) or 0)
