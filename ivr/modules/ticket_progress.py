"""ticket_progress: the caller keys the reference of a matter they were told (受理编号) and
hears how it is going — received, forwarded to a department on a date with its reply
deadline, or answered on a date (issue 15; Art. 5(3)-(5)).

Only a call from the number that raised the matter hears it; from any other phone the
state goes by SMS to that number (hotline.progress), and the caller hears the same words
whether or not a matter was found. Wrong references are asked again, three tries, and
count towards the lock-out of case queries (hotline.cases): one budget of wrong codes per
number. What it reads is one indexed row; every write goes behind the call.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from hotline import progress
from hotline.db.base import session_scope, utcnow
from ivr import say
from ivr.callflow import CallFlow
from ivr.menu import Node
from ivr.modules.common import check_known, note_query, query_locked

TRIES = 3
INPUT_TIMEOUT = 10.0
MAX_DIGITS = 12


def check(params: Mapping[str, Any]) -> list[str]:
    return check_known(params, set())


async def run(flow: CallFlow, node: Node) -> str | None:
    if query_locked(flow):
        await flow.play("progress-locked")
        return None
    for attempt in range(TRIES):
        prompt = "progress-input" if attempt == 0 else "progress-retry"
        keyed = await flow.ask_number(prompt, INPUT_TIMEOUT, MAX_DIGITS)
        found = await _find(flow, keyed) if keyed else None
        if found is not None:
            await _answer(flow, found)
            return None
        if keyed:
            note_query(flow, False, "a matter's reference")
            if query_locked(flow):
                await flow.play("progress-locked")
                return None
    await flow.play("progress-failed")
    return None


async def _find(flow: CallFlow, keyed: str) -> progress.Progress | None:
    if not progress.valid_reference(keyed):
        return None
    async with session_scope(flow.services.sessions) as session:
        return await progress.find(session, keyed)


async def _answer(flow: CallFlow, found: progress.Progress) -> None:
    if progress.may_hear(found, flow.caller_number):
        note_query(flow, True, "a matter's reference")
        flow.log("progress", {"reference": found.reference, "state": found.state,
                              "told": "voice"})
        await _read(flow, found)
        return
    # Counts as a wrong code: it bounds the texts one phone can make us send.
    note_query(flow, False, "a matter's reference")
    _send(flow, found)
    await flow.play("progress-sms-to-owner")


async def _read(flow: CallFlow, found: progress.Progress) -> None:
    zone = ZoneInfo(flow.services.settings.hours.timezone)
    if found.state == progress.RECEIVED:
        await flow.play("progress-received")
        await flow.say(say.date_(found.at.astimezone(zone).date()))
    elif found.state == progress.FORWARDED:
        await flow.play("progress-forwarded")
        await flow.speak(found.department, "progress-department")
        await flow.play("progress-forwarded-on")
        await flow.say(say.date_(found.at.astimezone(zone).date()))
        if found.due is not None:
            await flow.play("progress-due")
            await flow.say(say.date_(found.due.astimezone(zone).date()))
    else:
        await flow.play("progress-answered")
        await flow.say(say.date_(found.at.astimezone(zone).date()))


def _send(flow: CallFlow, found: progress.Progress) -> None:
    settings = flow.services.settings

    async def queue(session: AsyncSession) -> None:
        await progress.send_by_sms(session, settings, found, utcnow(), call_id=flow.call_id)
    flow.services.writer.later(queue, f"call {flow.call_id}: the progress SMS")
    # Not the number it goes to: the call's log is read by staff of every role.
    flow.log("progress", {"reference": found.reference, "told": "sms to its number"})
