"""Steps several voice-menu actions share: telling the caller their reference number, and
the lock-out of numbers that guess codes (case query, progress by reference)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hotline import cases
from hotline.db.base import utcnow
from hotline.prompts import manifest
from ivr import say
from ivr.callflow import CallFlow


async def announce_reference(flow: CallFlow, reference: str, closing: str = "") -> None:
    """受理编号 read twice, digit by digit, then what happens next."""
    await flow.play("ticket-created")
    await flow.say(say.digits(reference))
    if closing:
        await flow.play(closing)
    await flow.play("reference-repeat")
    await flow.say(say.digits(reference))


def query_locked(flow: CallFlow) -> bool:
    """Whether the caller's number is locked out of queries now: from the bridge's memory
    (hotline.cases.QueryLockout), never a database read between a key and its answer."""
    return flow.services.lockout.locked(flow.caller_number, utcnow())


def note_query(flow: CallFlow, success: bool, what: str) -> None:
    """A code keyed right or wrong: counted at once in the bridge's lock-out, so the next
    try is judged with it; the row (and the alert on many failures from all numbers) is
    written behind the call."""
    now, number, settings = utcnow(), flow.caller_number, flow.services.settings
    flow.services.lockout.note(number, success, now)

    async def note(session: AsyncSession) -> None:
        if success:
            await cases.note_success(session, number)
            return
        await cases.note_failure(session, number, now)
        await cases.watch_failure_rate(session, settings, now)
    flow.services.writer.later(note, f"call {flow.call_id}: {what}")


def check_prompts(params: Mapping[str, Any], *names: str, required: bool = True) -> list[str]:
    """Problems with prompt-id parameters (missing, or not in the manifest)."""
    known = set(manifest())
    problems = []
    for name in names:
        value = params.get(name)
        if value is None:
            if required:
                problems.append(f"field {name!r}: required")
        elif value not in known:
            problems.append(f"field {name!r}: no prompt {value!r} in the prompt manifest")
    return problems


def check_known(params: Mapping[str, Any], allowed: set[str]) -> list[str]:
    unknown = sorted(set(params) - allowed)
    return [f"unknown field(s) {unknown}"] if unknown else []
