"""voice_ticket: the caller says their matter after a beep; it becomes a ticket with the
audio (messages, complaints, suggestions, appointments, mediation requests — Art. 5(3)-(5)).

The caller hears what they said and may record again. A caller who hangs up instead of
pressing # still leaves the matter: the ticket is made from what was recorded.

Node parameters: ticket_type (hotline.catalog.TICKET_TYPES), subtype (for appointments,
hotline.catalog.APPOINTMENT_KINDS), intro and closing (prompt ids), and department: the
department the matter is forwarded to at once (a message left for a department of the
telephone directory; hotline.directory.route_message).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hotline.catalog import APPOINTMENT_KINDS, TICKET_TYPES
from hotline.db import callwrites as w
from hotline.db.base import utcnow
from hotline.timefmt import utc_day_folder
from ivr import journaled
from ivr.callflow import CallFlow
from ivr.fastagi import AgiHangup
from ivr.menu import Node
from ivr.modules.common import announce_reference, check_known, check_prompts
from recordings import probe

ATTEMPTS = 3
MIN_SECONDS = 1.0
CONFIRM_TIMEOUT = 5.0


def check(params: Mapping[str, Any]) -> list[str]:
    problems = check_known(params, {"ticket_type", "subtype", "intro", "closing",
                                    "department", "confidential"})
    if not isinstance(params.get("confidential", False), bool):
        problems.append("field 'confidential': true or false")
    if params.get("ticket_type") not in TICKET_TYPES:
        problems.append(f"field 'ticket_type': {params.get('ticket_type')!r} is not one of "
                        f"{', '.join(TICKET_TYPES)}")
    if "subtype" in params and params["subtype"] not in APPOINTMENT_KINDS:
        problems.append(f"field 'subtype': {params['subtype']!r} is not one of "
                        f"{', '.join(APPOINTMENT_KINDS)}")
    return problems + check_prompts(params, "intro") + check_prompts(params, "closing",
                                                                      required=False)


async def run(flow: CallFlow, node: Node) -> str | None:
    base = _audio_name(flow, node)
    relative = ""
    try:
        relative = await _record_until_confirmed(flow, node, base)
    except AgiHangup:
        if await _has_audio(flow, base):
            await _file_ticket(flow, node, f"{base}.wav", hung_up=True)
        raise
    if not relative:
        return None
    reference = await _file_ticket(flow, node, relative)
    await announce_reference(flow, reference, node.params.get("closing", ""))
    return None


def _audio_name(flow: CallFlow, node: Node) -> str:
    day = utc_day_folder(utcnow())
    return f"{day}/{flow.call_id}-{node.id}"


async def _record_until_confirmed(flow: CallFlow, node: Node, base: str) -> str:
    """The recording's relative path once the caller accepts it, "" if nothing was said."""
    for _ in range(ATTEMPTS):
        await flow.play(node.params["intro"])
        probe = await flow.record(base, flow.services.settings.calls.message_max_seconds)
        if (probe.duration_seconds or 0) < MIN_SECONDS:
            await flow.play("record-empty")
            continue
        if await _confirmed(flow, base):
            return f"{base}.wav"
    return ""


async def _confirmed(flow: CallFlow, base: str) -> bool:
    key = await flow.play("record-playback", "12")
    key = key or await flow.play_recording(f"{base}.wav", "12")
    key = key or await flow.choose(["record-confirm"], CONFIRM_TIMEOUT)
    # No answer after hearing it back: the caller meant to leave it as it is.
    return key != "2"


async def _has_audio(flow: CallFlow, base: str) -> bool:
    found = probe(flow.recording_path(f"{base}.wav"))
    return (found.duration_seconds or 0) >= MIN_SECONDS


async def _file_ticket(flow: CallFlow, node: Node, relative: str, hung_up: bool = False) -> str:
    """The ticket, its reference; "" for a caller who has hung up: theirs is made behind the
    call (ivr/journaled.py), in the writer's next batch, as nobody hears it."""
    found = probe(flow.recording_path(relative))
    # The message's recording goes behind the call as every call fact does: queued just
    # before the ticket, it is in the same batch and transaction (ivr/writebehind.py), as a
    # few batched rows rather than two statements of the job's own.
    writer = flow.services.writer
    writer.write(w.recording(flow.call_id, relative, "message"),
                 w.finish_recording(flow.call_id, relative, found.status,
                                    found.duration_seconds, found.size_bytes))
    values = {"ticket_type": node.params["ticket_type"], "subtype": node.params.get("subtype", ""),
              "caller_number": flow.caller_number, "call_id": flow.call_id,
              "audio_path": relative, "menu_node": node.id, "hung_up": "yes" if hung_up else "no",
              "court_id": flow.court_id, "department": str(node.params.get("department", "")),
              "confidential": bool(node.params.get("confidential", False))}
    if hung_up:
        writer.later_journaled(journaled.VOICE_MESSAGE, flow.call_id, values)
        return ""
    # The caller is told the reference: it must exist first (one short wait, batched).
    settings = flow.services.settings
    reference: str = await writer.run(
        lambda session: journaled.file_voice_message(settings, session, values))
    return reference
