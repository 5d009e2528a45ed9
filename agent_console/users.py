"""Users' seat phones, set by the administrator on the users page and through the API.
An extension is one user's at a time (accounts.assign_extension): one another user has is
refused with the field and the holder named, and moved only when the administrator asks."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from pydantic import BaseModel

from agent_console import accounts
from agent_console.accounts import ExtensionRefused
from agent_console.api import UserOut
from agent_console.auth import Principal, console, require_role
from agent_console.forms import Errors, Invalid, Refused, form_values
from agent_console.pages import render
from agent_console.service import Actor, Refusals, actor, attempt, transaction
from agent_console.texts import ADMIN, MESSAGES
from hotline.db.base import session_scope
from hotline.db.models import User
from pbx import ControlError

log = logging.getLogger("agent_console")
pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["users"])
Admin = Annotated[Principal, Depends(require_role(ADMIN))]


class ExtensionIn(BaseModel):
    # "" takes the user's extension away
    extension: str
    # take the extension from the user who has it (they are signed out of the seat)
    move: bool = False


EXTENSION_REFUSALS: Refusals = {
    ExtensionRefused: lambda refused: Invalid({"extension": str(refused)})}


async def set_extension(by: Actor, user_key: int | str, extension: str, move: bool) -> User:
    """Give the user (by id, or by username) the extension, or none with "". Seats left
    without their holder leave the queue now."""
    async with transaction(by, EXTENSION_REFUSALS) as db:
        user = await (db.get(User, user_key) if isinstance(user_key, int)
                      else accounts.get_user(db, user_key))
        if user is None:
            raise HTTPException(404, MESSAGES["user_not_found"])
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


async def _users_page(request: Request, who: Principal, status: int = 200, notice: str = "",
                      errors: dict[int, Errors] | None = None,
                      typed: dict[int, str] | None = None) -> Response:
    async with session_scope(console(request).sessions) as db:
        users = await accounts.list_users(db)
    return render(request, "admin_users.html", status, user=who.account,
                  csrf_token=who.csrf_token, users=users, notice=notice,
                  extension_errors=errors or {}, extension_typed=typed or {})


@api.put("/users/{username}/extension", summary="give a user a seat phone, or none with "
         "\"\" (administrators); another user's is refused unless move is true")
async def api_extension(request: Request, who: Admin, username: str,
                        body: ExtensionIn) -> UserOut:
    return UserOut.of(await set_extension(actor(request, who), username, body.extension,
                                          body.move))
