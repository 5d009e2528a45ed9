"""The console's service layer: each workflow (forward a ticket, reply by SMS, file a call
log, answer a consultation, set a user's extension, ...) is one function in its area
module, written once. It takes the Actor, ids and plain values, and returns its result or
raises Refused. Pages and API are thin adapters over it:

    done = await attempt(forward(by, ticket_id, department_id, note))
    if isinstance(done, Refused):    # the page again: the status, the errors, as typed
        return await _ticket_page(request, who, ticket_id, done, values)

    ticket = await forward(by, ticket_id, body.department_id, body.note)   # the API

The API lets a Refused go: it is an HTTPException whose detail is the JSON the API has
always answered. A record that does not exist (HTTPException 404) and a role or owner
refusal (auth.Forbidden, answered in app.py) are the same for pages and API, so no
adapter catches them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from agent_console.accounts import Account
from agent_console.auth import Console, Principal, client_address, console
from agent_console.forms import Refused
from agent_console.live import pbx_control
from hotline.db.base import session_scope
from pbx import PbxControl

T = TypeVar("T")
# The core's own refusals (TicketRefused, SmsError, ...), each with what it becomes here:
# a Refused, or the HTTPException 404 of a record that does not exist.
Refusals = Mapping[type[Exception], Callable[[Any], Exception]]


async def attempt(work: Awaitable[T]) -> T | Refused:
    """The workflow's result, or its refusal for the page to show. The workflow's own
    session has rolled back by then: a refused step leaves nothing behind."""
    try:
        return await work
    except Refused as refused:
        return refused


@asynccontextmanager
async def transaction(by: Actor, refusals: Refusals | None = None
                      ) -> AsyncIterator[AsyncSession]:
    """A workflow's unit of work (session_scope: committed, or rolled back on any error);
    a core refusal of a type in refusals comes out as what its function makes of it."""
    refusals = refusals or {}
    try:
        async with session_scope(by.c.sessions) as db:
            yield db
    except tuple(refusals) as wrong:
        make = next(make for kind, make in refusals.items() if isinstance(wrong, kind))
        raise make(wrong) from None


@dataclass(frozen=True)
class Actor:
    """Who asks, and from where: what a workflow is given instead of the request."""

    c: Console
    who: Principal
    address: str = ""  # the client's address and the path asked, for the access logs
    path: str = ""
    control: PbxControl | None = None  # the console's PBX control; None without a PBX

    @property
    def account(self) -> Account:
        return self.who.account

    def now(self) -> datetime:
        return self.c.clock()


def actor(request: Request, who: Principal) -> Actor:
    return Actor(console(request), who, client_address(request), request.url.path,
                 pbx_control(request))
