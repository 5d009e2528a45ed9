"""What other parts want done when an SMS is delivered (e.g. the tickets part closes the
ticket this SMS answered). A hook runs inside the transaction that marks the message
delivered, so both are saved together or not at all; a hook that raises rolls the receipt
back and the gateway delivers it again later.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.db.models import SmsMessage

DeliveryHook = Callable[[AsyncSession, SmsMessage], Awaitable[object]]

_hooks: list[DeliveryHook] = []


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
