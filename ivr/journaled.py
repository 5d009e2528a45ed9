"""The writer's jobs that outlive the bridge: work nobody waits for that must not be lost.

A job handed to the writer (ivr/writebehind.py, WriteBehind.later) is a function in memory:
a bridge killed before its batch is committed would lose it. The jobs here go into the
journal instead, by name and with plain values, like the call facts around them, and are
run from there, after a kill -9 too. A caller who hangs up after leaving a voice message
is the one such case: nobody hears the ticket's reference, so it need not be committed
before the call ends — behind the call, in the writer's next batch (issue 12: a
transaction for each such ticket cost the bridge as much CPU as a call's other writes).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.db import callwrites, tickets
from hotline.db.models import CENTRE_COURT_ID
from hotline.directory import route_message
from hotline.settings import Settings
from hotline.tickets import make_confidential
from ivr.writebehind import WriteBehind

VOICE_MESSAGE = "voice-message"


async def file_voice_message(settings: Settings, session: AsyncSession,
                             values: dict[str, Any]) -> str:
    """A voice message's ticket (ivr/modules/voice_ticket.py), its reference. values:
    ticket_type, subtype, caller_number, call_id, audio_path, menu_node, hung_up ("yes" or
    "no"), court_id (or None), department ("" for none) and confidential."""
    ticket = await tickets.create_ticket(
        session, values["ticket_type"], values["caller_number"], values["call_id"],
        audio_path=values["audio_path"], subtype=values["subtype"],
        detail={"menu_node": values["menu_node"], "hung_up": values["hung_up"]},
        timezone=settings.hours.timezone, court_id=values["court_id"] or CENTRE_COURT_ID)
    if values["department"]:
        await route_message(session, settings, ticket, values["department"])
    if values["confidential"]:
        # a complaint about the court's staff (issue 15): hidden from everyone but the
        # discipline department and administrators, forwarded to it at once
        await make_confidential(session, settings, ticket, None)
    # the call's log says a matter was filed (reports/menu.py counts them), in the same
    # transaction as the ticket
    await callwrites.apply(session, [callwrites.event(
        values["call_id"], "ticket", {"reference": ticket.reference,
                                      "type": values["ticket_type"]})])
    return ticket.reference


def register(writer: WriteBehind, settings: Settings) -> None:
    writer.register(VOICE_MESSAGE, partial(file_voice_message, settings))
