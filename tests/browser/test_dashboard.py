"""The leader's dashboard in real Chromium at 1366×768: the charts are drawn by the
console's own copy of Apache ECharts (no CDN), with Chinese labels, and nothing the page
loads is refused by its Content-Security-Policy."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import create_engine, insert

from hotline.db.base import make_engine, make_sessionmaker, session_scope, sync_url
from hotline.db.models import Call, CallEvent
from tests.unit.reports import month

from .test_console_login import (
    PASSWORD,
    _hotline,
    browser,
    console_site,
    serving_console,
)
from .test_pages import _faults

__all__ = ["browser"]

SCREENSHOT = Path("/tmp/console-dashboard.png")
OCTOBER = "period=month&first=2026-10-01&last=2026-10-31"


async def _fill(url: str) -> None:
    engine = make_engine(url)
    try:
        async with session_scope(make_sessionmaker(engine)) as session:
            await month.add_month(session)
            month.add_menu_calls(session)
    finally:
        await engine.dispose()


DATABASES: dict[str, str] = {}  # console URL → its database URL


@pytest.fixture(scope="module")
def dashboard_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data, env = console_site(tmp_path_factory, "console-dashboard")
    # Playwright's own event loop may already run in this thread (the browser fixture).
    with ThreadPoolExecutor(1) as worker:
        worker.submit(asyncio.run, _fill(env["HOTLINE_DATABASE_URL"])).result()
    _hotline(env, "user", "add", "lead", "--role", "leader", "--name", "王院长")
    with serving_console(env, data) as url:
        DATABASES[url] = env["HOTLINE_DATABASE_URL"]
        yield url


@pytest.fixture
def screen(browser) -> Iterator[Page]:  # type: ignore[no-untyped-def]
    context = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 768})
    try:
        yield context.new_page()
    finally:
        context.close()


def _log_in(screen: Page, url: str) -> None:
    screen.goto(f"{url}/login")
    screen.get_by_label("用户名").fill("lead")
    screen.get_by_label("密码").fill(PASSWORD)
    screen.get_by_role("button", name="登录").click()
    expect(screen.get_by_role("button", name="退出登录")).to_be_visible()


def _caller_joins_the_queue(database: str) -> None:
    """What the call tracker writes when a caller enters the seats queue."""
    engine = create_engine(sync_url(database))
    now = datetime.now(UTC)
    try:
        with engine.begin() as connection:
            connection.execute(insert(Call.__table__), [{
                "id": "live-1", "caller_number": "13900000000", "channel": "", "route": "queue",
                "menu_path": "", "agent": "", "source": "live", "disposition": "",
                "started_at": now - timedelta(seconds=8)}])
            connection.execute(insert(CallEvent.__table__), [{
                "call_id": "live-1", "kind": "queue", "detail": {},
                "at": now - timedelta(seconds=5)}])
    finally:
        engine.dispose()


def test_the_wallboard_updates_when_a_caller_enters_the_queue(
        screen: Page, dashboard_url: str) -> None:
    _log_in(screen, dashboard_url)
    screen.goto(f"{dashboard_url}/wallboard")
    expect(screen.locator("#wb-state")).to_have_text("实时更新中")
    expect(screen.locator("#wb-waiting")).to_have_text("0")

    _caller_joins_the_queue(DATABASES[dashboard_url])

    expect(screen.locator("#wb-waiting")).to_have_text("1", timeout=10000)
    expect(screen.locator("#wb-longest")).to_contain_text("秒")
    expect(screen.locator("#wb-overdue")).not_to_have_text("—")


def test_the_leaders_dashboard_draws_its_charts_with_chinese_labels(
        screen: Page, dashboard_url: str) -> None:
    refused: list[str] = []
    screen.on("console", lambda m: refused.append(m.text) if m.type == "error" else None)
    missing: list[str] = []
    screen.on("response", lambda r: missing.append(r.url) if r.status >= 400 else None)
    _log_in(screen, dashboard_url)

    screen.goto(f"{dashboard_url}/dashboard?{OCTOBER}")

    expect(screen.get_by_role("heading", level=1)).to_have_text("统计分析 · 2026年10月")
    outcome = screen.locator("#chart-outcome svg")
    expect(outcome).to_be_visible()
    expect(outcome.locator("text", has_text="转人工来电结果")).to_have_count(1)
    expect(outcome.locator("text", has_text="人工接通")).not_to_have_count(0)
    heat = screen.locator("#chart-heat svg")
    expect(heat.locator("text", has_text="周二")).to_have_count(1)
    box = outcome.bounding_box()
    assert box is not None and box["width"] > 200 and box["x"] + box["width"] <= 1366
    screen.screenshot(path=str(SCREENSHOT), full_page=True)
    # the browser asks for a /favicon.ico the console has none of; nothing else is missing
    assert [url for url in missing if not url.endswith("/favicon.ico")] == []
    assert [text for text in refused if "404" not in text] == []


def test_the_voice_menu_page_draws_its_charts_and_drills_down(
        screen: Page, dashboard_url: str, tmp_path: Path) -> None:
    errors: list[str] = []
    screen.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    _log_in(screen, dashboard_url)

    screen.goto(f"{dashboard_url}/dashboard/menu?{OCTOBER}")

    expect(screen.get_by_role("heading", level=1)).to_have_text("语音菜单 · 2026年10月")
    funnel = screen.locator("#chart-menu-funnel svg")
    expect(funnel.locator("text", has_text="语音菜单来电")).not_to_have_count(0)
    paths = screen.locator("#chart-menu-paths svg")
    expect(paths.locator("text", has_text="诉讼咨询")).to_have_count(1)
    expect(paths.locator("text", has_text="预约服务")).to_have_count(1)
    ends = screen.locator("#chart-menu-ends svg")
    expect(ends.locator("text", has_text="欢迎语时挂机")).to_have_count(1)
    width = screen.evaluate("document.documentElement.scrollWidth")
    assert width <= 1366, f"the page scrolls sideways: {width}px"
    screen.screenshot(path=str(tmp_path / "menu.png"), full_page=True)

    screen.locator("#menu-figures").get_by_role("link", name="8", exact=True).click()
    expect(screen.get_by_role("heading", name="语音菜单来电")).to_be_visible()
    expect(screen.locator("p.count")).to_have_text("共 8 条")
    assert [text for text in errors if "404" not in text] == []


def test_the_voice_menu_page_passes_the_consoles_page_sweep(
        browser, dashboard_url: str) -> None:  # type: ignore[no-untyped-def]
    """What issue 13's sweep (test_pages.py) asks of every page: fits 1366, no English, no
    ISO/UTC times, no JSON body, no serious axe-core violation — the page and a list."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 768},
                                  bypass_csp=True)  # so axe-core can be injected
    try:
        page = context.new_page()
        _log_in(page, dashboard_url)
        for address in (f"/dashboard/menu?{OCTOBER}",
                        f"/dashboard/menu?{OCTOBER}&set=entered:case-query"):
            page.goto(f"{dashboard_url}{address}")
            expect(page.locator("#chart-menu-ends svg")).to_be_visible()
            assert _faults(page) == [], address
    finally:
        context.close()
