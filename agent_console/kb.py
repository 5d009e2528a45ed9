"""The knowledge base (Art. 5(2)): every role searches the procedural answers the voice
menu also plays; administrators add and change entries (by title)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from agent_console.auth import Principal, console, require_role
from agent_console.forms import Errors, Invalid, Refused, field_error, form_values
from agent_console.pages import render
from agent_console.service import Actor, actor, attempt, transaction
from agent_console.texts import ADMIN, FIELD_LABELS, ROLES
from hotline.db import knowledge
from hotline.db.base import session_scope
from hotline.db.models import KnowledgeEntry

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["knowledge base"])

Anyone = Annotated[Principal, Depends(require_role(*ROLES))]
Admin = Annotated[Principal, Depends(require_role(ADMIN))]

RESULTS = 50
LIMITS = {"title": 80, "category": 40, "answer": 4000}
MENU_KEYS = tuple("123456789")
ENTRY_FIELDS = ("title", "answer", "category", "menu_key")


class EntryOut(BaseModel):
    id: int
    title: str
    answer: str
    category: str
    menu_key: str = Field(description="the consultation menu key that plays it, or empty")
    active: bool

    @classmethod
    def of(cls, entry: KnowledgeEntry) -> EntryOut:
        return cls(id=entry.id, title=entry.title, answer=entry.answer,
                   category=entry.category, menu_key=entry.menu_key, active=entry.active)


class EntryIn(BaseModel):
    title: str = ""
    answer: str = ""
    category: str = ""
    menu_key: str = Field("", description='"1".."9" to play it in the voice menu, or empty')
    active: bool = True


async def search(db: AsyncSession, q: str, include_inactive: bool) -> list[KnowledgeEntry]:
    if not q.strip():
        return await knowledge.active_entries(db)
    return await knowledge.search_entries(db, q, RESULTS, include_inactive)


async def save(by: Actor, raw: Mapping[str, str], active: bool) -> KnowledgeEntry:
    """Create or change the entry with this title; Invalid naming each wrong field."""
    values = {name: raw.get(name, "").strip() for name in ENTRY_FIELDS}
    errors: Errors = {}
    for name in ("title", "answer"):
        if not values[name]:
            errors[name] = field_error(name, "required")
    for name, limit in LIMITS.items():
        if len(values[name]) > limit:
            errors[name] = field_error(name, "too_long", limit=limit)
    if values["menu_key"] and values["menu_key"] not in MENU_KEYS:
        errors["menu_key"] = field_error("menu_key", "choose")
    if errors:
        raise Invalid(errors)
    title = values["title"]
    async with transaction(by) as db:
        await knowledge.upsert_entry(db, title, values["answer"], values["menu_key"],
                                     values["category"], active)
        found = [e for e in await knowledge.search_entries(db, title, RESULTS, True)
                 if e.title == title]
    return found[0]


# --- pages ------------------------------------------------------------------------------

async def _page(request: Request, who: Principal, q: str, refused: Refused | None = None,
                values: Mapping[str, str] | None = None, saved: str = "") -> Response:
    admin = who.account.role == ADMIN
    async with session_scope(console(request).sessions) as db:
        entries = await search(db, q, include_inactive=admin)
    return render(request, "kb.html", refused.status_code if refused else 200,
                  user=who.account, csrf_token=who.csrf_token, q=q, entries=entries,
                  admin=admin, values=values or {"active": "1"},
                  errors=refused.errors if refused else {}, labels=FIELD_LABELS, saved=saved,
                  menu_keys={key: key for key in MENU_KEYS})


@pages.get("/kb")
async def kb_page(request: Request, who: Anyone, q: str = "", saved: str = "") -> Response:
    return await _page(request, who, q, saved=saved)


@pages.post("/admin/kb")
async def kb_save(request: Request, who: Admin) -> Response:
    values = await form_values(request, (*ENTRY_FIELDS, "active"))
    done = await attempt(save(actor(request, who), values, values["active"] == "1"))
    if isinstance(done, Refused):
        return await _page(request, who, "", done, values)
    return RedirectResponse("/kb?saved=1", status_code=303)


# --- API --------------------------------------------------------------------------------

@api.get("/kb", summary="search the knowledge base: entries whose title, answer or category "
                        "has every word of q (all active entries when q is empty)")
async def api_search(request: Request, who: Anyone, q: str = "") -> list[EntryOut]:
    async with session_scope(console(request).sessions) as db:
        entries = await search(db, q, include_inactive=who.account.role == ADMIN)
    return [EntryOut.of(entry) for entry in entries]


@api.put("/kb", summary="create or change the entry with this title (administrators)")
async def api_save(request: Request, who: Admin, body: EntryIn) -> EntryOut:
    raw = body.model_dump(include=set(ENTRY_FIELDS))
    return EntryOut.of(await save(actor(request, who), raw, body.active))
