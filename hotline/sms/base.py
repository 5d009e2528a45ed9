"""The one interface every SMS driver has, and what a driver reports back.

A driver sends one message at a time and returns the gateway's id of each part. Gateways
that report back (SMPP keeps a session) hand over receipts and inbound messages through
poll(); the sender stores them, then calls ack() so the gateway may forget them: a crash
in between makes the gateway deliver them again rather than lose them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


class SendError(Exception):
    """The gateway did not take the message; the sender tries again later.

    gateway_down: the gateway could not be reached at all (not this message's fault): the
    message waits without limit, and the rest of the pass waits with it.
    """

    def __init__(self, reason: str, *, gateway_down: bool = False) -> None:
        super().__init__(reason)
        self.gateway_down = gateway_down


@dataclass(frozen=True)
class Receipt:
    """The gateway's word on one part it sent: delivered, or not deliverable."""

    provider_id: str
    delivered: bool
    state: str  # the gateway's stat: DELIVRD, UNDELIV, EXPIRED, REJECTD, ...
    at: datetime
    token: object = field(default=None, compare=False)


@dataclass(frozen=True)
class Inbound:
    """An SMS a caller sent to the court's number."""

    from_number: str
    to_number: str
    text: str
    at: datetime
    token: object = field(default=None, compare=False)


Event = Receipt | Inbound


class SmsDriver(Protocol):
    name: str
    # False for the outbox driver: messages stay queued and the console says why.
    sends: bool

    async def send(self, to: str, text: str, *, message_id: int) -> list[str]:
        """Hand the message to the gateway; the gateway's id of each part. Raises
        SendError when it was not taken (nothing else)."""
        ...

    async def poll(self) -> list[Event]:
        """Receipts and inbound messages that arrived since the last poll."""
        ...

    async def ack(self, events: list[Event]) -> None:
        """Tell the gateway these events are stored."""
        ...

    async def close(self) -> None:
        ...
