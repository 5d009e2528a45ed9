"""The console's HTML pages (zh-CN): login, logout, home, and the administrators' user list."""

from __future__ import annotations

import hmac
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from agent_console import accounts
from agent_console.accounts import Account
from agent_console.auth import SESSION_COOKIE, Principal, console, require_role
from agent_console.texts import ADMIN, AGENT, MESSAGES, ROLE_LABELS, ROLES
from hotline.db.base import session_scope
from ivr.control import ControlError

log = logging.getLogger("agent_console")
router = APIRouter(include_in_schema=False)
Anyone = Annotated[Principal, Depends(require_role(*ROLES))]
Admin = Annotated[Principal, Depends(require_role(ADMIN))]


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
    return console(request).templates.TemplateResponse(
        request, name, {"messages": MESSAGES, "role_labels": ROLE_LABELS, **context},
        status_code=status_code)


def _set_cookie(request: Request, response: Response, secret: str) -> Response:
    response.set_cookie(SESSION_COOKIE, secret, httponly=True, samesite="lax", path="/",
                        secure=console(request).settings.console.secure_cookies)
    return response


@router.get("/login")
async def login_form(request: Request) -> Response:
    c = console(request)
    secret = request.cookies.get(SESSION_COOKIE, "")
    async with session_scope(c.sessions) as db:
        found = await accounts.find_session(db, secret, c.clock(), c.idle) if secret else None
        if found is not None and found.user is not None:
            return RedirectResponse("/", status_code=303)
        # The form's CSRF token lives in a session of its own, without a user, until login.
        if found is None:
            secret, row = await accounts.open_session(db, None, c.clock(), c.idle)
        else:
            row = found.row
        return _set_cookie(request, render(request, "login.html", csrf_token=row.csrf_token),
                           secret)


@router.post("/login")
async def login(request: Request, username: Annotated[str, Form()] = "",
                password: Annotated[str, Form()] = "",
                csrf_token: Annotated[str, Form()] = "") -> Response:
    c = console(request)
    secret = request.cookies.get(SESSION_COOKIE, "")
    async with session_scope(c.sessions) as db:
        found = await accounts.find_session(db, secret, c.clock(), c.idle) if secret else None
        if found is None or not hmac.compare_digest(csrf_token.encode(),
                                                    found.row.csrf_token.encode()):
            secret, row = await accounts.open_session(db, None, c.clock(), c.idle)
            page = render(request, "login.html", 403, csrf_token=row.csrf_token,
                          username=username, error=MESSAGES["form_expired"])
            return _set_cookie(request, page, secret)
        user = await accounts.authenticate(db, username, password)
        if user is None:
            return render(request, "login.html", csrf_token=found.row.csrf_token,
                          username=username, error=MESSAGES["bad_credentials"])
        # A fresh session id once logged in: a session planted before login is worth nothing.
        await accounts.close_session(db, secret)
        await accounts.purge_expired(db, c.clock())
        new_secret, _ = await accounts.open_session(db, user.id, c.clock(), c.idle)
        account = Account.of(user)
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
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/")
async def home(request: Request, who: Anyone) -> Response:
    return render(request, "home.html", user=who.account, csrf_token=who.csrf_token)


@router.get("/admin/users")
async def admin_users(request: Request, who: Admin) -> Response:
    async with session_scope(console(request).sessions) as db:
        users = await accounts.list_users(db)
    return render(request, "admin_users.html", user=who.account, csrf_token=who.csrf_token,
                  users=users)
