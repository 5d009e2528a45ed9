"""knowledge: procedural questions answered from the knowledge base (Art. 5(2)) — the
same entries agents search in the console. Substantive legal questions are not answered:
key 9 tells the caller where to ask instead. As in every menu, * plays the topics again
and # goes back.

The menu sentence is made from the entries with a menu key, kept in memory by the bridge
(hotline.knowledge.KnowledgeMenu, refreshed every second when they change), so an
administrator's edit is heard from the next call on and no caller waits on the database
between a key and its answer. Node parameter: back (the node # returns to).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.db import tickets
from hotline.db.base import session_scope
from hotline.db.models import CENTRE_COURT_ID
from hotline.knowledge import KnowledgeItem
from ivr.callflow import CallFlow
from ivr.menu import Node
from ivr.modules.common import announce_reference, check_known

SUBSTANTIVE_KEY = "9"
TRIES = 3
TIMEOUT = 6.0
_CN_DIGITS = dict(zip("123456789", "一二三四五六七八九", strict=True))


def check(params: Mapping[str, Any]) -> list[str]:
    return check_known(params, {"back"})


async def run(flow: CallFlow, node: Node) -> str | None:
    menu = flow.services.knowledge
    if not menu.loaded:  # the bridge loads it before the first call; a bare Services not
        async with session_scope(flow.services.sessions) as session:
            await menu.refresh(session)
    entries = menu.entries
    if not entries:
        await flow.play("kb-empty")
        return None
    heard, back = await _topics(flow, entries)
    if back:
        return str(node.params.get("back", "")) or None
    reference = await _file_ticket(flow, heard)
    await announce_reference(flow, reference)
    return None


def menu_sentence(entries: Mapping[str, KnowledgeItem]) -> str:
    choices = [f"{e.title}请按{_CN_DIGITS[key]}" for key, e in sorted(entries.items())]
    return "，".join([*choices, "实体法律问题请按九", "重听请按星号", "返回主菜单请按井号"]) + "。"


async def _topics(flow: CallFlow,
                  entries: Mapping[str, KnowledgeItem]) -> tuple[list[str], bool]:
    """The topics the caller heard, and whether they asked to go back (#)."""
    heard: list[str] = []
    misses = repeats = 0
    await flow.play("kb-intro")
    while misses < TRIES:
        key = await flow.ask_text(menu_sentence(entries), "kb-menu", TIMEOUT)
        if key == "#":
            return heard, True
        if key == "*" and repeats < TRIES:
            repeats += 1
            continue
        if key == SUBSTANTIVE_KEY:
            await flow.play("kb-substantive")
            heard.append("实体法律问题")
        elif key in entries:
            heard.append(entries[key].title)
            if await _answer(flow, entries[key]) == "#":
                break
        else:
            misses += 1
    return heard, False


async def _answer(flow: CallFlow, entry: KnowledgeItem) -> str:
    """Speak one answer; the caller may hear it again (1), go back to the topics (*) or
    finish (#)."""
    for _ in range(TRIES):
        key = await flow.speak(entry.answer, f"kb-answer:{entry.title}", "1*#")
        key = key or await flow.choose(["kb-after"], TIMEOUT)
        if key != "1":
            return key
    return ""


async def _file_ticket(flow: CallFlow, heard: list[str]) -> str:
    async def create(session: AsyncSession) -> str:
        ticket = await tickets.create_ticket(
            session, "consultation", flow.caller_number, flow.call_id,
            text="；".join(heard) or "（未选择）", detail={"answered_by": "voice menu"},
            timezone=flow.services.settings.hours.timezone,
            court_id=flow.court_id or CENTRE_COURT_ID)
        ticket.status = "answered"
        return ticket.reference
    reference = await flow.services.writer.run(create)  # told to the caller: it must exist
    flow.log("ticket", {"reference": reference, "type": "consultation"})
    return reference
