"""Data access for the SIP ban list (fail-to-ban, pbx/sip_security.py).

A ban is active while it is not lifted and its expiry is ahead; expired and lifted rows stay
as the history. The bridge adds bans, the command line lifts them; whoever changes the
table renders the PBX's ACL from active_bans() again.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, ScalarSelect, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.db.models import SipBan

# Whether the table changed since these were read: a ban added (the last id), lifted (the
# lifted rows), or history removed (the rows); the bridge reads them every second with its
# routing books' stamps (ivr/routing.py) and the bans themselves only when they moved.
STAMP: tuple[ScalarSelect[Any], ...] = (
    select(func.max(SipBan.id)).scalar_subquery(),
    select(func.count(SipBan.lifted_at)).scalar_subquery(),
    select(func.count()).select_from(SipBan).scalar_subquery(),
)


def _active(now: datetime) -> ColumnElement[bool]:
    return (SipBan.lifted_at.is_(None)) & (SipBan.expires_at > now)


async def active_bans(session: AsyncSession, now: datetime) -> list[SipBan]:
    """The bans in force at `now`, one per address (the latest), by address."""
    rows = (await session.scalars(select(SipBan).where(_active(now))
                                  .order_by(SipBan.address, SipBan.expires_at))).all()
    latest = {row.address: row for row in rows}  # the later expiry wins
    return [latest[address] for address in sorted(latest)]


async def add_ban(session: AsyncSession, address: str, *, failures: int, reason: str,
                  now: datetime, seconds: int) -> SipBan:
    ban = SipBan(address=address, failures=failures, reason=reason, banned_at=now,
                 expires_at=now + timedelta(seconds=seconds), lifted_by="")
    session.add(ban)
    await session.flush()
    return ban


async def lift(session: AsyncSession, address: str, now: datetime, by: str) -> int:
    """End every active ban of `address` now; how many there were."""
    rows = (await session.scalars(select(SipBan).where(_active(now),
                                                       SipBan.address == address))).all()
    for row in rows:
        row.lifted_at, row.lifted_by = now, by
    return len(rows)


async def recent_bans(session: AsyncSession, since: datetime) -> list[SipBan]:
    """Every ban made since `since`, newest first (the history `hotline sip bans` shows)."""
    return list((await session.scalars(select(SipBan).where(SipBan.banned_at >= since)
                                       .order_by(SipBan.banned_at.desc()))).all())
