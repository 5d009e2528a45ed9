"""The one interface every SMS driver has, and what a driver reports back.

A driver sends one message at a time and returns the gateway's id of each part. Gateways
that report back (SMPP keeps a session) hand over receipts and inbound messages through
poll(); the sender stores them, then calls ack() so the gateway may forget them: a crash
in between makes the gateway deliver them again rather than lose them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


class SendError(Exception):
    """The gateway did not take the message; the sender tries again later.

    gateway_down: the gateway could not be reached at all (not this message's fault): the
    message waits without limit, and the rest of the pass waits with it.
    permanent: no try can succeed (a kind with no template where the provider sends only
    templates): the message fails at once, with its alert.
    """

    def __init__(self, reason: str, *, gateway_down: bool = False,
                 permanent: bool = False) -> None:
        super().__init__(reason)
        self.gateway_down = gateway_down
        self.permanent = permanent


@dataclass(frozen=True)
class Receipt:
    """The gateway's word on one part it sent: delivered, or not deliverable."""

    provider_id: str
    delivered: bool
    state: str  # the gateway's stat: DELIVRD, UNDELIV, EXPIRED, REJECTD, ...
    at: datetime
    token: object = field(default=None, compare=False)
    # The provider's key of this report (HTTP): one key is stored once (sms_provider_events).
    key: str = field(default="", compare=False)


@dataclass(frozen=True)
class Inbound:
    """An SMS a caller sent to the court's number."""

    from_number: str
    to_number: str
    text: str
    at: datetime
    token: object = field(default=None, compare=False)
    key: str = field(default="", compare=False)


Event = Receipt | Inbound
RECEIPT, INBOUND = "receipt", "inbound"


def kind_of(event: Event) -> str:
    return RECEIPT if isinstance(event, Receipt) else INBOUND


def event_payload(event: Event) -> dict[str, Any]:
    """What sms_provider_events keeps of an event, to make it again (event_of)."""
    if isinstance(event, Receipt):
        return {"provider_id": event.provider_id, "delivered": event.delivered,
                "state": event.state}
    return {"from": event.from_number, "to": event.to_number, "text": event.text}


def event_of(kind: str, payload: dict[str, Any], key: str, at: datetime) -> Event:
    if kind == RECEIPT:
        return Receipt(str(payload["provider_id"]), bool(payload["delivered"]),
                       str(payload["state"]), at, key=key)
    return Inbound(str(payload["from"]), str(payload["to"]), str(payload["text"]), at, key=key)


class SmsDriver(Protocol):
    name: str
    # False for the outbox driver: messages stay queued and the console says why.
    sends: bool
    # True for http: the provider pushes receipts and inbound SMS to the console, which
    # keeps them (sms_provider_events) for the sender to store.
    takes_pushed: bool

    async def send(self, to: str, text: str, *, message_id: int, kind: str = "",
                   params: dict[str, str] | None = None) -> list[str]:
        """Hand the message to the gateway; the gateway's id of each part. Raises
        SendError when it was not taken (nothing else). kind and params: what the text
        was made from, for a gateway that sends by template (hotline.sms.templates)."""
        ...

    async def poll(self) -> list[Event]:
        """Receipts and inbound messages that arrived since the last poll."""
        ...

    async def ack(self, events: list[Event]) -> None:
        """Tell the gateway these events are stored."""
        ...

    async def close(self) -> None:
        ...
