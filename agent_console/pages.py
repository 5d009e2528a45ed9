"""The console's HTML pages (zh-CN): login, logout, home, the administrators' login log;
the users page is agent_console.users."""

from __future__ import annotations

import logging
import re
import secrets
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from agent_console import accounts, logins
from agent_console.accounts import Account
from agent_console.auth import (
    SESSION_COOKIE,
    Principal,
    client_address,
    console,
    login_error,
    login_form_token,
    login_form_token_ok,
    over_tls,
    require_role,
)
from agent_console.texts import (
    ADMIN,
    AGENT,
    LEADER,
    LOGIN_VIA_LABELS,
    MESSAGES,
    ROLE_LABELS,
    ROLES,
)
from hotline.db.base import session_scope
from hotline.db.models import User
from hotline.timefmt import local_time
from pbx import ControlError

log = logging.getLogger("agent_console")
router = APIRouter(include_in_schema=False)
Anyone = Annotated[Principal, Depends(require_role(*ROLES))]
Admin = Annotated[Principal, Depends(require_role(ADMIN))]
_NONCE = re.compile(r"[A-Za-z0-9_-]{43}")


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
    return console(request).templates.TemplateResponse(
        request, name, {"messages": MESSAGES, "role_labels": ROLE_LABELS, **context},
        status_code=status_code)


def _set_cookie(request: Request, response: Response, secret: str) -> Response:
    response.set_cookie(SESSION_COOKIE, secret, httponly=True, samesite="lax", path="/",
                        secure=_secure_cookie(request))
    return response


def _secure_cookie(request: Request) -> bool:
    """Secure whenever the browser came over HTTPS, so the cookie never travels in clear
    text afterwards; secure_cookies forces it for a TLS proxy the console does not trust."""
    return over_tls(request) or console(request).settings.console.secure_cookies


def _login_page(request: Request, nonce: str, status_code: int = 200, **context: Any
                ) -> Response:
    """The login form; before login the session cookie holds only a random nonce, which
    the form's signed CSRF token is bound to (no database row per visitor)."""
    token = login_form_token(console(request), nonce)
    return _set_cookie(request, render(request, "login.html", status_code, csrf_token=token,
                                       **context), nonce)


@router.get("/login")
async def login_form(request: Request) -> Response:
    c = console(request)
    secret = request.cookies.get(SESSION_COOKIE, "")
    if secret:
        async with session_scope(c.sessions) as db:
            if await accounts.find_session(db, secret, c.clock(), c.lifetime) is not None:
                return RedirectResponse("/", status_code=303)
    # A visitor's own nonce is kept, so two open login tabs both work.
    nonce = secret if _NONCE.fullmatch(secret) else secrets.token_urlsafe(32)
    return _login_page(request, nonce)


@router.post("/login")
async def login(request: Request, username: Annotated[str, Form()] = "",
                password: Annotated[str, Form()] = "",
                csrf_token: Annotated[str, Form()] = "") -> Response:
    c = console(request)
    nonce = request.cookies.get(SESSION_COOKIE, "")
    if not login_form_token_ok(c, nonce, csrf_token):
        return _login_page(request, secrets.token_urlsafe(32), 403, username=username,
                           error=MESSAGES["form_expired"])
    async with session_scope(c.sessions) as db:
        outcome = await logins.log_in(db, username, password, client_address(request),
                                      c.clock(), logins.Throttle.of(c.settings.console), "form")
        if outcome.user is None:
            return _login_page(request, nonce, 429 if outcome.locked_until else 200,
                               username=username, error=login_error(c, outcome))
        await accounts.purge_expired(db, c.clock())
        # A fresh session id once logged in: a cookie planted before login is worth nothing.
        new_secret, _ = await accounts.open_session(db, outcome.user.id, c.clock(), c.lifetime)
        account = Account.of(outcome.user)
    # Agents join the seats queue by logging in to the console, and leave it by logging out.
    if account.role == AGENT and account.extension:
        await _presence(request, account, signing_in=True)
        return _set_cookie(request, RedirectResponse("/desk", status_code=303), new_secret)
    return _set_cookie(request, RedirectResponse("/", status_code=303), new_secret)


async def _presence(request: Request, account: Account, *, signing_in: bool) -> None:
    """Sign the agent in to or out of the queue; a PBX that cannot be reached does not
    stop the login or logout (the desk shows the state and offers the button)."""
    live = getattr(request.app.state, "live", None)
    if live is None or live.control is None:
        return
    try:
        if signing_in:
            await live.sign_in(account.id, account.extension, account.name,
                               console(request).clock())
        else:
            await live.sign_out(account.id, account.extension, console(request).clock())
    except ControlError as exc:
        log.warning("queue %s for %s failed: %s", "sign-in" if signing_in else "sign-out",
                    account.username, exc)


@router.post("/logout")
async def logout(request: Request, who: Anyone) -> Response:
    if who.account.role == AGENT and who.account.extension:
        await _presence(request, who.account, signing_in=False)
    c = console(request)
    async with session_scope(c.sessions) as db:
        await accounts.close_session(db, request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", secure=_secure_cookie(request),
                           httponly=True, samesite="lax")
    return response


@router.get("/")
async def home(request: Request, who: Anyone) -> Response:
    # Leaders and administrators start from the figures (issue 14): the dashboard is home.
    if who.account.role in (LEADER, ADMIN):
        from agent_console.dashboard import dashboard_page  # it renders through this module

        return await dashboard_page(request, who)
    return render(request, "home.html", user=who.account, csrf_token=who.csrf_token)


@router.post("/admin/users/{user_id}/logout")
async def end_user_sessions(request: Request, who: Admin, user_id: int) -> Response:
    async with session_scope(console(request).sessions) as db:
        name, count = await end_sessions_of(db, user_id)
    return RedirectResponse(f"/admin/users?{urlencode({'ended': name, 'count': count})}",
                            status_code=303)


async def end_sessions_of(db: AsyncSession, user_id: int) -> tuple[str, int]:
    """An administrator logs a user out everywhere: their username and how many ended."""
    user = await db.get(User, user_id)
    if user is None:
        raise HTTPException(404, MESSAGES["user_not_found"])
    return user.username, await accounts.end_sessions(db, user_id)


@router.get("/admin/logins")
async def admin_logins(request: Request, who: Admin, username: str = "",
                       address: str = "") -> Response:
    c = console(request)
    async with session_scope(c.sessions) as db:
        attempts = await logins.recent(db, username.strip(), address.strip())
    return render(request, "admin_logins.html", user=who.account, csrf_token=who.csrf_token,
                  attempts=attempts, username=username, address=address,
                  via_labels=LOGIN_VIA_LABELS, timezone=c.settings.hours.timezone,
                  local_time=local_time)
