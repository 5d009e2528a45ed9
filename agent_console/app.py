"""The one place that wires the console: settings, database sessions, templates, pages, API.

Tests and `hotline console` call create_app with their own collaborators.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy.exc import DataError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agent_console import (
    api,
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
from agent_console.auth import Console, Forbidden, NotLoggedIn
from agent_console.forms import API_ERRORS, PBX_ERRORS
from agent_console.live import LiveDesk
from agent_console.texts import MESSAGES
from hotline.db.base import utcnow
from hotline.privacy import mask_phone, mask_text
from hotline.settings import Settings

HERE = Path(__file__).parent
log = logging.getLogger("agent_console")

# The pages show personal data: never framed by another site, never cached by the browser.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'",
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
    for work in (calllog, consult, kb, roster, departments, tickets, sms, notices, users,
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
    # Any number in a path, query or body beyond what a column holds (an id of 30 digits)
    # names no record: refused here once, for every route, instead of a 500.
    app.add_exception_handler(OverflowError, _out_of_range)
    app.add_exception_handler(DataError, _out_of_range)
    app.middleware("http")(_security_headers)
    return app


def _templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=HERE / "templates")
    # Later pages show callers' numbers through these, to roles that may not see them whole.
    templates.env.filters["mask_phone"] = mask_phone
    templates.env.filters["mask_text"] = mask_text
    return templates


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
    return pages.render(request, "forbidden.html", 403, message=message)


async def _out_of_range(request: Request, exc: Exception) -> Response:
    log.warning("%s %s: a value the database cannot hold: %s", request.method,
                request.url.path, exc)
    return JSONResponse({"detail": MESSAGES["out_of_range"]}, status_code=422)


async def _security_headers(request: Request,
                            call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    response = await call_next(request)
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response
