"""The wallboard (大屏) in Chromium, with everything real: `hotline console` asks the real
Asterisk for its seats queue, a registered SIPp seat rings unanswered, and a SIPp caller
waits in the queue. The board shows the caller the moment Asterisk has them, and the seat
as Asterisk has it — nothing here is written to the database by the test."""

from __future__ import annotations

import asyncio
from pathlib import Path

from playwright.async_api import Page, expect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agent_console.texts import LEADER
from hotline.settings import Settings
from tests.integration import sipp
from tests.integration.test_desk import CONSOLE, ensure_user, log_in, page
from tests.integration.test_queue_caller import busy_seat, call

__all__ = ["busy_seat", "page"]

CALLER = "13912368140"  # this test's own


async def test_the_wallboard_shows_a_caller_entering_asterisks_queue(
        busy_seat: None, console: None, settings: Settings, page: Page,
        sessions: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    await ensure_user(sessions, "wb-leader", LEADER, "大屏院领导", "")
    await log_in(page, "wb-leader")
    await page.goto(f"{CONSOLE}/wallboard")
    await expect(page.locator("#wb-source")).to_have_text("排队与座席：交换机实时状态",
                                                          timeout=10000)
    await expect(page.locator("#wb-waiting")).to_have_text("0")
    signed_in = int(await page.locator("#wb-signed").inner_text())
    assert signed_in >= 1  # the ringing seat the fixture put in the queue

    # The seat's phone rings and nobody answers: the caller waits until they hang up.
    caller = asyncio.create_task(call(sipp.speak(15), CALLER, tmp_path))
    try:
        await expect(page.locator("#wb-waiting")).to_have_text("1", timeout=20000)
        await expect(page.locator("#wb-longest")).to_contain_text("秒")
    finally:
        result = await caller
    assert result.returncode == 0, result.output
    await expect(page.locator("#wb-waiting")).to_have_text("0", timeout=10000)
