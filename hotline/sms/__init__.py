"""SMS, in and out, for every part of the hotline.

Anyone who wants an SMS sent queues it (hotline.db.sms.queue_sms) in their own transaction;
the scheduler's sms job (hotline.sms.sender) hands queued messages to the configured driver,
retries with backoff, and stores receipts and inbound messages. Parts that care when an SMS
arrives register a hook:

    from hotline.sms import register_delivery_hook

    @register_delivery_hook
    async def close_answered_ticket(session, message): ...
"""

from __future__ import annotations

from hotline.settings import SmsSettings
from hotline.sms.base import Event, Inbound, Receipt, SendError, SmsDriver
from hotline.sms.hooks import (
    on_delivered,
    on_inbound,
    register_delivery_hook,
    register_inbound_hook,
    unregister_delivery_hook,
    unregister_inbound_hook,
)

__all__ = ["Event", "Inbound", "Receipt", "SendError", "SmsDriver", "make_driver",
           "on_delivered", "on_inbound", "register_delivery_hook", "register_inbound_hook",
           "unregister_delivery_hook", "unregister_inbound_hook"]


def make_driver(settings: SmsSettings, signature: str = "") -> SmsDriver:
    """The driver [sms] driver names. signature: the court's 【…】, which a template
    provider wants apart from the text (hotline.caller_sms.signature)."""
    if settings.driver == "smpp":
        from hotline.sms.smpp_session import SmppDriver
        return SmppDriver(settings)
    if settings.driver == "http":
        from hotline.sms.http_api import HttpDriver
        return HttpDriver(settings, signature)
    from hotline.sms.outbox import OutboxDriver
    return OutboxDriver()
