"""Administrators keep the block list of callers who abuse the line (issue 15): the page
/admin/blocklist and the API under /api/blocklist. A number on it hears a short notice
and may only leave a voice message until the day its entry ends (hotline.blocklist; the
bridge reads the list from memory and sees a change within a second or two). Every
change is kept in block_changes, shown on the page, and written to the console's log."""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field

from agent_console.auth import Principal, console, require_role
from agent_console.forms import Invalid, Refused, field_error
from agent_console.pages import render
from agent_console.service import Actor, actor, attempt, transaction
from agent_console.texts import ADMIN, BLOCK_ACTION_LABELS, FIELD_LABELS, MESSAGES
from hotline import blocklist
from hotline.db.base import session_scope
from hotline.db.models import BlockChange, BlockedNumber, User
from hotline.timefmt import local_time

log = logging.getLogger("agent_console")
router = APIRouter()
Admin = Annotated[Principal, Depends(require_role(ADMIN))]

# what the core calls a field and a fault → the form's field and the words' key
FIELDS = {"number": ("number", "block_number"), "reason": ("reason", "block_reason"),
          "expires": ("until", "block_until")}
KINDS = {"number": "block_number", "past": "block_past", "too_far": "block_far"}
DEFAULT_DAYS = 30


def _until(day: str, timezone: str) -> datetime | None:
    """The end of the court's day typed (YYYY-MM-DD), as the entry's expiry; None when it
    is not a date."""
    try:
        chosen = date.fromisoformat(day.strip())
    except ValueError:
        return None
    return datetime.combine(chosen + timedelta(days=1), time(), ZoneInfo(timezone))


async def save(by: Actor, number: str, reason: str, until: str) -> BlockedNumber:
    """Put a number on the list, or change its reason and expiry."""
    expires = _until(until, by.c.settings.hours.timezone)
    try:
        entry = blocklist.check_entry(number, reason, expires, by.now())
    except blocklist.BlockInvalid as wrong:
        raise Invalid({FIELDS[k][0]: field_error(FIELDS[k][1], KINDS.get(kind, kind),
                                                 limit=blocklist.REASON_LIMIT)
                       for k, kind in wrong.errors.items()}) from None
    async with transaction(by) as db:
        user = await db.get(User, by.account.id)
        return await blocklist.save_block(db, entry, user, by.now())


async def remove(by: Actor, number: str) -> None:
    async with transaction(by) as db:
        user = await db.get(User, by.account.id)
        if not await blocklist.remove_block(db, number, user, by.now()):
            raise Refused(404, MESSAGES["not_found"])


# --- the page -----------------------------------------------------------------------------

async def _page(request: Request, who: Principal, refused: Refused | None = None,
                form: dict[str, str] | None = None, done: str = "") -> Response:
    c = console(request)
    tz = c.settings.hours.timezone
    async with session_scope(c.sessions) as db:
        entries = await blocklist.blocked_numbers(db)
        history = await blocklist.changes(db)
    now = c.clock()
    default_until = (now + timedelta(days=DEFAULT_DAYS)).astimezone(ZoneInfo(tz)).date()
    rows = [{"number": e.number, "reason": e.reason, "until": _last_day(e.expires_at, tz),
             "active": e.expires_at > now} for e in entries]
    changes = [{"at": local_time(h.at, tz), "number": h.number, "reason": h.reason,
                "action": BLOCK_ACTION_LABELS.get(h.action, h.action), "by": h.username or "命令行",
                "until": _last_day(h.expires_at, tz) if h.expires_at else ""}
               for h in history]
    return render(request, "admin_blocklist.html", refused.status_code if refused else 200,
                  user=who.account, csrf_token=who.csrf_token, rows=rows, changes=changes,
                  form=form or {"until": default_until.isoformat()},
                  errors=refused.errors if refused else {}, labels=FIELD_LABELS, done=done)


def _last_day(expires: datetime, tz: str) -> str:
    """The last day an entry holds, as typed: its expiry is the start of the next."""
    return (expires.astimezone(ZoneInfo(tz)) - timedelta(seconds=1)).date().isoformat()


@router.get("/admin/blocklist", include_in_schema=False)
async def blocklist_page(request: Request, who: Admin, done: str = "") -> Response:
    return await _page(request, who, done=done if done in ("saved", "removed") else "")


@router.post("/admin/blocklist", include_in_schema=False)
async def blocklist_save_form(request: Request, who: Admin,
                              number: Annotated[str, Form()] = "",
                              reason: Annotated[str, Form()] = "",
                              until: Annotated[str, Form()] = "") -> Response:
    done = await attempt(save(actor(request, who), number, reason, until))
    if isinstance(done, Refused):
        return await _page(request, who, done,
                           {"number": number, "reason": reason, "until": until})
    return RedirectResponse("/admin/blocklist?done=saved", status_code=303)


@router.post("/admin/blocklist/{number}/remove", include_in_schema=False)
async def blocklist_remove_form(request: Request, who: Admin, number: str) -> Response:
    done = await attempt(remove(actor(request, who), number))
    if isinstance(done, Refused):
        return await _page(request, who, done)
    return RedirectResponse("/admin/blocklist?done=removed", status_code=303)


# --- the API ------------------------------------------------------------------------------

class BlockIn(BaseModel):
    number: str
    reason: str
    until: str = Field(description="the last day the entry holds, YYYY-MM-DD (court's time)")


class BlockOut(BaseModel):
    number: str
    reason: str
    until: str
    active: bool

    @classmethod
    def of(cls, entry: BlockedNumber, tz: str, now: datetime) -> BlockOut:
        return cls(number=entry.number, reason=entry.reason,
                   until=_last_day(entry.expires_at, tz), active=entry.expires_at > now)


class ChangeOut(BaseModel):
    at: str
    number: str
    action: str
    reason: str
    by: str

    @classmethod
    def of(cls, change: BlockChange, tz: str) -> ChangeOut:
        return cls(at=local_time(change.at, tz), number=change.number, action=change.action,
                   reason=change.reason, by=change.username)


@router.get("/api/blocklist", summary="the block list (administrators)")
async def api_blocklist(request: Request, who: Admin) -> list[BlockOut]:
    c = console(request)
    async with session_scope(c.sessions) as db:
        entries = await blocklist.blocked_numbers(db)
    return [BlockOut.of(e, c.settings.hours.timezone, c.clock()) for e in entries]


@router.get("/api/blocklist/changes", summary="every change to the block list, newest first")
async def api_blocklist_changes(request: Request, who: Admin) -> list[ChangeOut]:
    c = console(request)
    async with session_scope(c.sessions) as db:
        history = await blocklist.changes(db)
    return [ChangeOut.of(h, c.settings.hours.timezone) for h in history]


@router.post("/api/blocklist", status_code=201,
             summary="put a number on the block list, or change its entry; 422 names each "
                     "wrong field")
async def api_block(request: Request, who: Admin, body: BlockIn) -> BlockOut:
    by = actor(request, who)
    entry = await save(by, body.number, body.reason, body.until)
    return BlockOut.of(entry, by.c.settings.hours.timezone, by.now())


@router.delete("/api/blocklist/{number}", status_code=204,
               summary="take a number off the block list")
async def api_unblock(request: Request, who: Admin, number: str) -> Response:
    if len(number) > 40:
        raise HTTPException(404, MESSAGES["not_found"])
    await remove(actor(request, who), number)
    return Response(status_code=204)
