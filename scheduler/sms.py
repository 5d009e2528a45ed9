"""The sms job: every [sms] poll_seconds, one pass of hotline.sms.sender.

The driver lives as long as the scheduler process, so the SMPP driver's session stays
bound between passes: receipts and inbound messages wait in its socket until the next pass
reads them (a few seconds), and the session is bound again by the first pass after a drop.
Everything else is in the database, so a late, repeated or interrupted pass loses nothing.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from hotline import caller_sms
from hotline.settings import Settings
from hotline.sms import make_driver
from hotline.sms.sender import Sender

if TYPE_CHECKING:  # scheduler.jobs lists this job
    from scheduler.jobs import Context, Job

log = logging.getLogger("scheduler")


class SmsPass:
    """The job's function: one sender, made on the first run, kept for the process."""

    def __init__(self) -> None:
        self.sender: Sender | None = None

    async def __call__(self, ctx: Context) -> str | None:
        if self.sender is None:
            # Import the parts that react to deliveries (their hooks register on import).
            _load_delivery_hooks()
            driver = make_driver(ctx.settings.sms, caller_sms.signature(ctx.settings))
            self.sender = Sender(ctx.settings.sms, driver, ctx.sessions, ctx.clock)
        return (await self.sender.run_once()).summary()

    async def close(self) -> None:
        """Unbind from the gateway (the process's exit does it too)."""
        if self.sender is not None:
            await self.sender.driver.close()


def sms_job(settings: Settings) -> Job:
    from scheduler.jobs import Job

    return Job("sms", settings.sms.poll_seconds, SmsPass())


def _load_delivery_hooks() -> None:
    from hotline import progress, ratings, sms

    # A caller's 1, 2 or 3 answering a rating ask is a rating, not an SMS for the inbox.
    sms.register_inbound_hook(ratings.take_sms_reply)
    # A reference texted by a caller asks its matter's progress (hotline.progress).
    sms.register_inbound_hook(progress.take_sms_query)

    try:
        from hotline import tickets
    except ModuleNotFoundError:  # a site without the tickets part: nothing to close
        log.warning("hotline.tickets not found: delivered SMS close no tickets")
        return
    sms.register_delivery_hook(tickets.close_on_delivered)
