"""The embedded default: nothing leaves the machine. Messages stay queued and the console's
outbox page says they are waiting because no gateway is configured."""

from __future__ import annotations

from hotline.sms.base import Event, SendError


class OutboxDriver:
    name = "outbox"
    sends = False
    takes_pushed = False

    async def send(self, to: str, text: str, *, message_id: int, kind: str = "",
                   params: dict[str, str] | None = None) -> list[str]:
        raise SendError("not sent: outbox driver (no SMS gateway configured)")

    async def poll(self) -> list[Event]:
        return []

    async def ack(self, events: list[Event]) -> None:
        return None

    async def close(self) -> None:
        return None
