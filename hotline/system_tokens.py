"""The court's systems' tokens for the inbound API (issue 19): one or more per system,
each limited to its scopes, stored as their SHA-256 only (the token is shown once, when
made: `hotline integrations token add NAME --scope matters:create ...`).

    token = await create(session, "ssfw", ("matters:create", "matters:read"))
    found = await check(session, token, "matters:read")   # the SystemToken, or a Refusal
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.db.base import utcnow
from hotline.db.models import SystemToken

CREATE, ANSWER, READ = "matters:create", "matters:answer", "matters:read"
SCOPES = {CREATE: "create a matter", ANSWER: "record an answer made in the system "
          "(closes the matter with its reference as proof)", READ: "read a matter's state"}
PREFIX = "h12368s_"
_SYSTEM = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")


class TokenRefused(Exception):
    """status 401 (no such token, or revoked) or 403 (a scope the token lacks)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create(session: AsyncSession, system: str, scopes: tuple[str, ...] | list[str],
                 now: datetime | None = None) -> str:
    """A new token for `system` (shown once); ValueError for a bad name or scope."""
    if not _SYSTEM.fullmatch(system):
        raise ValueError(f"system name {system!r}: use a-z, 0-9, - and _ (up to 40)")
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown or not scopes:
        raise ValueError(f"scopes {', '.join(unknown) or '(none)'}: use {', '.join(SCOPES)}")
    token = PREFIX + secrets.token_urlsafe(32)
    session.add(SystemToken(system=system, token_hash=digest(token),
                            scopes=" ".join(sorted(set(scopes))), created_at=now or utcnow()))
    await session.flush()
    return token


async def check(session: AsyncSession, token: str, scope: str,
                now: datetime | None = None) -> SystemToken:
    """The token's row when it is live and holds `scope`; TokenRefused otherwise."""
    query = select(SystemToken).where(SystemToken.token_hash == digest(token))
    found = (await session.execute(query)).scalar_one_or_none()
    if found is None or found.revoked_at is not None:
        raise TokenRefused(401, "bad_token")
    if scope not in found.scopes.split():
        raise TokenRefused(403, "scope")
    found.last_used_at = now or utcnow()
    return found


async def listed(session: AsyncSession) -> list[SystemToken]:
    query = select(SystemToken).order_by(SystemToken.system, SystemToken.id)
    return list((await session.execute(query)).scalars())


async def revoke(session: AsyncSession, token_id: int, now: datetime | None = None) -> bool:
    found = await session.get(SystemToken, token_id)
    if found is None or found.revoked_at is not None:
        return False
    found.revoked_at = now or utcnow()
    return True
