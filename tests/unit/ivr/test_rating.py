"""ivr.modules.rating: one key after a seat's call, against a scripted AGI session (a unit
test of one piece) and a real database; and the dialplan that sends the caller there."""

from __future__ import annotations

from sqlalchemy import select

from hotline.db.base import session_scope
from hotline.db.models import Rating as RatingRow
from ivr.modules.rating import Rating
from ivr.services import Services
from pbx import DIALPLAN_DIR
from tests.unit.ivr.test_entry import CALL, FakeAgi, the_call


async def _ratings(services: Services) -> list[RatingRow]:
    await services.writer.flush()
    async with session_scope(services.sessions) as session:
        return list((await session.execute(select(RatingRow))).scalars())


async def test_a_wrong_key_is_asked_again_then_the_rating_is_stored_behind_the_call(
        services: Services) -> None:
    agi = FakeAgi(data_replies=[("9", False), ("2", False)])

    await Rating(services).handle(agi)  # type: ignore[arg-type]

    assert agi.prompts() == ["rating-ask", "rating-retry", "rating-thanks"]
    [rating] = await _ratings(services)
    assert (rating.channel, rating.score, rating.call_id) == ("call", 2, CALL)
    call = await the_call(services)
    assert call.menu_path == "", "a rating is no menu choice"
    assert [e.detail["score"] for e in call.events if e.kind == "rating"] == ["2"]


async def test_no_key_twice_is_goodbye_and_nothing_stored(services: Services) -> None:
    agi = FakeAgi()

    await Rating(services).handle(agi)  # type: ignore[arg-type]

    assert agi.prompts() == ["rating-ask", "rating-retry", "goodbye"]
    assert await _ratings(services) == []


def test_the_queue_asks_only_when_the_agent_hung_up_first() -> None:
    queue = (DIALPLAN_DIR / "queue.conf").read_text()
    options = queue.split("Queue(seats,", 1)[1].split(",", 1)[0]
    # c: the caller goes on in the dialplan when the seat hangs up (QUEUESTATUS CONTINUE).
    assert "c" in options
    assert '"${QUEUESTATUS}" = "CONTINUE"]?rating)' in queue
    assert "(rating),AGI(agi://${HOTLINE_AGI}/rating," in queue
