"""Attention in a real browser (Debian's Chromium, Playwright): a duty judge with any console
page open is told of a new consultation and a new notice — the chime (WebAudio) and the
desktop notification of static/notices.js — without reloading. The page's timers run on
Playwright's clock, so the 20 s poll is stepped over, not waited for."""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from playwright.sync_api import Page, expect, sync_playwright
from sqlalchemy.ext.asyncio import AsyncSession

from agent_console import accounts
from hotline.db.base import run_once
from hotline.db.consultations import send_consultation
from hotline.db.migrate import upgrade
from hotline.notify import notify
from tests.browser.test_console_login import (
    CHROMIUM,
    CHROMIUM_ARGS,
    _free_port,
    serving_console,
)

PASSWORD = "secret-12368"


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """`hotline console` on a free port; its URL and database URL."""
    data = tmp_path_factory.mktemp("console")
    port = _free_port()
    url_db = f"sqlite:///{data / 'hotline.db'}"
    env = {**os.environ, "HOTLINE_PATHS_DATA_DIR": str(data), "HOTLINE_DATABASE_URL": url_db,
           "HOTLINE_CONSOLE_HOST": "127.0.0.1", "HOTLINE_CONSOLE_PORT": str(port)}
    upgrade(url_db)

    async def staff(db: AsyncSession) -> None:
        await accounts.add_user(db, "wangfg", PASSWORD, "duty_judge", "王法官", "8101")
        await accounts.add_user(db, "lisi", PASSWORD, "agent", "李四", "8001")
    run_once(url_db, staff)
    with serving_console(env, data) as url:
        yield url, url_db


@pytest.fixture
def page() -> Iterator[Page]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                    args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1366, "height": 768})
            yield context.new_page()
        finally:
            browser.close()


def poll_again(page: Page) -> None:
    """Step the page's clock past its next poll and wait until that poll has finished."""
    page.evaluate("document.body.dataset.attention = ''")
    page.clock.run_for(21_000)
    expect(page.locator("body")).to_have_attribute("data-attention", "polled")


def test_a_judge_is_told_of_a_new_consultation_and_a_notice_without_reloading(
        console: tuple[str, str], page: Page) -> None:
    url, url_db = console
    page.clock.install()
    page.goto(f"{url}/login")
    page.fill("input[name=username]", "wangfg")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("body")).to_have_attribute("data-attention", "polled")
    poll_again(page)
    assert page.evaluate("window.hotlineAlerts || []") == [], "nothing new, nothing said"

    async def news(db: AsyncSession) -> None:
        judge = await accounts.get_user(db, "wangfg")
        agent = await accounts.get_user(db, "lisi")
        assert judge is not None and agent is not None
        await send_consultation(db, "立案需要什么材料？", agent.id, judge.id)
        await notify(db, judge, "consultation", "座席员李四发来一条咨询，请及时答复。")
    # Sync Playwright keeps an event loop on this thread: the database work runs on another.
    with ThreadPoolExecutor(1) as other:
        other.submit(run_once, url_db, news).result()
    poll_again(page)

    titles = sorted(a["title"] for a in page.evaluate("window.hotlineAlerts"))
    assert titles == ["新的座席员咨询", "新通知"]
    expect(page.locator("#notice-count")).to_have_text("（1）")
