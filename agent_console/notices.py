"""Notices (通知): what the hotline tells a member of staff in the console — a matter
forwarded to them, a 督办, callbacks shared out, an SMS needing a reply. Every role has
them; each user sees only their own. The navigation bar shows the unread count."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel
from sqlalchemy import case, func
from sqlalchemy.ext.asyncio import AsyncSession

from agent_console.auth import Console, Principal, console, require_role
from agent_console.listing import (
    LIVE_RESPONSES,
    Aggregate,
    EventStream,
    Filter,
    Sort,
    Spec,
    live_changes,
    page_of,
    read_query,
    stamp,
)
from agent_console.pages import render
from agent_console.texts import ROLES
from hotline.db import notices
from hotline.db.base import session_scope
from hotline.db.models import Notice, Ticket
from hotline.timefmt import local_time

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["notices"])
Anyone = Annotated[Principal, Depends(require_role(*ROLES))]


class NoticeOut(BaseModel):
    id: int
    kind: str
    text: str
    ticket_id: int | None
    created_at: datetime
    read: bool


class NoticesOut(BaseModel):
    unread: int
    notices: list[NoticeOut]


@api.get("/notices", summary="the logged-in user's notices, unread first")
async def list_notices(request: Request, who: Anyone) -> NoticesOut:
    async with session_scope(console(request).sessions) as session:
        rows = await notices.notices_for(session, who.account.id)
        unread = await notices.unread_count(session, who.account.id)
    return NoticesOut(unread=unread, notices=[
        NoticeOut(id=n.id, kind=n.kind, text=n.text, ticket_id=n.ticket_id,
                  created_at=n.created_at, read=n.read_at is not None) for n in rows])


@api.post("/notices/{notice_id}/read", summary="mark one of your notices read")
async def read_notice(request: Request, notice_id: int, who: Anyone) -> dict[str, int]:
    c = console(request)
    async with session_scope(c.sessions) as session:
        marked = await notices.mark_read(session, who.account.id, c.clock(), notice_id)
    if not marked:
        raise HTTPException(404, "没有这条未读通知。")
    return {"marked": marked}


NOTICE_SPEC = Spec(
    search=(Notice.text, Ticket.reference), moment=Notice.created_at,
    filters={"read": Filter("状态", {"unread": "未读", "read": "已读"},
                            lambda v: (Notice.read_at.is_(None) if v == "unread"
                                       else Notice.read_at.is_not(None)))},
    sorts={"created": Sort("时间", Notice.created_at, Notice.id)},
    search_hint="事项编号或通知内容")


@dataclass(frozen=True)
class NoticeRow:
    text: str
    created_at: str
    read: bool
    ticket_id: int | None
    reference: str


# What changes in a notice that stays on the list: being read.
NOTICE_CHANGES: tuple[Aggregate, ...] = (
    lambda listed: func.sum(case((listed.c.read_at.is_(None), listed.c.id), else_=0)),
)


async def list_stamp(c: Console, db: AsyncSession, who: Principal, raw: Mapping[str, str]
                     ) -> str:
    """The version of the reader's notices as the query string narrows them."""
    wanted = read_query(raw, NOTICE_SPEC, c.settings.hours.timezone)
    return await stamp(db, notices.list_query(who.account.id), wanted, *NOTICE_CHANGES)


@api.get("/notices/changes", response_model=None,
         responses=LIVE_RESPONSES,
         summary="server-sent events: `changed` when your notices "
                 "change (a new one, one read)")
async def api_changes(request: Request, who: Anyone) -> EventStream:
    c = console(request)
    raw = request.query_params
    return live_changes(request, c.sessions, lambda db: list_stamp(c, db, who, raw))


@pages.get("/notices")
async def notices_page(request: Request, who: Anyone) -> Response:
    c = console(request)
    tz = c.settings.hours.timezone
    wanted = read_query(request.query_params, NOTICE_SPEC, tz, "/notices")
    async with session_scope(c.sessions) as session:
        found = await page_of(session, notices.list_query(who.account.id), wanted)
        version = await list_stamp(c, session, who, request.query_params)
    page = found.map(lambda row: NoticeRow(row[0].text, local_time(row[0].created_at, tz),
                                           row[0].read_at is not None, row[0].ticket_id,
                                           row[1] or ""))
    return render(request, "notices.html", user=who.account, csrf_token=who.csrf_token,
                  page=page, notices=page.rows, live="/api/notices/changes", stamp=version)


@pages.post("/notices/read")
async def read_all(request: Request, who: Anyone) -> Response:
    c = console(request)
    async with session_scope(c.sessions) as session:
        await notices.mark_read(session, who.account.id, c.clock())
    return RedirectResponse("/notices", status_code=303)
