"""Who is asking, and may they: the one dependency every page and API call goes through.

    @router.get("/admin/users")
    async def users(who: Annotated[Principal, Depends(require_role(ADMIN))]) -> ...

A browser proves who it is with the session cookie, an API client with a bearer token.
Every cookie-authenticated request that changes something must also carry the session's
CSRF token (form field csrf_token or header X-CSRF-Token). Failures raise NotLoggedIn or
Forbidden; the app turns them into a redirect or page for browsers and JSON for /api/.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any, cast

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.templating import Jinja2Templates
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agent_console import accounts, logins
from agent_console.accounts import Account, Lifetime
from agent_console.texts import MESSAGES, ROLES
from hotline.db.base import session_scope
from hotline.settings import Settings
from hotline.timefmt import local_time

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
    # Signs the login form's CSRF token; new at each start (an open login form then says
    # "expired" once), so nothing is stored for a visitor who has not logged in.
    signing_key: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)

    @property
    def lifetime(self) -> Lifetime:
        settings = self.settings.console
        return Lifetime(idle=timedelta(minutes=settings.session_idle_minutes),
                        absolute=timedelta(hours=settings.session_max_hours))


def login_form_token(c: Console, nonce: str) -> str:
    """The login form's CSRF token: bound to the nonce in the visitor's cookie and to the
    time it was issued, signed instead of stored (a visitor costs no database row)."""
    issued = str(int(c.clock().timestamp()))
    return f"{issued}.{_sign(c, nonce, issued)}"


def login_form_token_ok(c: Console, nonce: str, token: str) -> bool:
    issued, _, mac = token.partition(".")
    if not issued.isdigit() or not nonce:
        return False
    age = c.clock().timestamp() - int(issued)
    if not 0 <= age <= c.lifetime.idle.total_seconds():
        return False
    return hmac.compare_digest(mac.encode(), _sign(c, nonce, issued).encode())


def _sign(c: Console, nonce: str, issued: str) -> str:
    return hmac.new(c.signing_key, f"{nonce}.{issued}".encode(), hashlib.sha256).hexdigest()


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
            user = await accounts.find_token_user(db, credentials.credentials, c.clock(),
                                                  c.lifetime)
            if user is None:
                raise NotLoggedIn()
            return Principal(Account.of(user), None)
        secret = request.cookies.get(SESSION_COOKIE)
        found = await accounts.find_session(db, secret, c.clock(), c.lifetime) if secret else None
        if found is None:
            raise NotLoggedIn()
        return Principal(Account.of(found.user), found.row.csrf_token)


def client_address(request: Request) -> str:
    """The address the connection came from (the proxy's, behind a reverse proxy)."""
    return request.client.host if request.client else ""


def over_tls(request: Request) -> bool:
    """HTTPS to the browser: the console's own TLS, or a trusted proxy's X-Forwarded-Proto
    (uvicorn's proxy headers, only for [console] trusted_proxies, set the scheme)."""
    return request.url.scheme == "https"


def login_error(c: Console, outcome: logins.Outcome) -> str:
    """Why a login failed, in Chinese: locked (until when, in local time) or wrong."""
    if outcome.locked_until is None:
        return MESSAGES["bad_credentials"]
    return MESSAGES["login_locked"].format(
        until=local_time(outcome.locked_until, c.settings.hours.timezone))


async def check_csrf(request: Request, expected: str) -> None:
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        value = (await request.form()).get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not sent or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise Forbidden("csrf")
