"""The court's telephone directory (内外一号, issue 15), kept by administrators: the page
/admin/directory (a list that searches, the form to add or change an entry, its delete
button, and the CSV import whose errors name their lines) and the API under
/api/directory. The voice menu reads the directory from memory (the bridge sees a change
within a second or two); agents read it as the desk's transfer targets
(GET /api/directory/targets). The rules are hotline.directory's."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel
from starlette.datastructures import UploadFile

from agent_console.auth import Principal, console, require_role
from agent_console.forms import Invalid, Refused, form_values
from agent_console.listing import Filter, Sort, Spec, page_of, read_query
from agent_console.pages import render
from agent_console.service import Actor, Refusals, actor, attempt, transaction
from agent_console.texts import ADMIN, AGENT, MESSAGES
from hotline import directory as rules
from hotline.db import directory as directory_db
from hotline.db.base import session_scope
from hotline.db.models import DirectoryEntry
from hotline.directory import DirectoryError, DirectoryItem, item_of
from hotline.privacy import mask_phone

log = logging.getLogger("agent_console")
router = APIRouter()
Admin = Annotated[Principal, Depends(require_role(ADMIN))]
Staff = Annotated[Principal, Depends(require_role(ADMIN, AGENT))]
FIELDS = ("kind", "name", "department", "title", "number", "menu_key", "hours", "active")
LABELS = {"kind": "类型", "name": "名称", "department": "所属部门", "title": "职务",
          "number": "号码", "menu_key": "语音菜单按键", "hours": "办公时间", "active": "启用"}
# A CSV bigger than this is not a directory: refused before it is read.
MAX_CSV_BYTES = 512 * 1024
SPEC = Spec(search=(DirectoryEntry.name, DirectoryEntry.department, DirectoryEntry.title,
                    DirectoryEntry.number),
            filters={"kind": Filter("类型", rules.KINDS, lambda v: DirectoryEntry.kind == v)},
            sorts={"department": Sort("所属部门", DirectoryEntry.department,
                                      DirectoryEntry.name),
                   "name": Sort("名称", DirectoryEntry.name, DirectoryEntry.id),
                   "number": Sort("号码", DirectoryEntry.number, DirectoryEntry.id)},
            default_sort="department", default_desc=False,
            search_hint="名称、部门、职务或号码")


def _invalid(wrong: DirectoryError) -> Invalid:
    return Invalid(dict(wrong.errors))


REFUSALS: Refusals = {DirectoryError: _invalid}


# --- the workflows, for the page and the API alike ------------------------------------------

async def save(by: Actor, item: DirectoryItem, entry_id: int | None = None) -> DirectoryItem:
    """Add an entry, or change the one with entry_id; Invalid names each wrong field."""
    async with transaction(by, REFUSALS) as db:
        if entry_id is not None and await directory_db.get_entry(db, entry_id) is None:
            raise Refused(404, MESSAGES["not_found"])
        saved = item_of(await directory_db.save_entry(db, item, entry_id))
    log.info("directory entry %s saved by %s", saved.id, by.account.username)
    return saved


async def remove(by: Actor, entry_id: int) -> None:
    async with transaction(by) as db:
        if not await directory_db.delete_entry(db, entry_id):
            raise Refused(404, MESSAGES["not_found"])
    log.info("directory entry %s deleted by %s", entry_id, by.account.username)


async def import_csv(by: Actor, text: str) -> tuple[int, int]:
    """Every line of a directory CSV, or nothing: Invalid keyed 第N行 for each wrong line.
    (added, changed)."""
    async with transaction(by, REFUSALS) as db:
        counts = await directory_db.import_items(db, rules.read_csv(text))
    log.info("directory imported by %s: %d added, %d changed", by.account.username, *counts)
    return counts


# --- the page --------------------------------------------------------------------------------

def _item(values: Mapping[str, str]) -> DirectoryItem:
    return DirectoryItem(kind=values.get("kind", ""), name=values.get("name", "").strip(),
                         number=values.get("number", "").strip(),
                         department=values.get("department", "").strip(),
                         title=values.get("title", "").strip(),
                         menu_key=values.get("menu_key", "").strip(),
                         hours=values.get("hours", "").strip(),
                         active=values.get("active", "") == "on")


def _values(entry: DirectoryItem) -> dict[str, str]:
    return {"kind": entry.kind, "name": entry.name, "department": entry.department,
            "title": entry.title, "number": entry.number, "menu_key": entry.menu_key,
            "hours": entry.hours, "active": "on" if entry.active else ""}


async def _page(request: Request, who: Principal, status: int = 200, *,
                values: Mapping[str, str] | None = None, errors: Mapping[str, str] | None = None,
                editing: int | None = None, done: str = "",
                import_errors: Mapping[str, str] | None = None) -> Response:
    c = console(request)
    wanted = read_query(request.query_params, SPEC, c.settings.hours.timezone,
                        base="/admin/directory")
    async with session_scope(c.sessions) as db:
        page = await page_of(db, directory_db.search().order_by(None), wanted, scalars=True)
    return render(request, "admin_directory.html", status, user=who.account,
                  csrf_token=who.csrf_token, page=page.map(item_of), kinds=rules.KINDS,
                  labels=LABELS, values=values or {"kind": rules.DEPARTMENT, "active": "on"},
                  errors=errors or {}, editing=editing, done=done,
                  import_errors=import_errors or {}, columns=",".join(rules.COLUMNS.values()))


@router.get("/admin/directory", include_in_schema=False)
async def directory_page(request: Request, who: Admin, edit: int | None = None,
                         done: str = "") -> Response:
    values = None
    if edit is not None:
        async with session_scope(console(request).sessions) as db:
            found = await directory_db.get_entry(db, edit)
        if found is None:
            raise HTTPException(404, MESSAGES["not_found"])
        values = _values(item_of(found))
    shown = MESSAGES["saved"] if done == "saved" else "已删除。" if done == "deleted" else ""
    return await _page(request, who, values=values, editing=edit, done=shown)


@router.post("/admin/directory", include_in_schema=False)
async def save_form(request: Request, who: Admin, edit: int | None = None) -> Response:
    values = await form_values(request, FIELDS)
    done = await attempt(save(actor(request, who), _item(values), edit))
    if isinstance(done, Refused):
        return await _page(request, who, done.status_code, values=values, errors=done.errors,
                           editing=edit)
    return RedirectResponse("/admin/directory?done=saved", status_code=303)


@router.post("/admin/directory/{entry_id}/delete", include_in_schema=False)
async def delete_form(request: Request, who: Admin, entry_id: int) -> Response:
    done = await attempt(remove(actor(request, who), entry_id))
    if isinstance(done, Refused):
        raise HTTPException(done.status_code, MESSAGES["not_found"])
    return RedirectResponse("/admin/directory?done=deleted", status_code=303)


@router.post("/admin/directory/import", include_in_schema=False)
async def import_form(request: Request, who: Admin) -> Response:
    form = await request.form()
    upload = form.get("file")
    text, problem = "", ""
    if not isinstance(upload, UploadFile) or not upload.filename:
        problem = "请选择要导入的 CSV 文件。"
    else:
        raw = await upload.read(MAX_CSV_BYTES + 1)
        text, problem = _decode(raw)
    if problem:
        return await _page(request, who, 422, import_errors={"文件": problem})
    done = await attempt(import_csv(actor(request, who), text))
    if isinstance(done, Refused):
        return await _page(request, who, done.status_code, import_errors=done.errors)
    added, changed = done
    return await _page(request, who, done=f"已导入：新增 {added} 条，更新 {changed} 条。")


def _decode(raw: bytes) -> tuple[str, str]:
    """The file's text (UTF-8, or GBK as Excel saves it in China), or why not."""
    if len(raw) > MAX_CSV_BYTES:
        return "", f"文件太大（最多 {MAX_CSV_BYTES // 1024} KB）。"
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding), ""
        except UnicodeDecodeError:
            continue
    return "", "文件不是 UTF-8 或 GBK 编码的文本。"


# --- the API ---------------------------------------------------------------------------------

class EntryIn(BaseModel):
    kind: str
    name: str
    number: str
    department: str = ""
    title: str = ""
    menu_key: str = ""
    hours: str = ""
    active: bool = True


class EntryOut(EntryIn):
    id: int
    label: str

    @classmethod
    def of(cls, item: DirectoryItem) -> EntryOut:
        return cls(id=item.id, label=item.label, kind=item.kind, name=item.name,
                   number=item.number, department=item.department, title=item.title,
                   menu_key=item.menu_key, hours=item.hours, active=item.active)


class ImportOut(BaseModel):
    added: int
    changed: int


def _in(body: EntryIn) -> DirectoryItem:
    return DirectoryItem(**body.model_dump())


@router.get("/api/directory", tags=["directory"], summary="every entry of the directory")
async def api_list(request: Request, who: Admin, q: str = "") -> list[EntryOut]:
    async with session_scope(console(request).sessions) as db:
        rows = (await db.execute(directory_db.search(q.strip()))).scalars()
        return [EntryOut.of(item_of(row)) for row in rows]


@router.get("/api/directory/targets", tags=["directory"],
            summary="what an agent may transfer a caller to: every active entry (an outside "
                    "number masked: a staff member's mobile is theirs, the PBX dials it)")
async def api_targets(request: Request, who: Staff) -> list[EntryOut]:
    async with session_scope(console(request).sessions) as db:
        targets = await directory_db.transfer_targets(db)
    return [EntryOut.of(replace(item, number=mask_phone(item.number)) if item.outside
                        else item) for item in targets]


@router.post("/api/directory", tags=["directory"], status_code=201,
             summary="add an entry (administrators)")
async def api_create(request: Request, who: Admin, body: EntryIn) -> EntryOut:
    return EntryOut.of(await save(actor(request, who), _in(body)))


@router.put("/api/directory/{entry_id}", tags=["directory"], summary="change an entry")
async def api_update(request: Request, who: Admin, entry_id: int, body: EntryIn) -> EntryOut:
    return EntryOut.of(await save(actor(request, who), _in(body), entry_id))


@router.delete("/api/directory/{entry_id}", tags=["directory"], status_code=204,
               summary="delete an entry")
async def api_delete(request: Request, who: Admin, entry_id: int) -> Response:
    await remove(actor(request, who), entry_id)
    return Response(status_code=204)


@router.post("/api/directory/import", tags=["directory"],
             summary="import a directory CSV (body: the file, text/csv, UTF-8 or GBK); "
                     "422 names every wrong line (第N行) and imports nothing")
async def api_import(request: Request, who: Admin) -> ImportOut:
    text, problem = _decode(await request.body())
    if problem:
        raise Invalid({"文件": problem})
    added, changed = await import_csv(actor(request, who), text)
    return ImportOut(added=added, changed=changed)
