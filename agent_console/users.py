"""Users, managed by the administrator in the browser and through the API (issue 13): add
one, change their name, role and mobile, give them a seat phone, disable or enable them,
reset their password. A new or reset password is generated, shown once on the page that
answers the action (or in the API's answer), and stored only as its hash.

An extension is one user's at a time (accounts.assign_extension): one another user has is
refused with the field and the holder named, and moved only when the administrator asks.
A disabled user cannot log in, their sessions and tokens end, and their seat leaves the
queue. The CLI's `hotline user` commands do the same through agent_console.accounts."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from agent_console import accounts
from agent_console.accounts import ExtensionRefused
from agent_console.api import UserOut
from agent_console.auth import Principal, console, require_role
from agent_console.courts import managed_court, refuse_other_court
from agent_console.forms import Errors, Invalid, Refused, field_error, form_values
from agent_console.pages import render
from agent_console.service import Actor, Refusals, actor, attempt, transaction
from agent_console.texts import ADMIN, AGENT, FIELD_LABELS, MESSAGES, ROLE_LABELS, ROLES
from hotline.db import presence as presence_db
from hotline.db.base import session_scope
from hotline.db.departments import PEOPLE, departments_of
from hotline.db.models import User
from hotline.phonenumbers import PhoneNumberError, mobile_number
from pbx import ControlError

log = logging.getLogger("agent_console")
pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["users"])
Admin = Annotated[Principal, Depends(require_role(ADMIN))]

USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,39}")
NAME_LIMIT = 60
NEW_FIELDS = ("username", "display_name", "role", "extension", "mobile")
EDIT_FIELDS = ("display_name", "role", "mobile")


class ExtensionIn(BaseModel):
    # "" takes the user's extension away
    extension: str
    # take the extension from the user who has it (they are signed out of the seat)
    move: bool = False


class NewUserIn(BaseModel):
    username: str = Field("", description="2-40 lower-case letters, digits, . _ -")
    display_name: str = ""
    role: str = Field("", description="a role code: " + ", ".join(ROLES))
    extension: str = Field("", description="the seat phone, or empty")
    mobile: str = Field("", description="where notices go by SMS (a mainland mobile), or empty")


class UserChangeIn(BaseModel):
    display_name: str = ""
    role: str = ""
    mobile: str = ""


class ActiveIn(BaseModel):
    active: bool


class NewPasswordOut(BaseModel):
    user: UserOut
    password: str = Field(description="the generated password: shown this once, never again")


@dataclass(frozen=True)
class Handed:
    """A user and the password generated for them, to show once."""

    user: User
    password: str


EXTENSION_REFUSALS: Refusals = {
    ExtensionRefused: lambda refused: Invalid({"extension": str(refused)})}


# --- the workflows, for pages and API alike ---------------------------------------------

async def _find(db: AsyncSession, user_key: int | str, who: Principal) -> User:
    """The user, if `who` manages their court: 404 when there is none, 403 when a basic
    court's administrator reaches for another court's staff (issue 17)."""
    user = await (db.get(User, user_key) if isinstance(user_key, int)
                  else accounts.get_user(db, user_key))
    if user is None:
        raise HTTPException(404, MESSAGES["user_not_found"])
    refuse_other_court(await managed_court(db, who), user.court_id)
    return user


def _check_person(values: Mapping[str, str], errors: Errors) -> str:
    """Name, role and mobile as a person typed them; the mobile in normal form."""
    name = values.get("display_name", "").strip()
    if not name:
        errors["display_name"] = field_error("display_name", "required")
    elif len(name) > NAME_LIMIT:
        errors["display_name"] = field_error("display_name", "too_long", limit=NAME_LIMIT)
    if values.get("role", "") not in ROLES:
        errors["role"] = field_error("role", "choose")
    raw = values.get("mobile", "").strip()
    try:
        return mobile_number(raw) if raw else ""
    except PhoneNumberError as wrong:
        errors["mobile"] = str(wrong)
        return raw


async def add(by: Actor, body: NewUserIn) -> Handed:
    """A new active user with a generated password; Invalid naming each wrong field."""
    username = body.username.strip()
    errors: Errors = {}
    if not username:
        errors["username"] = field_error("username", "required")
    elif not USERNAME.fullmatch(username):
        errors["username"] = field_error("username", "username_format")
    mobile = _check_person(body.model_dump(), errors)
    password = accounts.generate_password()
    async with transaction(by) as db:
        if "username" not in errors and await accounts.get_user(db, username) is not None:
            errors["username"] = field_error("username", "username_taken", username=username)
        if problem := await accounts.extension_problem(db, body.extension.strip(), None):
            errors["extension"] = problem
        if errors:
            raise Invalid(errors)
        user = await accounts.add_user(db, username, password, body.role,
                                       body.display_name.strip(), body.extension)
        # a basic court's administrator adds their own court's staff (issue 17)
        user.mobile, user.court_id = mobile, await managed_court(db, by.who) or user.court_id
    log.info("user %s added by %s (%s)", username, by.account.username, body.role)
    return Handed(user, password)


async def change(by: Actor, user_id: int, body: UserChangeIn) -> User:
    """A user's name, role and mobile. An administrator keeps their own role; a user named
    in a department keeps the role the department needs until replaced there."""
    errors: Errors = {}
    mobile = _check_person(body.model_dump(), errors)
    async with transaction(by) as db:
        user = await _find(db, user_id, by.who)
        if "role" not in errors and body.role != user.role:
            if user.id == by.account.id:
                errors["role"] = field_error("role", "own_role")
            elif needed := await _needed_in(db, user):
                errors["role"] = needed
        if errors:
            raise Invalid(errors)
        # An agent given another role no longer answers the queue.
        seat = user.extension if user.role == AGENT and body.role != AGENT else ""
        if seat:
            await presence_db.vacate(db, seat, by.now())
        user.display_name, user.role, user.mobile = body.display_name.strip(), body.role, mobile
    await _out_of_queue(by, [seat] if seat else [])
    return user


async def _needed_in(db: AsyncSession, user: User) -> str:
    """Why the user's role cannot change: the departments that name them in that role."""
    positions = {role: field for field, role in PEOPLE.items()}
    if user.role not in positions:
        return ""
    field = positions[user.role]
    named = [d.name for d in await departments_of(db, user.id)
             if getattr(d, f"{field}_id") == user.id]
    if not named:
        return ""
    return field_error("role", "role_in_department", departments="”“".join(named),
                       position=FIELD_LABELS[field])


async def set_active(by: Actor, user_id: int, active: bool) -> User:
    """Enable or disable a user; disabling ends their sessions and takes their seat out of
    the queue. Nobody disables themselves (the last administrator could lock all out)."""
    if not active and user_id == by.account.id:
        raise Refused(409, MESSAGES["disable_self"])
    async with transaction(by) as db:
        user = await _find(db, user_id, by.who)
        seat = await accounts.set_active(db, user, active, by.now())
    await _out_of_queue(by, [seat] if seat else [])
    log.info("user %s %s by %s", user.username, "enabled" if active else "disabled",
             by.account.username)
    return user


async def reset_password(by: Actor, user_key: int | str) -> Handed:
    """A new generated password; every session and token of the user ends."""
    password = accounts.generate_password()
    async with transaction(by) as db:
        user = await _find(db, user_key, by.who)
        await accounts.set_password(db, user.username, password)
    log.info("password of %s reset by %s", user.username, by.account.username)
    return Handed(user, password)


async def set_extension(by: Actor, user_key: int | str, extension: str, move: bool) -> User:
    """Give the user (by id, or by username) the extension, or none with "". Seats left
    without their holder leave the queue now."""
    async with transaction(by, EXTENSION_REFUSALS) as db:
        user = await _find(db, user_key, by.who)
        vacated = await accounts.assign_extension(db, user, extension, move=move)
    await _out_of_queue(by, vacated)
    return user


async def _out_of_queue(by: Actor, seats: list[str]) -> None:
    """Seats whose holder is gone leave the queue now, rather than ring under the old
    name until the new holder signs in; without a PBX that sign-in replaces the member."""
    if by.control is None:
        return
    for seat in seats:
        try:
            await by.control.leave(seat)
        except ControlError as exc:
            log.warning("seat %s could not leave the queue: %s", seat, exc)


# --- pages ------------------------------------------------------------------------------

def _name(user: User) -> str:
    return user.display_name or user.username


async def _users_page(request: Request, who: Principal, status: int = 200, notice: str = "",
                      errors: dict[int, Errors] | None = None,
                      typed: dict[int, str] | None = None, new_values: Mapping[str, str] | None
                      = None, new_errors: Errors | None = None,
                      handed: Handed | None = None) -> Response:
    async with session_scope(console(request).sessions) as db:
        scope = await managed_court(db, who)
        users = [u for u in await accounts.list_users(db) if scope in (None, u.court_id)]
    return render(request, "admin_users.html", status, user=who.account,
                  csrf_token=who.csrf_token, users=users, notice=notice,
                  extension_errors=errors or {}, extension_typed=typed or {},
                  new_values=new_values or {}, new_errors=new_errors or {}, handed=handed,
                  labels=FIELD_LABELS, roles=ROLE_LABELS)


@pages.get("/admin/users")
async def users_page(request: Request, who: Admin, ended: str = "", count: int = 0
                     ) -> Response:
    async with session_scope(console(request).sessions) as db:
        known = await accounts.get_user(db, ended) if ended else None
    # Only a real user's name goes into the notice: a link cannot make the page say more.
    notice = (MESSAGES["sessions_ended"].format(name=ended, count=count)
              if known is not None else "")
    return await _users_page(request, who, notice=notice)


@pages.post("/admin/users")
async def add_page(request: Request, who: Admin) -> Response:
    values = await form_values(request, NEW_FIELDS)
    done = await attempt(add(actor(request, who), NewUserIn(**values)))
    if isinstance(done, Refused):
        return await _users_page(request, who, done.status_code, new_values=values,
                                 new_errors=done.errors)
    notice = MESSAGES["user_added"].format(name=_name(done.user), username=done.user.username)
    return await _users_page(request, who, notice=notice, handed=done)


@pages.post("/admin/users/{user_id}/extension")
async def extension_page(request: Request, who: Admin, user_id: int) -> Response:
    values = await form_values(request, ("extension", "move"))
    done = await attempt(set_extension(actor(request, who), user_id, values["extension"],
                                       values["move"] == "on"))
    if isinstance(done, Refused):
        return await _users_page(request, who, done.status_code,
                                 errors={user_id: done.errors},
                                 typed={user_id: values["extension"]})
    notice = MESSAGES["extension_set"].format(
        name=done.username, extension=done.extension or MESSAGES["no_extension_set"])
    return await _users_page(request, who, notice=notice)


async def _user_page(request: Request, who: Principal, user_id: int, status: int = 200,
                     notice: str = "", refused: Refused | None = None,
                     values: Mapping[str, str] | None = None,
                     handed: Handed | None = None) -> Response:
    async with session_scope(console(request).sessions) as db:
        found = await _find(db, user_id, who)
    shown = values or {"display_name": found.display_name, "role": found.role,
                       "mobile": found.mobile}
    return render(request, "admin_user.html", status, user=who.account,
                  csrf_token=who.csrf_token, person=found, values=shown,
                  errors=refused.errors if refused else {}, notice=notice,
                  failure=refused.message if refused else "", handed=handed,
                  labels=FIELD_LABELS, roles=ROLE_LABELS, is_self=found.id == who.account.id)


@pages.get("/admin/users/{user_id}")
async def user_page(request: Request, who: Admin, user_id: int) -> Response:
    return await _user_page(request, who, user_id)


@pages.post("/admin/users/{user_id}")
async def change_page(request: Request, who: Admin, user_id: int) -> Response:
    values = await form_values(request, EDIT_FIELDS)
    done = await attempt(change(actor(request, who), user_id, UserChangeIn(**values)))
    if isinstance(done, Refused):
        return await _user_page(request, who, user_id, done.status_code, refused=done,
                                values=values)
    return await _user_page(request, who, user_id,
                            notice=MESSAGES["user_saved"].format(name=_name(done)))


@pages.post("/admin/users/{user_id}/active")
async def active_page(request: Request, who: Admin, user_id: int) -> Response:
    values = await form_values(request, ("active",))
    done = await attempt(set_active(actor(request, who), user_id, values["active"] == "1"))
    if isinstance(done, Refused):
        return await _user_page(request, who, user_id, done.status_code, refused=done)
    if done.active:
        notice = MESSAGES["user_enabled"].format(name=_name(done))
    elif done.extension:
        notice = MESSAGES["user_disabled_seat"].format(name=_name(done),
                                                       extension=done.extension)
    else:
        notice = MESSAGES["user_disabled"].format(name=_name(done))
    return await _user_page(request, who, user_id, notice=notice)


@pages.post("/admin/users/{user_id}/password")
async def password_page(request: Request, who: Admin, user_id: int) -> Response:
    done = await reset_password(actor(request, who), user_id)
    return await _user_page(request, who, user_id, handed=done,
                            notice=MESSAGES["password_reset"].format(name=_name(done.user)))


# --- API --------------------------------------------------------------------------------

@api.put("/users/{username}/extension", summary="give a user a seat phone, or none with "
         "\"\" (administrators); another user's is refused unless move is true")
async def api_extension(request: Request, who: Admin, username: str,
                        body: ExtensionIn) -> UserOut:
    return UserOut.of(await set_extension(actor(request, who), username, body.extension,
                                          body.move))


@api.post("/users", status_code=201, summary="add a user (administrators); the answer holds "
          "the generated password, shown this once")
async def api_add(request: Request, who: Admin, body: NewUserIn) -> NewPasswordOut:
    done = await add(actor(request, who), body)
    return NewPasswordOut(user=UserOut.of(done.user), password=done.password)


@api.put("/users/{username}/active", summary="enable or disable a user (administrators); "
         "disabling ends their sessions and takes their seat out of the queue")
async def api_active(request: Request, who: Admin, username: str, body: ActiveIn) -> UserOut:
    async with session_scope(console(request).sessions) as db:
        user_id = (await _find(db, username, who)).id
    return UserOut.of(await set_active(actor(request, who), user_id, body.active))


@api.post("/users/{username}/password", summary="reset a user's password (administrators): "
          "a generated one, shown this once; their sessions and tokens end")
async def api_password(request: Request, who: Admin, username: str) -> NewPasswordOut:
    done = await reset_password(actor(request, who), username)
    return NewPasswordOut(user=UserOut.of(done.user), password=done.password)
