"""Administrators manage the seats' and duty judges' SIP phones: the page /admin/phones and
the API under /api/phones. Each change is saved in the phones table, then site/pjsip.conf
is rendered from the table and Asterisk reloads PJSIP (pbx.apply_phones), which
leaves calls in progress connected. A new password is shown once, in the answer to the
request that made it.

A basic court's administrator sees and manages only their court's phones (issue 17); a
phone they add is their court's."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from pydantic import BaseModel

import pbx
from agent_console.auth import Console, Principal, console, require_role
from agent_console.courts import managed_court, refuse_other_court
from agent_console.forms import Refused
from agent_console.pages import render
from agent_console.service import Actor, Refusals, actor, attempt, transaction
from agent_console.texts import ADMIN
from hotline.db import phones as phones_db
from hotline.db.base import session_scope
from hotline.db.models import Phone
from hotline.settings import Settings

log = logging.getLogger("agent_console")
router = APIRouter()
Admin = Annotated[Principal, Depends(require_role(ADMIN))]
Action = Literal["disable", "enable", "reset-password"]

TEXTS = {
    "reloaded": "已保存，电话交换机已重新加载话机配置（通话中的电话不受影响）。",
    "not_reloaded": "已保存，但电话交换机未能重新加载（可能未运行）；下次启动时生效。",
    "added": "已添加分机 {ext}。",
    "disable": "已停用分机 {ext}，并已将其移出座席队列。",
    "enable": "已启用分机 {ext}。",
    "reset-password": "已为分机 {ext} 生成新密码。",
}

# One render-and-reload at a time, each from the table as it is then: the last reload
# always carries every change committed before it.
_apply_lock = asyncio.Lock()


@dataclass(frozen=True)
class Outcome:
    phone: Phone
    reloaded: bool
    message: str
    password: str | None  # set only when this change made a new one


async def _apply(c: Console, control: pbx.PbxControl | None, leave_queue: list[str]) -> bool:
    """Reload PJSIP from the table, and take disabled seats out of the queue (a disabled
    seat must stop ringing)."""
    async with _apply_lock:
        async with session_scope(c.sessions) as db:
            rows = await phones_db.list_phones(db)
        try:
            await asyncio.to_thread(pbx.apply_phones, c.settings, rows)
            for extension in leave_queue:
                if control is None:
                    raise pbx.ControlError("the console runs without a PBX")
                await control.leave(extension)
        except pbx.PbxError as exc:
            log.warning("phones saved, PJSIP not reloaded: %s", exc)
            return False
    return True


def _refused(exc: phones_db.PhoneError) -> Refused:
    """404 for a phone that does not exist, else 422; the API's detail is {field, message},
    and the page shows the same."""
    status = 404 if isinstance(exc, phones_db.PhoneNotFound) else 422
    return Refused(status, exc.message, {exc.field: exc.message},
                   detail={"field": exc.field, "message": exc.message})


PHONE_REFUSALS: Refusals = {phones_db.PhoneError: _refused}


async def add(by: Actor, extension: str, kind: str, label: str) -> Outcome:
    async with transaction(by, PHONE_REFUSALS) as db:
        scope = await managed_court(db, by.who)
        phone = await phones_db.add_phone(db, extension, kind, label)
        phone.court_id = scope or phone.court_id
    log.info("phone %s (%s) added", phone.extension, phone.kind)
    reloaded = await _apply(by.c, by.control, [])
    return _outcome(phone, reloaded, TEXTS["added"], phone.password)


async def change(by: Actor, extension: str, action: Action) -> Outcome:
    async with transaction(by, PHONE_REFUSALS) as db:
        found = await db.get(Phone, extension)
        if found is not None:
            refuse_other_court(await managed_court(db, by.who), found.court_id)
        if action == "reset-password":
            phone = await phones_db.reset_password(db, extension)
        else:
            phone = await phones_db.set_enabled(db, extension, action == "enable")
    log.info("phone %s: %s", phone.extension, action)
    reloaded = await _apply(by.c, by.control, [phone.extension] if action == "disable" else [])
    password = phone.password if action == "reset-password" else None
    return _outcome(phone, reloaded, TEXTS[action], password)


def _outcome(phone: Phone, reloaded: bool, done: str, password: str | None) -> Outcome:
    status = TEXTS["reloaded"] if reloaded else TEXTS["not_reloaded"]
    return Outcome(phone, reloaded, done.format(ext=phone.extension) + status, password)


async def registered(settings: Settings) -> dict[str, str] | None:
    """Registered phones and their contact status; None when the PBX does not answer."""
    try:
        return await asyncio.to_thread(pbx.registered_phones, settings)
    except pbx.PbxError:
        return None


async def listing(c: Console, who: Principal
                  ) -> tuple[list[Phone], dict[str, str] | None]:
    """The phones `who` manages (a basic court's administrator: their court's)."""
    async with session_scope(c.sessions) as db:
        scope = await managed_court(db, who)
        rows = [p for p in await phones_db.list_phones(db) if scope in (None, p.court_id)]
    return rows, await registered(c.settings)


# --- the page ---------------------------------------------------------------------------

async def _page(request: Request, who: Principal, refused: Refused | None = None, *,
                form: dict[str, str] | None = None, outcome: Outcome | None = None) -> Response:
    rows, contacts = await listing(console(request), who)
    return render(request, "admin_phones.html", refused.status_code if refused else 200,
                  user=who.account, csrf_token=who.csrf_token, phones=rows, contacts=contacts,
                  kinds=phones_db.KINDS, form=form or {"kind": phones_db.SEAT},
                  error=refused.detail if refused else None, outcome=outcome)


@router.get("/admin/phones", include_in_schema=False)
async def phones_page(request: Request, who: Admin) -> Response:
    return await _page(request, who)


@router.post("/admin/phones", include_in_schema=False)
async def phones_add_form(request: Request, who: Admin,
                          extension: Annotated[str, Form()] = "",
                          kind: Annotated[str, Form()] = "",
                          label: Annotated[str, Form()] = "") -> Response:
    done = await attempt(add(actor(request, who), extension, kind, label))
    if isinstance(done, Refused):
        # The form comes back as typed, the field at fault named.
        form = {"extension": extension, "kind": kind, "label": label}
        return await _page(request, who, done, form=form)
    return await _page(request, who, outcome=done)


@router.post("/admin/phones/{extension}/{action}", include_in_schema=False)
async def phones_change_form(request: Request, who: Admin, extension: str,
                             action: Action) -> Response:
    done = await attempt(change(actor(request, who), extension, action))
    if isinstance(done, Refused):
        return await _page(request, who, done)
    return await _page(request, who, outcome=done)


# --- the API ----------------------------------------------------------------------------

class PhoneIn(BaseModel):
    extension: str
    kind: str = phones_db.SEAT
    label: str = ""


class PhoneOut(BaseModel):
    extension: str
    kind: str
    kind_label: str
    label: str
    enabled: bool
    # None: unknown, the PBX did not answer
    registered: bool | None
    contact_status: str

    @classmethod
    def of(cls, phone: Phone, contacts: dict[str, str] | None) -> PhoneOut:
        return cls(extension=phone.extension, kind=phone.kind,
                   kind_label=phones_db.KINDS.get(phone.kind, phone.kind), label=phone.label,
                   enabled=phone.enabled,
                   registered=None if contacts is None else phone.extension in contacts,
                   contact_status=(contacts or {}).get(phone.extension, ""))


class ChangeOut(BaseModel):
    phone: PhoneOut
    # the new SIP password, only in the answer to the add or reset that made it
    password: str | None
    # False: saved, but Asterisk did not take it (not running?); it will at its next start
    reloaded: bool
    message: str


def _change_out(outcome: Outcome) -> ChangeOut:
    return ChangeOut(phone=PhoneOut.of(outcome.phone, None), password=outcome.password,
                     reloaded=outcome.reloaded, message=outcome.message)


@router.get("/api/phones", summary="the SIP phones, and whether each is registered (admins)")
async def api_phones(request: Request, who: Admin) -> list[PhoneOut]:
    rows, contacts = await listing(console(request), who)
    return [PhoneOut.of(phone, contacts) for phone in rows]


@router.post("/api/phones", summary="add a phone; the answer holds its new password (admins)",
             responses={422: {"description": "detail: {field, message}"}})
async def api_add_phone(request: Request, who: Admin, body: PhoneIn) -> ChangeOut:
    return _change_out(await add(actor(request, who), body.extension, body.kind, body.label))


@router.post("/api/phones/{extension}/{action}",
             summary="disable, enable or reset-password: then PJSIP reloads (admins)",
             responses={404: {"description": "no such phone"}})
async def api_change_phone(request: Request, who: Admin, extension: str,
                           action: Action) -> ChangeOut:
    return _change_out(await change(actor(request, who), extension, action))
