"""The voice menu finds the court from a case number the caller keys (issue 17), through
the real Asterisk with RFC 4733 keys from a SIPp caller: with two courts the list is asked
first; 9, then the digits of a case number. A number naming no court is asked again."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.db.base import session_scope
from hotline.db.courts import CourtFields, save_court
from hotline.db.models import Court
from hotline.settings import Settings
from ivr.main import ROUTING_REFRESH_SECONDS
from tests.integration import sipp
from tests.integration.conftest import BridgeProcess
from tests.integration.test_voice_menu import finished_call, go_when_heard, keys, prompts_of
from tests.integration.test_walking_skeleton import place_call, set_mode

Sessions = async_sessionmaker[AsyncSession]
XIGONG = "洛阳市西工区人民法院（热线测试）"


@pytest.fixture
async def two_courts(bridge: BridgeProcess, sessions: Sessions) -> AsyncIterator[int]:
    """A second court, 豫0303, beside the centre's (豫03) while the test runs: every other
    call of the run meets one court and no question."""
    async with session_scope(sessions) as db:
        centre = await db.get(Court, 1)
        assert centre is not None
        old_prefix = centre.case_prefix
        centre.case_prefix = "豫03"
        found = (await db.execute(select(Court.id).where(Court.name == XIGONG))).scalar()
        court = await save_court(db, CourtFields(XIGONG, "西工区法院", "豫0303"), found)
    await set_mode(sessions, "closed")
    await asyncio.sleep(2 * ROUTING_REFRESH_SECONDS)  # the bridge's CourtBook
    try:
        yield court.id
    finally:
        async with session_scope(sessions) as db:
            await db.execute(update(Court).where(Court.id == court.id).values(active=False))
            await db.execute(update(Court).where(Court.id == 1).values(case_prefix=old_prefix))
        await asyncio.sleep(2 * ROUTING_REFRESH_SECONDS)


async def test_a_caller_keys_a_case_number_and_the_call_is_that_courts(
        two_courts: int, settings: Settings, sessions: Sessions, tmp_path: Path) -> None:
    caller = "13700001701"
    steps = (sipp.wait_go(1) + sipp.key("9", 0)                   # 9 during the court list
             + sipp.wait_go(2) + keys("2026030112#")                # 豫0301's: not ours
             + sipp.wait_go(3) + keys("2026030312#")                # （2026）豫0303民初12号
             + sipp.wait_go(4) + sipp.quiet(0.5))
    placed = asyncio.create_task(place_call(settings, steps, tmp_path, caller=caller))
    await go_when_heard(sessions, caller, "court-menu", tmp_path, 1, settle=1.0)
    await go_when_heard(sessions, caller, "court-case-input", tmp_path, 2)
    await go_when_heard(sessions, caller, "court-case-retry", tmp_path, 3)
    await go_when_heard(sessions, caller, "welcome", tmp_path, 4)
    result = await placed
    assert result.returncode == 0, result.output

    call = await finished_call(sessions, caller)
    heard = prompts_of(call)
    assert heard[:4] == ["court-menu", "court-case-input", "court-case-retry", "welcome"]
    assert call.court_id == two_courts
    [chosen] = [e.detail for e in call.events if e.kind == "court"]
    assert chosen == {"court": str(two_courts), "name": "西工区法院", "by": "case number"}
    assert "2026030312" not in call.menu_path  # keyed numbers are never in the log
