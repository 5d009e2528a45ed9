"""Departments, managed by the administrator (Art. 5(6)): the handler who answers the
matters forwarded there, the head pushed when one is overdue, the supervising leader.
Also the staff's mobile numbers, where their notices go by SMS.

A basic court's administrator sees and manages only their court's departments and staff
(issue 17; agent_console.courts.managed_court): another court's is refused (403)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agent_console import courts as court_pages
from agent_console.auth import Principal, console, require_role
from agent_console.forms import Errors, Invalid, Refused, field_error, form_values
from agent_console.pages import render
from agent_console.service import Actor, Refusals, actor, attempt, transaction
from agent_console.texts import ADMIN, FIELD_LABELS, MESSAGES, ROLE_LABELS
from hotline.db import courts as courts_db
from hotline.db import departments as db_departments
from hotline.db.base import session_scope
from hotline.db.departments import PEOPLE, DepartmentInUse, DepartmentInvalid, Matters
from hotline.db.models import CENTRE_COURT_ID, Department, User

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["departments"])
Admin = Annotated[Principal, Depends(require_role(ADMIN))]
FIELDS = ("name", "handler", "head", "leader", "active", "court")


class DepartmentIn(BaseModel):
    name: str = ""
    handler_id: int | None = None
    head_id: int | None = None
    leader_id: int | None = None
    active: bool = True
    # issue 17: the court it belongs to; none given: the administrator's own court
    court_id: int | None = None


class DepartmentOut(BaseModel):
    id: int
    name: str
    handler_id: int | None
    head_id: int | None
    leader_id: int | None
    active: bool
    court_id: int


class MobileIn(BaseModel):
    mobile: str = ""


class MobileOut(BaseModel):
    user_id: int
    username: str
    mobile: str


def _out(d: Department) -> DepartmentOut:
    return DepartmentOut(id=d.id, name=d.name, handler_id=d.handler_id, head_id=d.head_id,
                         leader_id=d.leader_id, active=d.active, court_id=d.court_id)


def _errors(invalid: DepartmentInvalid) -> Errors:
    return {field: field_error(field, kind, limit=db_departments.NAME_LIMIT,
                               role=ROLE_LABELS[PEOPLE.get(field, "admin")])
            for field, kind in invalid.errors.items()}


# --- the workflows, for pages and API alike ---------------------------------------------

def _not_found(_missing: LookupError) -> HTTPException:
    return HTTPException(404, MESSAGES["not_found"])


def _bad_mobile(wrong: ValueError) -> Invalid:
    return Invalid({"mobile": str(wrong)})


SAVE_REFUSALS: Refusals = {DepartmentInvalid: lambda refused: Invalid(_errors(refused)),
                           LookupError: _not_found}
MOBILE_REFUSALS: Refusals = {ValueError: _bad_mobile, LookupError: _not_found}


async def save(by: Actor, body: DepartmentIn, department_id: int | None = None
               ) -> Department:
    """Add a department, or change the one with department_id."""
    async with transaction(by, SAVE_REFUSALS) as db:
        scope = await court_pages.managed_court(db, by.who)
        court_id = body.court_id or scope or CENTRE_COURT_ID
        court_pages.refuse_other_court(scope, court_id)
        if department_id is not None:
            await _managed(db, scope, department_id)
        return await db_departments.save_department(
            db, body.name, handler_id=body.handler_id, head_id=body.head_id,
            leader_id=body.leader_id, active=body.active, department_id=department_id,
            court_id=court_id)


async def _managed(db: AsyncSession, scope: int | None, department_id: int) -> Department:
    """The department, if the administrator manages its court: 404 when there is none,
    403 when it is another court's."""
    found = await db_departments.get_department(db, department_id)
    if found is None:
        raise HTTPException(404, MESSAGES["not_found"])
    court_pages.refuse_other_court(scope, found.court_id)
    return found


def _in_use(refused: DepartmentInUse) -> Refused:
    return Refused(409, MESSAGES["department_busy_api"].format(
        open=len(refused.matters.open_references), closed=refused.matters.closed))


REMOVE_REFUSALS: Refusals = {DepartmentInUse: _in_use}


async def remove(by: Actor, department_id: int) -> bool:
    """Remove a department that never received a matter; False when there is none.
    Refused (409) when it has matters: deactivate it instead (hotline.db.departments)."""
    async with transaction(by, REMOVE_REFUSALS) as db:
        found = await db_departments.get_department(db, department_id)
        if found is not None:
            court_pages.refuse_other_court(await court_pages.managed_court(db, by.who),
                                           found.court_id)
        return await db_departments.delete_department(db, department_id)


async def deactivate(by: Actor, department_id: int) -> Department:
    """Stop forwarding to a department; its matters run their course."""
    async with transaction(by) as db:
        found = await _managed(db, await court_pages.managed_court(db, by.who), department_id)
        found.active = False
        return found


async def set_mobile(by: Actor, user_id: int, mobile: str) -> User:
    """The mobile number a user's notices go to by SMS ("" for none)."""
    async with transaction(by, MOBILE_REFUSALS) as db:
        user = await db.get(User, user_id)
        if user is not None:
            court_pages.refuse_other_court(await court_pages.managed_court(db, by.who),
                                           user.court_id)
        return await db_departments.set_mobile(db, user_id, mobile)


# --- pages ------------------------------------------------------------------------------

def _from_form(values: Mapping[str, str]) -> DepartmentIn:
    def user_id(field: str) -> int | None:
        raw = values.get(field, "").strip()
        return int(raw) if raw.isdigit() else None
    return DepartmentIn(name=values.get("name", ""), handler_id=user_id("handler"),
                        head_id=user_id("head"), leader_id=user_id("leader"),
                        active=values.get("active", "") == "on", court_id=user_id("court"))


async def _page(request: Request, who: Principal, status: int = 200,
                values: Mapping[str, str] | None = None, errors: Errors | None = None,
                editing: int | None = None, saved: str = "",
                mobile_errors: dict[int, Errors] | None = None,
                mobile_typed: dict[int, str] | None = None, deleted: str = "") -> Response:
    async with session_scope(console(request).sessions) as db:
        scope = await court_pages.managed_court(db, who)
        departments = await db_departments.list_departments(db, court_id=scope)
        staff = select(User).order_by(User.username)
        if scope is not None:
            staff = staff.where(User.court_id == scope)
        users = list((await db.execute(staff)).scalars())
        courts = [c for c in await courts_db.list_courts(db) if scope in (None, c.id)]
    choices = {field: {str(u.id): f"{u.display_name or u.username}（{u.username}）"
                       for u in users if u.role == role and u.active}
               for field, role in PEOPLE.items()}
    names = {u.id: u.display_name or u.username for u in users}
    return render(request, "admin_departments.html", status, user=who.account,
                  csrf_token=who.csrf_token, departments=departments, users=users,
                  choices=choices, names=names,
                  values=values or {"active": "on", "court": str(scope or CENTRE_COURT_ID)},
                  courts=court_pages.court_choices(courts) if len(courts) > 1 else {},
                  errors=errors or {}, labels=FIELD_LABELS, editing=editing, saved=saved,
                  mobile_errors=mobile_errors or {}, mobile_typed=mobile_typed or {},
                  deleted=MESSAGES["department_deleted"].format(name=deleted) if deleted else "")


@pages.get("/admin/departments")
async def departments_page(request: Request, who: Admin, edit: int | None = None,
                           saved: str = "") -> Response:
    async with session_scope(console(request).sessions) as db:
        scope = await court_pages.managed_court(db, who)
        found = await _managed(db, scope, edit) if edit is not None else None
    values: dict[str, str] = {"active": "on", "court": str(scope or CENTRE_COURT_ID)}
    if found is not None:
        values = {"name": found.name, "handler": str(found.handler_id or ""),
                  "head": str(found.head_id or ""), "leader": str(found.leader_id or ""),
                  "active": "on" if found.active else "", "court": str(found.court_id)}
    return await _page(request, who, values=values, editing=edit, saved=saved)


@pages.post("/admin/departments")
async def save_page(request: Request, who: Admin, edit: int | None = None) -> Response:
    values = await form_values(request, FIELDS)
    done = await attempt(save(actor(request, who), _from_form(values), edit))
    if isinstance(done, Refused):
        return await _page(request, who, done.status_code, values, done.errors, editing=edit)
    return RedirectResponse("/admin/departments?saved=1", status_code=303)


async def _delete_page(request: Request, who: Principal, department_id: int,
                       status: int = 200) -> Response:
    async with session_scope(console(request).sessions) as db:
        found = await _managed(db, await court_pages.managed_court(db, who), department_id)
        matters: Matters = await db_departments.matters_of(db, department_id)
    return render(request, "admin_department_delete.html", status, user=who.account,
                  csrf_token=who.csrf_token, department=found, matters=matters,
                  refused=status != 200)


@pages.get("/admin/departments/{department_id}/delete")
async def delete_confirm_page(request: Request, who: Admin, department_id: int) -> Response:
    """What deleting would do, and the one button that does it (never one click from the
    list)."""
    return await _delete_page(request, who, department_id)


@pages.post("/admin/departments/{department_id}/delete")
async def delete_page(request: Request, who: Admin, department_id: int) -> Response:
    values = await form_values(request, ("confirm",))
    if values["confirm"] != "yes":
        return RedirectResponse(f"/admin/departments/{department_id}/delete", status_code=303)
    async with session_scope(console(request).sessions) as db:
        found = await _managed(db, await court_pages.managed_court(db, who), department_id)
    done = await attempt(remove(actor(request, who), department_id))
    if isinstance(done, Refused):
        return await _delete_page(request, who, department_id, done.status_code)
    return await _page(request, who, deleted=found.name)


@pages.post("/admin/departments/{department_id}/deactivate")
async def deactivate_page(request: Request, who: Admin, department_id: int) -> Response:
    await deactivate(actor(request, who), department_id)
    return RedirectResponse("/admin/departments?saved=1", status_code=303)


@pages.post("/admin/users/{user_id}/mobile")
async def mobile_page(request: Request, who: Admin, user_id: int) -> Response:
    values = await form_values(request, ("mobile",))
    done = await attempt(set_mobile(actor(request, who), user_id, values["mobile"]))
    if isinstance(done, Refused):
        return await _page(request, who, done.status_code, mobile_errors={user_id: done.errors},
                           mobile_typed={user_id: values["mobile"]})
    return RedirectResponse("/admin/departments?saved=1#mobiles", status_code=303)


# --- API --------------------------------------------------------------------------------

@api.get("/departments", summary="every department with its handler, head and leader (a "
        "basic court's administrator: their court's)")
async def api_list(request: Request, who: Admin) -> list[DepartmentOut]:
    async with session_scope(console(request).sessions) as db:
        scope = await court_pages.managed_court(db, who)
        return [_out(d) for d in await db_departments.list_departments(db, court_id=scope)]


@api.post("/departments", status_code=201, summary="add a department (administrators)")
async def api_create(request: Request, who: Admin, body: DepartmentIn) -> DepartmentOut:
    return _out(await save(actor(request, who), body))


@api.put("/departments/{department_id}", summary="change a department (administrators)")
async def api_update(request: Request, who: Admin, department_id: int,
                     body: DepartmentIn) -> DepartmentOut:
    return _out(await save(actor(request, who), body, department_id))


@api.delete("/departments/{department_id}", status_code=204,
            summary="remove a department that never received a matter; 409 when it has "
                    "matters (deactivate it with PUT active=false instead)")
async def api_delete(request: Request, who: Admin, department_id: int) -> Response:
    if not await remove(actor(request, who), department_id):
        raise HTTPException(404, MESSAGES["not_found"])
    return Response(status_code=204)


@api.put("/users/{user_id}/mobile", summary="set the mobile number a user's notices go to")
async def api_mobile(request: Request, who: Admin, user_id: int, body: MobileIn) -> MobileOut:
    user = await set_mobile(actor(request, who), user_id, body.mobile)
    return MobileOut(user_id=user.id, username=user.username, mobile=user.mobile)
