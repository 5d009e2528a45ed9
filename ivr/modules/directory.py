"""directory: "dial a department" (内外一号, issue 15). The caller hears the departments of
the court's telephone directory by key, or keys a staff member's extension after 9; in
office hours (the hotline's, and the entry's own) the bridge hands the call to
dialplan/directory.conf, which rings the extension or the outside number through the
carrier, the whole call still in its one recording. After hours, or when nobody answers
(AGI route "directory-missed"), the caller may leave a voice message, which becomes a
matter forwarded to that department.

The list comes from memory (hotline.directory.DirectoryBook, refreshed by the bridge),
never from the database while the caller listens. Keys as in every menu: * again,
# back (node parameter back), 0 a seat in office hours.
Node parameter: back (the node # returns to).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hotline.db.base import session_scope, utcnow
from hotline.directory import DirectoryItem, in_hours
from ivr.callflow import CallFlow
from ivr.fastagi import AgiSession
from ivr.menu import HANDED_OVER, REPEAT_KEY, SEATS, SEATS_KEY, Node
from ivr.modules import voice_ticket
from ivr.modules.common import check_known
from ivr.services import Services
from pbx import names as v

EXTENSION_KEY, BACK_KEY = "9", "#"
TRIES = 3
MAX_REPEATS = 5
TIMEOUT = 6.0
_CN_DIGITS = dict(zip("12345678", "一二三四五六七八", strict=True))


def check(params: Mapping[str, Any]) -> list[str]:
    return check_known(params, {"back"})


def menu_sentence(departments: Mapping[str, DirectoryItem], open_now: bool) -> str:
    choices = [f"{item.name}请按{_CN_DIGITS[key]}" for key, item in departments.items()]
    tail = ["知道分机号码的请按九后输入分机号码", "重听请按星号键", "返回上级菜单请按井号键"]
    if open_now:
        tail.append("人工服务请按零")
    return "，".join([*choices, *tail]) + "。"


async def run(flow: CallFlow, node: Node) -> str | None:
    book = flow.services.directory
    if not book.loaded:  # the bridge loads it before the first call; a bare Services not
        async with session_scope(flow.services.sessions) as session:
            await book.refresh(session)
    open_now = flow.services.hours.is_open(utcnow())
    misses = repeats = 0
    while misses < TRIES:
        key = await flow.ask_text(menu_sentence(book.by_key, open_now), "directory-menu",
                                  TIMEOUT)
        if key == REPEAT_KEY and repeats < MAX_REPEATS:
            repeats += 1
            continue
        if key == BACK_KEY:
            return str(node.params.get("back", "")) or None
        if key == SEATS_KEY and open_now:
            return SEATS
        item = await _by_extension(flow) if key == EXTENSION_KEY else book.by_key.get(key)
        if item is not None:
            return await reach(flow, item)
        misses += 1
    return SEATS if open_now else None


async def _by_extension(flow: CallFlow) -> DirectoryItem | None:
    number = await flow.ask_number("directory-extension", TIMEOUT, 6)
    item = flow.services.directory.by_extension.get(number)
    if item is None:
        await flow.play("directory-no-extension")
    return item


async def reach(flow: CallFlow, item: DirectoryItem) -> str | None:
    """Ring the entry if it answers now, else take a message for its department."""
    flow.log("directory", {"entry": str(item.id), "name": item.label})
    now = utcnow()
    if flow.services.hours.is_open(now) and in_hours(
            item.hours, now, flow.services.settings.hours.timezone):
        await flow.agi.set_variable(v.DIRECTORY_DIAL, item.number)
        await flow.agi.set_variable(v.DIRECTORY_ENTRY, str(item.id))
        await flow.play("directory-connecting")
        await flow.set_route(v.CALL_ROUTE_DIRECTORY, v.ROUTE_DIRECTORY)
        return HANDED_OVER
    await flow.play("directory-closed")
    await leave_message(flow, item)
    return None


async def leave_message(flow: CallFlow, item: DirectoryItem | None) -> None:
    params: dict[str, Any] = {"ticket_type": "callback", "intro": "directory-message-intro",
                              "closing": "ticket-next-day"}
    if item is not None:
        params["department"] = item.department
    await voice_ticket.run(flow, Node(id="directory-message", kind="action",
                                      action="voice_ticket", params=params))


class DirectoryMissed:
    """AGI route "directory-missed": dialplan/directory.conf rang the entry and nobody
    answered (or the line was busy); the caller is offered a message for it."""

    def __init__(self, services: Services) -> None:
        self.services = services

    async def handle(self, agi: AgiSession) -> None:
        flow = await CallFlow.start(agi, self.services)
        await flow.set_route(v.CALL_ROUTE_DIRECTORY, v.ROUTE_CLOSED)
        entry = await agi.get_variable(v.DIRECTORY_ENTRY) or ""
        item = self.services.directory.by_id.get(int(entry)) if entry.isdigit() else None
        await flow.play("directory-no-answer")
        await leave_message(flow, item)
        await flow.play("goodbye")
        await agi.set_variable(v.ROUTE_VAR, v.ROUTE_DONE)
