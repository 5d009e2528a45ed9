"""ivr.modules.queue_callback: the caller's turn, and the names the dialplan shares."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hotline.db.base import utcnow
from ivr.modules.queue_callback import CALLBACK_NODE, queued_at_from
from ivr.modules.voice_ticket import check
from pbx import DIALPLAN_DIR
from pbx import names as v


def test_queued_at_is_the_dialplan_epoch() -> None:
    assert queued_at_from("1795747054.5") == datetime.fromtimestamp(1795747054.5, UTC)


@pytest.mark.parametrize("garbled", [None, "", "soon", "1e400", "nan", "0"])
def test_a_missing_queue_time_counts_from_now(garbled: str | None) -> None:
    assert utcnow() - queued_at_from(garbled) < timedelta(seconds=5)


def test_the_callback_message_is_a_valid_voice_ticket() -> None:
    assert check(CALLBACK_NODE.params) == []


def test_dialplan_spells_the_queue_names_as_the_bridge() -> None:
    queue = (DIALPLAN_DIR / "queue.conf").read_text()
    for name in (v.QUEUED_AT, v.QUEUE_POSITION):
        assert f"Set({name}=" in queue or f"${{{name}}}" in queue, name
    assert f"[{v.QUEUE_CLOSING_CONTEXT}]" in queue
    assert "agi://${HOTLINE_AGI}/queue-offer" in queue
    assert "agi://${HOTLINE_AGI}/queue-closing" in queue
