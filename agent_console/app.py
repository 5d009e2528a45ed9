"""The one place that wires the console: settings, database sessions, templates, pages, API.

Tests and `hotline console` call create_app with their own collaborators.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from http import HTTPStatus
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy.exc import DataError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.exceptions import HTTPException

from agent_console import (
    accounts,
    api,
    appointments,
    calllog,
    consult,
    departments,
    desk,
    kb,
    notices,
    pages,
    phones,
    recordings,
    roster,
    sms,
    tickets,
    users,
)
from agent_console.accounts import Account
from agent_console.auth import (
    SESSION_COOKIE,
    Console,
    Forbidden,
    NotLoggedIn,
    console,
    over_tls,
)
from agent_console.forms import API_ERRORS, PBX_ERRORS
from agent_console.live import LiveDesk
from agent_console.texts import (
    ACCESS_REQUEST_LABELS,
    ALERT_KIND_LABELS,
    CALL_ROUTE_LABELS,
    ERROR_TITLES,
    MESSAGES,
)
from hotline.db.base import session_scope, utcnow
from hotline.privacy import mask_phone, mask_text
from hotline.settings import Settings
from hotline.tls import HSTS_VALUE

HERE = Path(__file__).parent
log = logging.getLogger("agent_console")

# The pages show personal data: never framed by another site, never cached by the browser.
SECURITY_HEADERS = {
    # Images also from data: URLs, which Pico's stylesheet draws its icons with (a select's
    # chevron, a checkbox's tick); scripts, styles and frames stay our own.
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def create_app(settings: Settings, sessions: async_sessionmaker[AsyncSession], *,
               clock: Callable[[], datetime] = utcnow, live: LiveDesk | None = None) -> FastAPI:
    """The console. live is the PBX side (screen pops, queue, transfers); without it the
    desk's actions answer 503 and everything else works."""
    app = FastAPI(title=MESSAGES["title"], openapi_url="/api/openapi.json", docs_url=None,
                  redoc_url=None)
    app.state.console = Console(settings, sessions, clock, _templates())
    app.state.live = live
    routers = [pages.router, desk.router, api.router, phones.router]
    routers.append(__import__("agent_console.dashboard", fromlist=["router"]).router)  # issue 14
    routers.append(__import__("agent_console.monthly_pdf", fromlist=["router"]).router)  # issue 14
    routers.append(__import__("agent_console.directory", fromlist=["router"]).router)  # issue 15
    routers.append(__import__("agent_console.blocklist", fromlist=["router"]).router)  # issue 15
    routers.append(__import__("agent_console.courts", fromlist=["router"]).router)  # issue 17
    routers.append(__import__("agent_console.nodes", fromlist=["router"]).router)  # issue 17
    systems = __import__("agent_console.integrations", fromlist=["api"])  # issue 19
    routers += [systems.api, systems.staff_api, systems.pages]
    # An HTTP SMS provider's receipts and replies, signed, no session (issue 19).
    routers.append(__import__("agent_console.sms_hook", fromlist=["router"]).router)
    # A wrong appointment place must stop the start, not the first confirmation (issue 15).
    appointments.check_places(settings)
    for work in (calllog, consult, kb, roster, departments, tickets, appointments, sms,
                 notices, users,
                 # After the call log's /calls/log pages, which /calls/{call_id} would
                 # otherwise shadow.
                 recordings):
        routers += [work.pages, work.api]
    for router in routers:
        drives_pbx = router in (desk.router, tickets.api)
        app.include_router(router, responses={**API_ERRORS, **(PBX_ERRORS if drives_pbx else {})})
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.add_exception_handler(NotLoggedIn, _not_logged_in)
    app.add_exception_handler(Forbidden, _forbidden)
    # Every refusal the framework or a page raises: a page in Chinese for the browser,
    # {"detail": "<中文>"} for /api/ (never {"detail": "Not Found"}).
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    # Any number in a path, query or body beyond what a column holds (an id of 30 digits)
    # names no record: refused here once, for every route, instead of a 500.
    app.add_exception_handler(OverflowError, _out_of_range)
    app.add_exception_handler(DataError, _out_of_range)
    # Added last, so outermost: the 500 page gets the security headers too.
    app.middleware("http")(_unhandled)
    app.middleware("http")(_security_headers)
    return app


def _templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=HERE / "templates")
    # Later pages show callers' numbers through these, to roles that may not see them whole.
    templates.env.filters["mask_phone"] = mask_phone
    templates.env.filters["mask_text"] = mask_text
    # Stored codes shown in Chinese (issue 13): never "menu" or "queue" on a page.
    templates.env.filters["route_label"] = lambda code: CALL_ROUTE_LABELS.get(code, "其他")
    templates.env.filters["alert_kind"] = lambda code: ALERT_KIND_LABELS.get(code, "其他告警")
    templates.env.filters["request_label"] = request_label
    templates.env.filters["seat_label"] = seat_label
    return templates


def seat_label(agent: str) -> str:
    """The queue member who answered: their name, or the seat when the PBX named only its
    interface ("PJSIP/8001" → "分机 8001")."""
    technology, _, extension = agent.partition("/")
    return f"分机 {extension}" if extension and technology.isascii() else agent


def request_label(address: str) -> str:
    """What a request for a call asked for, in Chinese, from its address (the access log
    keeps the address; staff read what it was)."""
    for part, label in ACCESS_REQUEST_LABELS:
        if part in address:
            return label
    return "其他请求" if address else ""


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


async def _not_logged_in(request: Request, _exc: Exception) -> Response:
    if _is_api(request):
        return JSONResponse({"detail": MESSAGES["login_required"]}, status_code=401,
                            headers={"WWW-Authenticate": "Bearer"})
    return RedirectResponse("/login", status_code=303)


async def _forbidden(request: Request, exc: Exception) -> Response:
    message = MESSAGES[exc.reason if isinstance(exc, Forbidden) else "role"]
    if _is_api(request):
        return JSONResponse({"detail": message}, status_code=403)
    return await _error_page(request, 403, message)


async def _out_of_range(request: Request, exc: Exception) -> Response:
    log.warning("%s %s: a value the database cannot hold: %s", request.method,
                request.url.path, exc)
    if _is_api(request):
        return JSONResponse({"detail": MESSAGES["out_of_range"]}, status_code=422)
    return await _error_page(request, 404, MESSAGES["out_of_range"])


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = _message_of(exc.status_code, exc.detail)
    if _is_api(request):
        return JSONResponse({"detail": message if isinstance(exc.detail, str) else exc.detail},
                            status_code=exc.status_code, headers=exc.headers)
    return await _error_page(request, exc.status_code, message, exc.headers)


def _message_of(status: int, detail: Any) -> str:
    """A page's own Chinese detail, or the Chinese for the status when the detail is the
    framework's English phrase ("Not Found", "Method Not Allowed")."""
    if isinstance(detail, dict) and isinstance(message := detail.get("message"), str):
        return message
    if isinstance(detail, str) and detail and detail != _phrase(status):
        return detail
    return MESSAGES.get(f"error_{status}", MESSAGES["error_other"])


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


async def _invalid_request(request: Request, exc: Exception) -> Response:
    """The API keeps FastAPI's list of what was wrong; a page form the framework refuses (a
    field missing, a number that is not one) answers a page; a path that cannot name a
    record (/tickets/abc) is an address that does not exist."""
    assert isinstance(exc, RequestValidationError)
    if _is_api(request):
        return await request_validation_exception_handler(request, exc)
    if all(error.get("loc", ("",))[0] == "path" for error in exc.errors()):
        return await _error_page(request, 404, MESSAGES["error_404"])
    return await _error_page(request, 422, MESSAGES["error_422"])


async def _unhandled(request: Request,
                     call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    """A fault in the code: the traceback to the log, a plain apology to the user (no
    stack, no exception text: they may name tables, paths or personal data)."""
    try:
        return await call_next(request)
    except Exception:
        log.exception("%s %s failed", request.method, request.url.path)
        if _is_api(request):
            return JSONResponse({"detail": MESSAGES["error_500"]}, status_code=500)
        return await _error_page(request, 500, MESSAGES["error_500"], who_asks=False)


async def _error_page(request: Request, status: int, message: str,
                      headers: Mapping[str, str] | None = None, *, who_asks: bool = True
                      ) -> Response:
    """The error in the base layout; the navigation is there when the visitor is logged in
    (not after a fault, which may be the database's)."""
    account, csrf_token = await _visitor(request) if who_asks else (None, None)
    title = ERROR_TITLES.get(status, ERROR_TITLES[0])
    try:
        response = pages.render(request, "error.html", status, status=status, title=title,
                                message=message, user=account, csrf_token=csrf_token)
    except Exception:  # the templates themselves: still no stack to the browser
        log.exception("the error page for %s could not be rendered", status)
        response = HTMLResponse(f"<!DOCTYPE html><html lang=\"zh-CN\"><title>{title}</title>"
                                f"<h1>{status} {title}</h1><p>{message}</p></html>", status)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


async def _visitor(request: Request) -> tuple[Account | None, str | None]:
    secret = request.cookies.get(SESSION_COOKIE)
    if not secret:
        return None, None
    c = console(request)
    try:
        async with session_scope(c.sessions) as db:
            found = await accounts.find_session(db, secret, c.clock(), c.lifetime)
            if found is None:
                return None, None
            return Account.of(found.user), found.row.csrf_token
    except Exception:
        log.exception("the error page could not look up who is logged in")
        return None, None


async def _security_headers(request: Request,
                            call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    response = await call_next(request)
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    # Only over HTTPS: browsers ignore it on plain HTTP, and a loopback console stays HTTP.
    if over_tls(request):
        response.headers.setdefault("Strict-Transport-Security", HSTS_VALUE)
    return response
