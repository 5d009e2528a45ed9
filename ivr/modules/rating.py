"""rating (AGI route, dialplan [hotline-queue]): a seat's call ended with the agent hanging
up first and the caller still on the line (Queue's c option: QUEUESTATUS is CONTINUE).
One key rates the service: 1 满意, 2 基本满意, 3 不满意 (hotline.ratings).

A wrong key or none is asked once more, then goodbye with nothing stored. The call's one
recording (MixMonitor on the caller's channel, [hotline-entry]) runs on through it. The
rating is stored behind the call by the bridge's writer, in order after the call's own
writes (the seat that answered is known by then): the thanks never waits on the database.
"""

from __future__ import annotations

from hotline import ratings
from hotline.db.base import utcnow
from ivr.callflow import CallFlow
from ivr.fastagi import AgiSession
from ivr.services import Services

TRIES = 2
TIMEOUT = 6.0


class Rating:
    def __init__(self, services: Services) -> None:
        self.services = services

    async def handle(self, agi: AgiSession) -> None:
        flow = await CallFlow.start(agi, self.services)
        score = await self._ask(flow)
        if score is None:
            await flow.play("goodbye")
            return
        self._store(flow, score)
        await flow.play("rating-thanks")

    async def _ask(self, flow: CallFlow) -> int | None:
        prompt = "rating-ask"
        for _ in range(TRIES):
            score = ratings.score_of(await flow.ask_key(prompt, TIMEOUT))
            if score is not None:
                return score
            prompt = "rating-retry"
        return None

    def _store(self, flow: CallFlow, score: int) -> None:
        at, timezone = utcnow(), self.services.settings.hours.timezone
        flow.log("rating", {"score": score, "label": ratings.LABELS[score]}, path=False)
        self.services.writer.later(
            lambda session: ratings.rate_call(session, flow.call_id, score, at, timezone),
            f"call {flow.call_id}: rating {score}")
