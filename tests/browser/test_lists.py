"""Lists that find things, in real Chromium at 1366×768 against `hotline console` as its own
process: a department handler finds a matter by its reference and replies to it; an agent
finds a call in the call list by the caller's number and plays its recording (the play is
in the access log), while a call they did not answer shows no player."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

import pbx
from hotline.db import calls, consultations
from hotline.db.base import make_engine, make_sessionmaker, session_scope
from hotline.db.migrate import upgrade
from hotline.db.models import CallEvent, Department, Recording, RecordingAccess, User
from hotline.db.tickets import create_ticket
from hotline.settings import REPO_ROOT, load_settings
from tests.conftest import write_wav

from .test_console_login import PASSWORD, _free_port, _hotline, _wait_until_up, browser

__all__ = ["browser"]

T = TypeVar("T")
CALLER = "13812345678"
START = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def lists_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    data = tmp_path_factory.mktemp("console-lists")
    port = _free_port()
    env = {**os.environ, "HOTLINE_PATHS_DATA_DIR": str(data),
           "HOTLINE_DATABASE_URL": f"sqlite:///{data / 'hotline.db'}",
           "HOTLINE_CONSOLE_HOST": "127.0.0.1", "HOTLINE_CONSOLE_PORT": str(port),
           "HOTLINE_NEW_PASSWORD": PASSWORD, "HOTLINE_PBX_MODE": "sandbox",
           "HOTLINE_PBX_SANDBOX_DIR": str(data / "sandbox"), "LISTS_URL": f"http://127.0.0.1:{port}"}
    upgrade(env["HOTLINE_DATABASE_URL"])
    for name, role, display, extension in (("zhang", "agent", "张三", "8001"),
                                           ("zhao", "dept_handler", "赵专人", "8201"),
                                           ("qian", "dept_head", "钱庭长", ""),
                                           ("sun", "leader", "孙院长", ""),
                                           ("wu", "duty_judge", "吴法官", "8101")):
        _hotline(env, "user", "add", name, "--role", role, "--name", display,
                 *(["--extension", extension] if extension else []))
    _run(_seed(env))
    log = data / "console.log"
    with log.open("wb") as out:
        server = subprocess.Popen([sys.executable, "-m", "cli", "console"], env=env,
                                  cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_until_up(env["LISTS_URL"], server, log)
        yield env
    finally:
        server.terminate()
        server.wait(timeout=15)


def _run(work: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to its end from a test: in a thread of its own, because Playwright's
    sync API keeps an event loop running in this one."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, work).result()


async def _seed(env: dict[str, str]) -> None:
    """60 matters forwarded to 立案庭 (more than a page), and 30 calls: the 12th from
    CALLER, answered by 张三 and recorded; the 13th recorded but answered by nobody."""
    root = pbx.instance_for(load_settings(env)).recordings_dir
    engine = make_engine(env["HOTLINE_DATABASE_URL"])
    try:
        async with session_scope(make_sessionmaker(engine)) as db:
            users = {u.username: u for u in (await db.execute(select(User))).scalars()}
            department = Department(name="立案庭", handler_id=users["zhao"].id,
                                    head_id=users["qian"].id, leader_id=users["sun"].id)
            db.add(department)
            await db.flush()
            for n in range(60):
                ticket = await create_ticket(db, "complaint", f"1390000{n:04d}", None,
                                             text=f"第{n}件：立案窗口推诿",
                                             owner_id=users["zhang"].id,
                                             now=START + timedelta(minutes=n))
                ticket.department_id, ticket.forwarded_at = department.id, ticket.created_at
            for n in range(30):
                call_id = f"17960475{n:02d}.0"
                number = CALLER if n == 11 else f"1370000{n:04d}"
                await calls.ensure_call(db, call_id, caller_number=number, route="queue",
                                        started_at=START + timedelta(minutes=n),
                                        ended_at=START + timedelta(minutes=n, seconds=65),
                                        agent="张三" if n == 11 else "")
                if n in (11, 12):
                    relative = f"2026/11/30/{call_id}-0.wav"
                    write_wav(root / relative, 1.5)
                    db.add(Recording(call_id=call_id, path=relative, status="complete",
                                     duration_seconds=1.5))
            db.add(CallEvent(call_id="1796047511.0", kind="agent", at=START,
                             detail={"agent": "张三", "extension": "8001"}))
    finally:
        await engine.dispose()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 768})
    try:
        yield context.new_page()
    finally:
        context.close()


def _log_in(page: Page, url: str, username: str) -> None:
    page.goto(f"{url}/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("button", name="退出登录")).to_be_visible()


def _fits(page: Page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{page.url} scrolls {overflow}px sideways at 1366"


def test_a_handler_finds_a_matter_by_its_reference_and_replies(
        page: Page, lists_env: dict[str, str], tmp_path: Path) -> None:
    url = lists_env["LISTS_URL"]
    _log_in(page, url, "zhao")
    page.goto(f"{url}/handler")
    expect(page.locator("p.count")).to_contain_text("共 60 条")
    expect(page.locator("table.list tbody tr")).to_have_count(50)
    expect(page.get_by_role("navigation", name="分页")).to_be_visible()
    _fits(page)
    page.screenshot(path=str(tmp_path / "handler-list.png"), full_page=True)
    wanted = page.locator("table.list tbody tr").nth(37).locator("td").first.inner_text()

    page.get_by_label("搜索").fill(wanted)
    page.get_by_role("button", name="查询").click()
    expect(page.locator("p.count")).to_contain_text("共 1 条")
    page.get_by_role("link", name=wanted).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"事项 {wanted}")

    page.get_by_label("回复内容").fill("您反映的问题已转立案庭核实，窗口工作人员已整改。")
    page.get_by_role("button", name="短信回复").click()
    expect(page.get_by_role("status")).to_contain_text("回复短信已排队发送")
    page.screenshot(path=str(tmp_path / "handler-reply.png"), full_page=True)

    page.goto(f"{url}/handler?start=2026-13-01")
    expect(page.get_by_role("alert")).to_contain_text("开始日期格式不正确")
    expect(page.locator("p.count")).to_contain_text("共 60 条")


def test_the_call_list_finds_a_number_and_plays_a_recording_for_its_agent(
        page: Page, lists_env: dict[str, str], tmp_path: Path) -> None:
    url = lists_env["LISTS_URL"]
    _log_in(page, url, "zhang")
    page.goto(f"{url}/calls")
    expect(page.get_by_role("heading", level=1)).to_have_text("通话记录")
    expect(page.locator("p.count")).to_contain_text("共 30 条")
    _fits(page)
    # the unanswered recorded call (20261130-0013) shows that it was recorded, no player
    expect(page.locator("#call-20261130-0013 audio")).to_have_count(0)
    expect(page.locator("#call-20261130-0013")).to_contain_text("有录音")

    page.get_by_label("号码").fill("138-1234-5678")
    page.get_by_role("button", name="查询").click()
    expect(page.locator("p.count")).to_contain_text("共 1 条")
    row = page.locator("#call-20261130-0012")
    expect(row).to_contain_text(CALLER)
    expect(row).to_contain_text("1分05秒")
    audio = row.locator("audio")
    expect(audio).to_have_count(1)
    audio.evaluate("a => a.play()")
    page.wait_for_function(
        "() => { const a = document.querySelector('#call-20261130-0012 audio');"
        " return a.readyState >= 2 && !a.error; }")
    page.screenshot(path=str(tmp_path / "call-list.png"), full_page=True)

    async def plays() -> list[str]:
        engine = make_engine(lists_env["HOTLINE_DATABASE_URL"])
        try:
            async with session_scope(make_sessionmaker(engine)) as db:
                rows = await db.execute(select(RecordingAccess.action))
                return list(rows.scalars())
        finally:
            await engine.dispose()

    assert _run(plays()) == ["play"]
    page.get_by_role("link", name="20261130-0012").click()
    expect(page.locator("#call-number")).to_have_text("20261130-0012")


def test_a_new_matter_shows_on_the_handlers_open_list_without_reloading(
        page: Page, lists_env: dict[str, str], tmp_path: Path) -> None:
    """The list follows the database (server-sent events, listing.live_changes): a matter
    forwarded to 立案庭 while its handler's list is open shows in it, the page itself not
    reloaded; while the handler is typing in the filter bar, 列表有更新 says so instead and
    what was typed stays."""
    url = lists_env["LISTS_URL"]
    _log_in(page, url, "zhao")
    page.goto(f"{url}/handler?q=执行款")
    expect(page.locator("p.count")).to_contain_text("共 0 条")
    page.evaluate("window.sameDocument = true")

    async def forward(text: str) -> str:
        engine = make_engine(lists_env["HOTLINE_DATABASE_URL"])
        try:
            async with session_scope(make_sessionmaker(engine)) as db:
                department = (await db.execute(
                    select(Department).where(Department.name == "立案庭"))).scalar_one()
                ticket = await create_ticket(db, "complaint", "13900001111", None, text=text)
                ticket.department_id, ticket.forwarded_at = department.id, ticket.created_at
                return ticket.reference
        finally:
            await engine.dispose()

    first = _run(forward("执行款迟迟未到账"))
    expect(page.locator("p.count")).to_contain_text("共 1 条", timeout=15000)
    expect(page.get_by_role("link", name=first)).to_be_visible()
    assert page.evaluate("window.sameDocument === true"), "the page was reloaded"
    expect(page.locator("#live-notice")).to_be_hidden()
    page.screenshot(path=str(tmp_path / "handler-live.png"), full_page=True)

    page.get_by_label("搜索").fill("执行款 到账")
    second = _run(forward("执行款到账后又被退回"))
    notice = page.locator("#live-notice")
    expect(notice).to_be_visible(timeout=15000)
    expect(notice).to_contain_text("列表有更新")
    expect(page.get_by_role("link", name=second)).to_have_count(0)
    expect(page.get_by_label("搜索")).to_have_value("执行款 到账")
    notice.get_by_role("link", name="刷新").click()
    expect(page.locator("p.count")).to_contain_text("共 2 条")


def test_a_judge_typing_an_answer_is_told_of_a_new_consultation_and_keeps_the_text(
        page: Page, lists_env: dict[str, str]) -> None:
    """The judge's page follows the database too; a new consultation while an answer is
    being typed shows 列表有更新, not a reloaded list that would lose the answer."""
    url = lists_env["LISTS_URL"]

    async def consult(question: str) -> None:
        engine = make_engine(lists_env["HOTLINE_DATABASE_URL"])
        try:
            async with session_scope(make_sessionmaker(engine)) as db:
                people = {u.username: u.id for u in (await db.execute(select(User))).scalars()}
                await consultations.send_consultation(db, question, people["zhang"],
                                                      people["wu"], "13812345678")
        finally:
            await engine.dispose()

    _run(consult("当事人问：判决书何时送达？"))
    _log_in(page, url, "wu")
    page.goto(f"{url}/judge/consultations")
    expect(page.get_by_role("heading", name="待答复（1）")).to_be_visible()
    _run(consult("当事人问：能否延期开庭？"))
    expect(page.get_by_role("heading", name="待答复（2）")).to_be_visible(timeout=15000)
    expect(page.locator("#live-notice")).to_be_hidden()

    page.get_by_label("答复内容").first.fill("可以书面申请延期，由合议庭决定。")
    page.locator("body").click()  # typed, then left: still the judge's answer
    _run(consult("当事人问：保全费怎么交？"))
    expect(page.locator("#live-notice")).to_be_visible(timeout=15000)
    expect(page.get_by_role("heading", name="待答复（2）")).to_be_visible()
    expect(page.get_by_label("答复内容").first).to_have_value("可以书面申请延期，由合议庭决定。")
