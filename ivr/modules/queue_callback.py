"""queue-offer and queue-closing: a caller who waited in the seats queue and cannot be
answered now keeps their turn — they leave a message and are called back in the order
they joined the queue (a "callback" ticket whose queued_at is that moment).

queue-offer (AGI route, dialplan [hotline-queue-offer]): the longest wait has passed.
Key 1: the message. Key 2: back into the queue at the position they left (if the
hotline is still open). No key or another key: asked again, three times in all, then the
message — nobody is left waiting in silence.

queue-closing (AGI route, dialplan [hotline-queue-closing]): office hours ended while the
caller waited; the bridge redirected them here (ivr/closing.py). Straight to the message.
"""

from __future__ import annotations

from datetime import datetime

from hotline.callid import epoch_utc
from hotline.db import tickets
from hotline.db.base import utcnow
from ivr.callflow import CallFlow
from ivr.fastagi import AgiHangup, AgiSession
from ivr.menu import Node
from ivr.modules import voice_ticket
from ivr.services import Services
from pbx import names as v

TRIES = 3
TIMEOUT = 6.0
KEY_MESSAGE = "1"
KEY_WAIT = "2"
# voice_ticket's parameters for a callback request; the node id names the audio file.
CALLBACK_NODE = Node(id="queue-callback", kind="action", action="voice_ticket",
                     params={"ticket_type": tickets.CALLBACK, "intro": "callback-intro",
                             "closing": "callback-next-day"})


class QueueCallback:
    def __init__(self, services: Services) -> None:
        self.services = services

    async def offer(self, agi: AgiSession) -> None:
        flow = await CallFlow.start(agi, self.services)
        if await self._choice(flow) == KEY_WAIT and self.services.hours.is_open(utcnow()):
            await self._keep_waiting(flow)
            return
        await self.leave_message(flow)

    async def closing(self, agi: AgiSession) -> None:
        flow = await CallFlow.start(agi, self.services)
        await flow.play("queue-closing")
        await self.leave_message(flow)

    async def _choice(self, flow: CallFlow) -> str:
        prompt = "queue-offer"
        for _ in range(TRIES):
            key = await flow.choose([prompt], TIMEOUT)
            if key in (KEY_MESSAGE, KEY_WAIT):
                return key
            prompt = "queue-offer-retry"
        return KEY_MESSAGE

    async def _keep_waiting(self, flow: CallFlow) -> None:
        # Asterisk told us where the caller stood when the wait timed out.
        position = await flow.agi.get_variable(v.QUEUE_POSITION_LEFT) or ""
        await flow.play("queue-keep-waiting")
        await flow.agi.set_variable(v.QUEUE_POSITION, position if position.isdigit() else "")
        await flow.set_route(v.CALL_ROUTE_QUEUE, v.ROUTE_QUEUE)
        flow.log("queue-wait", {"position": position})

    async def leave_message(self, flow: CallFlow) -> None:
        """The voice message as a callback ticket, stamped with the caller's turn."""
        await flow.agi.set_variable(v.ROUTE_VAR, v.ROUTE_DONE)
        queued_at = await self._queued_at(flow)
        try:
            await voice_ticket.run(flow, CALLBACK_NODE)
        except AgiHangup:
            await self._stamp(flow, queued_at)  # a hung-up caller's message keeps its turn too
            raise
        await self._stamp(flow, queued_at)
        await flow.play("goodbye")

    async def _queued_at(self, flow: CallFlow) -> datetime:
        return queued_at_from(await flow.agi.get_variable(v.QUEUED_AT))

    async def _stamp(self, flow: CallFlow, queued_at: datetime) -> None:
        # Behind the ticket (the same writer, after it), not in the caller's way.
        self.services.writer.later(
            lambda session: tickets.note_queued_at(session, flow.call_id, queued_at),
            f"call {flow.call_id}: the callback's turn")


def queued_at_from(epoch: str | None) -> datetime:
    """The dialplan's ${EPOCH} when the caller joined; now if it is missing or garbled
    (the caller then keeps at least the turn of this moment)."""
    return epoch_utc(epoch) or utcnow()
