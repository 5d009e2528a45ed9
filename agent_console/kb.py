"""The knowledge base (Art. 5(2)): every role searches the procedural answers the voice
menu also plays; administrators add, change and delete entries, each change kept in the
entry's history (who, when, what), and restore deleted ones (issue 13)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from agent_console.auth import Principal, console, require_role
from agent_console.forms import Errors, Invalid, Refused, field_error, form_values
from agent_console.pages import render
from agent_console.service import Actor, Refusals, actor, attempt, transaction
from agent_console.texts import ADMIN, FIELD_LABELS, KB_CHANGE_LABELS, MESSAGES, ROLES
from hotline.db import knowledge
from hotline.db.base import session_scope
from hotline.db.knowledge import Editor, KnowledgeRefused
from hotline.db.models import KnowledgeChange, KnowledgeEntry
from hotline.timefmt import local_time

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


def _checked(raw: Mapping[str, str]) -> dict[str, str]:
    """The entry's fields trimmed; Invalid naming each wrong one."""
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
    return values


def _editor(by: Actor) -> Editor:
    return Editor(by.account.id, by.account.username, by.now())


def _refused(refused: KnowledgeRefused, title: str = "") -> Exception:
    if refused.reason == "taken":
        return Invalid({"title": MESSAGES["kb_title_taken"].format(title=title)})
    return HTTPException(404, MESSAGES["not_found"])


async def save(by: Actor, raw: Mapping[str, str], active: bool) -> KnowledgeEntry:
    """Create or change the entry with this title; Invalid naming each wrong field."""
    values = _checked(raw)
    title = values["title"]
    async with transaction(by) as db:
        await knowledge.upsert_entry(db, title, values["answer"], values["menu_key"],
                                     values["category"], active, by=_editor(by))
        found = [e for e in await knowledge.search_entries(db, title, RESULTS, True)
                 if e.title == title]
    return found[0]


async def edit(by: Actor, entry_id: int, raw: Mapping[str, str], active: bool
               ) -> KnowledgeEntry:
    """Change the entry with this id, its title too."""
    values = _checked(raw)
    refusals: Refusals = {KnowledgeRefused: lambda wrong: _refused(wrong, values["title"])}
    async with transaction(by, refusals) as db:
        return await knowledge.save_entry(db, entry_id, title=values["title"],
                                          answer=values["answer"],
                                          menu_key=values["menu_key"],
                                          category=values["category"], active=active,
                                          by=_editor(by))


async def delete(by: Actor, entry_id: int) -> str:
    """Delete the entry (the voice menu stops playing it; its history stays); its title."""
    async with transaction(by, {KnowledgeRefused: _refused}) as db:
        entry = await knowledge.delete_entry(db, entry_id, _editor(by))
        return entry.title


async def restore(by: Actor, entry_id: int) -> KnowledgeEntry:
    """A deleted entry back, inactive and outside the voice menu until an administrator
    puts it back."""
    async with transaction(by) as db:
        gone = next((c for c in await knowledge.deleted_entries(db) if c.entry_id == entry_id),
                    None)
    title = gone.title if gone else ""
    refusals: Refusals = {KnowledgeRefused: lambda wrong: _refused(wrong, title)}
    async with transaction(by, refusals) as db:
        return await knowledge.restore_entry(db, entry_id, _editor(by))


# --- pages ------------------------------------------------------------------------------

async def _page(request: Request, who: Principal, q: str, refused: Refused | None = None,
                values: Mapping[str, str] | None = None, saved: str = "",
                notice: str = "") -> Response:
    admin = who.account.role == ADMIN
    c = console(request)
    async with session_scope(c.sessions) as db:
        entries = await search(db, q, include_inactive=admin)
        deleted = await knowledge.deleted_entries(db) if admin else []
    return render(request, "kb.html", refused.status_code if refused else 200,
                  user=who.account, csrf_token=who.csrf_token, q=q, entries=entries,
                  admin=admin, values=values or {"active": "1"},
                  errors=refused.errors if refused else {}, labels=FIELD_LABELS, saved=saved,
                  notice=notice, deleted=deleted, timezone=c.settings.hours.timezone,
                  local_time=local_time, menu_keys={key: key for key in MENU_KEYS})


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


def _changes(changes: list[KnowledgeChange]) -> list[tuple[KnowledgeChange, str]]:
    """Each change with the fields it altered, in words, newest first."""
    named = []
    for before, after in zip([None, *changes[:-1]], changes, strict=True):
        if after.action in ("deleted", "restored"):
            words = ""
        else:
            fields = knowledge.changed_fields(before, after)
            words = "、".join(FIELD_LABELS["kb_category"] if f == "category" else
                             "启用状态" if f == "active" else FIELD_LABELS[f] for f in fields)
        named.append((after, words))
    return named[::-1]


async def _entry_page(request: Request, who: Principal, entry_id: int, status: int = 200,
                      refused: Refused | None = None, values: Mapping[str, str] | None = None,
                      notice: str = "") -> Response:
    c = console(request)
    async with session_scope(c.sessions) as db:
        entry = await knowledge.get_entry(db, entry_id)
        if entry is None:
            raise HTTPException(404, MESSAGES["not_found"])
        changes = await knowledge.history(db, entry_id)
    shown = values or {"title": entry.title, "answer": entry.answer, "category": entry.category,
                       "menu_key": entry.menu_key, "active": "1" if entry.active else ""}
    return render(request, "kb_entry.html", status, user=who.account, csrf_token=who.csrf_token,
                  entry=entry, values=shown, errors=refused.errors if refused else {},
                  notice=notice, labels=FIELD_LABELS, menu_keys={k: k for k in MENU_KEYS},
                  changes=_changes(changes), actions=KB_CHANGE_LABELS,
                  timezone=c.settings.hours.timezone, local_time=local_time)


@pages.get("/admin/kb/{entry_id}")
async def entry_page(request: Request, who: Admin, entry_id: int) -> Response:
    return await _entry_page(request, who, entry_id)


@pages.post("/admin/kb/{entry_id}")
async def entry_save(request: Request, who: Admin, entry_id: int) -> Response:
    values = await form_values(request, (*ENTRY_FIELDS, "active"))
    done = await attempt(edit(actor(request, who), entry_id, values, values["active"] == "1"))
    if isinstance(done, Refused):
        return await _entry_page(request, who, entry_id, done.status_code, done, values)
    return await _entry_page(request, who, entry_id, notice=MESSAGES["saved"])


@pages.post("/admin/kb/{entry_id}/delete")
async def entry_delete(request: Request, who: Admin, entry_id: int) -> Response:
    title = await delete(actor(request, who), entry_id)
    return await _page(request, who, "", notice=MESSAGES["kb_deleted"].format(title=title))


@pages.post("/admin/kb/{entry_id}/restore")
async def entry_restore(request: Request, who: Admin, entry_id: int) -> Response:
    done = await attempt(restore(actor(request, who), entry_id))
    if isinstance(done, Refused):
        return await _page(request, who, "", done)
    return await _entry_page(request, who, entry_id,
                             notice=MESSAGES["kb_restored"].format(title=done.title))


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


class ChangeOut(BaseModel):
    action: str
    action_label: str
    at: str = Field(description="local time of the court, YYYY-MM-DD HH:MM")
    username: str = Field(description="who made it; empty for the command line's import")
    entry: EntryIn


@api.put("/kb/{entry_id}", summary="change the entry with this id, its title too "
                                   "(administrators)")
async def api_edit(request: Request, who: Admin, entry_id: int, body: EntryIn) -> EntryOut:
    raw = body.model_dump(include=set(ENTRY_FIELDS))
    return EntryOut.of(await edit(actor(request, who), entry_id, raw, body.active))


@api.delete("/kb/{entry_id}", status_code=204, summary="delete an entry (administrators): "
            "out of the voice menu and the searches, kept in its history, restorable")
async def api_delete(request: Request, who: Admin, entry_id: int) -> Response:
    await delete(actor(request, who), entry_id)
    return Response(status_code=204)


@api.post("/kb/{entry_id}/restore", summary="bring a deleted entry back, inactive and "
          "without a menu key (administrators)")
async def api_restore(request: Request, who: Admin, entry_id: int) -> EntryOut:
    return EntryOut.of(await restore(actor(request, who), entry_id))


@api.get("/kb/{entry_id}/history", summary="every change of an entry, oldest first "
         "(administrators)")
async def api_history(request: Request, who: Admin, entry_id: int) -> list[ChangeOut]:
    c = console(request)
    async with session_scope(c.sessions) as db:
        changes = await knowledge.history(db, entry_id)
    if not changes:
        raise HTTPException(404, MESSAGES["not_found"])
    return [ChangeOut(action=ch.action, action_label=KB_CHANGE_LABELS[ch.action],
                      at=local_time(ch.at, c.settings.hours.timezone), username=ch.username,
                      entry=EntryIn(title=ch.title, answer=ch.answer, category=ch.category,
                                    menu_key=ch.menu_key, active=ch.active))
            for ch in changes]
