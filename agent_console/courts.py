"""The courts the centre answers for (issue 17), kept by administrators: the page
/admin/courts (the list in its order, the form to add or change a court) and the API under
/api/courts. The rules are hotline.db.courts'."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from agent_console.auth import Principal, console, require_role
from agent_console.forms import Errors, Invalid, Refused, field_error, form_values
from agent_console.pages import render
from agent_console.service import Actor, Refusals, actor, attempt, transaction
from agent_console.texts import ADMIN, FIELD_LABELS, MESSAGES
from hotline.courts import court_scope
from hotline.db import courts as courts_db
from hotline.db.base import session_scope
from hotline.db.courts import LIMITS, CourtFields, CourtInvalid, NoSuchCourt
from hotline.db.models import Court, Department

router = APIRouter()
Admin = Annotated[Principal, Depends(require_role(ADMIN))]
# the form's field for each of hotline.db.courts' fields (name and phones are named apart
# from the departments' and the call log's fields of those names)
STAFF_FIELDS = ("username", "staff_court")
FORM_FIELDS = {"name": "court_name", "short_name": "short_name", "case_prefix": "case_prefix",
               "phones": "court_phones", "position": "position", "active": "court_active"}


class CourtIn(BaseModel):
    name: str = ""
    short_name: str = ""
    case_prefix: str = ""
    phones: str = ""
    position: int = 0
    active: bool = True


class StaffIn(BaseModel):
    username: str


class StaffOut(BaseModel):
    username: str
    court_id: int


class CourtOut(CourtIn):
    id: int
    centre: bool


def _out(c: Court) -> CourtOut:
    return CourtOut(id=c.id, name=c.name, short_name=c.short_name, case_prefix=c.case_prefix,
                    phones=c.phones, position=c.position, active=c.active, centre=c.centre)


def _errors(invalid: CourtInvalid) -> Errors:
    return {FORM_FIELDS[field]: field_error(FORM_FIELDS[field], kind, limit=LIMITS.get(field))
            for field, kind in invalid.errors.items()}


def department_choices(departments: list[Department], courts: list[Court],
                       court_id: int) -> dict[str, str]:
    """The forwarding picker's departments: the matter's court's first, by name, then each
    other court's in the courts' order, named with their court (choosing one moves the
    matter to that court). With one court, the names alone, as before courts."""
    if len(courts) <= 1:
        return {str(d.id): d.name for d in departments}
    order = {c.id: n for n, c in enumerate(courts)}
    labels = {c.id: courts_db.court_label(c) for c in courts}
    ranked = sorted(departments, key=lambda d: (d.court_id != court_id,
                                                order.get(d.court_id, len(order)), d.name))
    return {str(d.id): d.name if d.court_id == court_id
            else f"{labels.get(d.court_id, '')}·{d.name}" for d in ranked}


def court_choices(courts: list[Court]) -> dict[str, str]:
    """The courts a select offers, in their order."""
    return {str(c.id): c.name for c in courts}


def _not_found(_missing: LookupError) -> HTTPException:
    return HTTPException(404, MESSAGES["not_found"])


REFUSALS: Refusals = {CourtInvalid: lambda refused: Invalid(_errors(refused)),
                      LookupError: _not_found}


STAFF_REFUSALS: Refusals = {
    NoSuchCourt: lambda _missing: Invalid({"staff_court": field_error("staff_court",
                                                                       "no_court")}),
    LookupError: lambda _missing: Invalid({"username": field_error("username", "no_user")}),
    CourtInvalid: lambda _refused: Invalid({"username": field_error("username",
                                                                    "serves_other_court")})}


# --- which court an administrator manages (issue 17) ---------------------------------------

async def managed_court(db: AsyncSession, who: Principal) -> int | None:
    """The one court whose departments, staff, phones and roster an administrator
    manages, or None for every court: the centre's administrators manage all, a basic
    court's administrator only their own (hotline.courts.court_scope)."""
    return await court_scope(db, who.account.id)


def refuse_other_court(scope: int | None, court_id: int | None) -> None:
    """Refused (403) when a basic court's administrator reaches for another court's."""
    if scope is not None and court_id != scope:
        raise Refused(403, MESSAGES["other_courts"])


async def _centre_only(db: AsyncSession, by: Actor) -> None:
    """The list of courts and who serves which are the centre's to change."""
    if await managed_court(db, by.who) is not None:
        raise Refused(403, MESSAGES["other_courts"])


async def assign(by: Actor, username: str, court_id: int) -> StaffOut:
    """Make a user a court's staff (hotline.db.courts.assign_user)."""
    async with transaction(by, STAFF_REFUSALS) as db:
        await _centre_only(db, by)
        user = await courts_db.assign_user(db, username.strip(), court_id)
        return StaffOut(username=user.username, court_id=user.court_id)


async def save(by: Actor, body: CourtIn, court_id: int | None = None) -> Court:
    """Add a court, or change the one with court_id."""
    async with transaction(by, REFUSALS) as db:
        await _centre_only(db, by)
        return await courts_db.save_court(db, CourtFields(**body.model_dump()), court_id)


# --- the page -------------------------------------------------------------------------------

def _from_form(values: Mapping[str, str]) -> CourtIn | Invalid:
    raw_position = values["position"].strip()
    if raw_position and not raw_position.isdigit():
        return Invalid({"position": field_error("position", "position")})
    return CourtIn(name=values["court_name"], short_name=values["short_name"],
                   case_prefix=values["case_prefix"], phones=values["court_phones"],
                   position=int(raw_position or 0), active=values["court_active"] == "on")


async def _page(request: Request, who: Principal, status: int = 200,
                values: Mapping[str, str] | None = None, errors: Errors | None = None,
                editing: int | None = None, saved: str = "",
                staff_values: Mapping[str, str] | None = None,
                staff_errors: Errors | None = None) -> Response:
    async with session_scope(console(request).sessions) as db:
        courts = await courts_db.list_courts(db)
        staff = await courts_db.staff_counts(db)
    return render(request, "admin_courts.html", status, user=who.account,
                  csrf_token=who.csrf_token, courts=courts, staff=staff,
                  court_choices=court_choices(courts), staff_values=staff_values or {},
                  staff_errors=staff_errors or {},
                  values=values or {"court_active": "on"}, errors=errors or {},
                  labels=FIELD_LABELS, editing=editing, saved=saved)


@router.get("/admin/courts", include_in_schema=False)
async def courts_page(request: Request, who: Admin, edit: int | None = None,
                      saved: str = "") -> Response:
    values: dict[str, str] = {"court_active": "on"}
    if edit is not None:
        async with session_scope(console(request).sessions) as db:
            found = await courts_db.get_court(db, edit)
        if found is None:
            raise HTTPException(404, MESSAGES["not_found"])
        values = {"court_name": found.name, "short_name": found.short_name,
                  "case_prefix": found.case_prefix, "court_phones": found.phones,
                  "position": str(found.position), "court_active": "on" if found.active else ""}
    return await _page(request, who, values=values, editing=edit, saved=saved)


@router.post("/admin/courts", include_in_schema=False)
async def save_page(request: Request, who: Admin, edit: int | None = None) -> Response:
    values = await form_values(request, tuple(FORM_FIELDS.values()))
    body = _from_form(values)
    done = body if isinstance(body, Invalid) else await attempt(save(actor(request, who),
                                                                      body, edit))
    if isinstance(done, Refused):
        return await _page(request, who, done.status_code, values, done.errors, editing=edit)
    return RedirectResponse("/admin/courts?saved=1", status_code=303)


@router.post("/admin/courts/staff", include_in_schema=False)
async def staff_page(request: Request, who: Admin) -> Response:
    values = await form_values(request, STAFF_FIELDS)
    raw = values["staff_court"].strip()
    done: StaffOut | Refused = (
        await attempt(assign(actor(request, who), values["username"], int(raw)))
        if raw.isdigit() else Invalid({"staff_court": field_error("staff_court", "choose")}))
    if isinstance(done, Refused):
        return await _page(request, who, done.status_code, staff_values=values,
                           staff_errors=done.errors)
    return RedirectResponse("/admin/courts?saved=1#staff", status_code=303)


# --- API ------------------------------------------------------------------------------------

@router.get("/api/courts", tags=["courts"], summary="the courts the centre answers for")
async def api_list(request: Request, who: Admin) -> list[CourtOut]:
    async with session_scope(console(request).sessions) as db:
        return [_out(c) for c in await courts_db.list_courts(db)]


@router.post("/api/courts", tags=["courts"], status_code=201,
             summary="add a court (administrators)")
async def api_create(request: Request, who: Admin, body: CourtIn) -> CourtOut:
    return _out(await save(actor(request, who), body))


@router.put("/api/courts/{court_id}/staff", tags=["courts"],
            summary="make a user this court's staff (a basic court's see only its matters)")
async def api_staff(request: Request, who: Admin, court_id: int, body: StaffIn) -> StaffOut:
    return await assign(actor(request, who), body.username, court_id)


@router.put("/api/courts/{court_id}", tags=["courts"], summary="change a court (administrators)")
async def api_update(request: Request, who: Admin, court_id: int, body: CourtIn) -> CourtOut:
    return _out(await save(actor(request, who), body, court_id))
