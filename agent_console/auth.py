"""Who is asking, and may they: the one dependency every page and API call goes through.

    @router.get("/admin/users")
    async def users(who: Annotated[Principal, Depends(require_role(ADMIN))]) -> ...

A browser proves who it is with the session cookie, an API client with a bearer token.
Every cookie-authenticated request that changes something must also carry the session's
CSRF token (form field csrf_token or header X-CSRF-Token). Failures raise NotLoggedIn or
Forbidden; the app turns them into a redirect or page for browsers and JSON for /api/.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, cast

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.templating import Jinja2Templates
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agent_console import accounts
from agent_console.accounts import Account
from agent_console.texts import ROLES
from hotline.db.base import session_scope
from hotline.settings import Settings

SESSION_COOKIE = "hotline_console"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class NotLoggedIn(Exception):
    """No live session or token came with the request."""


class Forbidden(Exception):
    """Logged in, but refused; reason is a key of texts.MESSAGES ("role", "csrf")."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Console:
    """What the console's handlers share, set once by create_app."""

    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    clock: Callable[[], datetime]
    templates: Jinja2Templates

    @property
    def idle(self) -> timedelta:
        return timedelta(minutes=self.settings.console.session_idle_minutes)


def console(request: Request) -> Console:
    return cast(Console, request.app.state.console)


@dataclass(frozen=True)
class Principal:
    """The user behind a request; csrf_token is the browser session's (None for a token)."""

    account: Account
    csrf_token: str | None


_bearer = HTTPBearer(auto_error=False, description="the token POST /api/login returns")
Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def require_role(*roles: str) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """A dependency that lets in logged-in users with one of roles, and nobody else."""
    unknown = set(roles) - set(ROLES)
    if not roles or unknown:
        raise ValueError(f"require_role needs known roles, got {roles!r}")
    allowed = frozenset(roles)

    async def dependency(request: Request, credentials: Bearer) -> Principal:
        principal = await _identify(request, credentials)
        if principal.account.role not in allowed:
            raise Forbidden("role")
        if principal.csrf_token is not None and request.method not in SAFE_METHODS:
            await check_csrf(request, principal.csrf_token)
        return principal

    return dependency


async def _identify(request: Request, credentials: HTTPAuthorizationCredentials | None
                    ) -> Principal:
    c = console(request)
    async with session_scope(c.sessions) as db:
        if credentials is not None:
            user = await accounts.find_token_user(db, credentials.credentials, c.clock(), c.idle)
            if user is None:
                raise NotLoggedIn()
            return Principal(Account.of(user), None)
        secret = request.cookies.get(SESSION_COOKIE)
        found = await accounts.find_session(db, secret, c.clock(), c.idle) if secret else None
        if found is None or found.user is None:
            raise NotLoggedIn()
        return Principal(Account.of(found.user), found.row.csrf_token)


async def check_csrf(request: Request, expected: str) -> None:
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        value = (await request.form()).get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not sent or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise Forbidden("csrf")
