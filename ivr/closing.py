"""Closing time: callers still waiting in the seats queue when office hours end are not
cut off. The bridge checks every [calls] closing_check_seconds; once the hotline is
closed (calendar, or `hotline mode closed`) it moves each caller still waiting with an
AMI Redirect to [hotline-queue-closing], where they leave a message for a callback in
their turn (ivr/modules/queue_callback.py).

Each caller is redirected once: a channel already redirected is remembered until it no
longer shows in the queue, so a slow Redirect is never sent twice. One that failed is
tried again on the next check.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

from hotline.db.base import utcnow
from ivr.services import Services
from pbx import ControlError, PbxControl
from pbx import names as v

log = logging.getLogger(__name__)


def plan(waiting: Iterable[str], redirected: set[str]) -> tuple[list[str], set[str]]:
    """Which waiting channels (by uniqueid) to redirect now, and the redirected set to
    keep: those still waiting (a redirect in progress), forgetting the ones gone."""
    waiting = list(waiting)
    still = redirected & set(waiting)
    return [u for u in waiting if u not in still], still


class ClosingHandover:
    def __init__(self, services: Services, control: PbxControl) -> None:
        self.services, self.control = services, control
        self._redirected: set[str] = set()

    async def check(self) -> None:
        """One look: if the hotline is closed, hand over whoever still waits."""
        if self.services.hours.is_open(utcnow()):
            return
        waiting = await self.waiting_callers()
        to_move, self._redirected = plan(waiting, self._redirected)
        for uniqueid in to_move:
            if await self._redirect(waiting[uniqueid]):
                self._redirected.add(uniqueid)

    async def waiting_callers(self) -> Mapping[str, str]:
        """uniqueid → channel of every caller waiting in the seats queue, in order."""
        return await self.control.waiting_callers()

    async def _redirect(self, channel: str) -> bool:
        try:
            await self.control.redirect(channel, v.QUEUE_CLOSING_CONTEXT)
        except ControlError as exc:
            # The caller may have hung up a moment ago; if not, the next check retries.
            log.warning("closing time: could not move %s out of the queue: %s", channel, exc)
            return False
        log.info("closing time: %s moved from the queue to the message path", channel)
        return True
