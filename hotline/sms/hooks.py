"""What other parts want done when an SMS is delivered (e.g. the tickets part closes the
ticket this SMS answered). A hook runs inside the transaction that marks the message
delivered, so both are saved together or not at all; a hook that raises rolls the receipt
back and the gateway delivers it again later.

Inbound hooks are offered each SMS a caller sends, in the transaction that stores it; the
first that takes it as its own (returns True: a rating reply, hotline.ratings) ends its
way there, and the message needs no agent's reply. None taking it, it is an SMS for the
inbox as before.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # hotline.sms is imported by every process's settings check at start
    from sqlalchemy.ext.asyncio import AsyncSession

    from hotline.db.models import SmsMessage

DeliveryHook = Callable[["AsyncSession", "SmsMessage"], Awaitable[object]]
InboundHook = Callable[["AsyncSession", "SmsMessage"], Awaitable[bool]]

_hooks: list[DeliveryHook] = []
_inbound_hooks: list[InboundHook] = []


def register_delivery_hook(hook: DeliveryHook) -> DeliveryHook:
    """Call `hook(session, message)` whenever an outgoing SMS is marked delivered. Usable
    as a decorator; registering the same function twice keeps one."""
    if hook not in _hooks:
        _hooks.append(hook)
    return hook


def unregister_delivery_hook(hook: DeliveryHook) -> None:
    if hook in _hooks:
        _hooks.remove(hook)


async def on_delivered(session: AsyncSession, message: SmsMessage) -> None:
    for hook in list(_hooks):
        await hook(session, message)


def register_inbound_hook(hook: InboundHook) -> InboundHook:
    """Offer `hook(session, message)` every inbound SMS; it returns True when it took the
    message. Registering the same function twice keeps one."""
    if hook not in _inbound_hooks:
        _inbound_hooks.append(hook)
    return hook


def unregister_inbound_hook(hook: InboundHook) -> None:
    if hook in _inbound_hooks:
        _inbound_hooks.remove(hook)


async def on_inbound(session: AsyncSession, message: SmsMessage) -> bool:
    """Whether a hook took the message as its own."""
    for hook in list(_inbound_hooks):
        if await hook(session, message):
            return True
    return False
