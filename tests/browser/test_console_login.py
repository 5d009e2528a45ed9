"""The console in a real browser: Debian's Chromium driven by Playwright, against
`hotline console` started as its own process on a free loopback port and a temp SQLite
database. Playwright never downloads a browser here; Chromium comes from apt
(scripts/setup.sh)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from hotline.db.migrate import upgrade
from hotline.settings import REPO_ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--lang=zh-CN"]
SCREENSHOT = Path("/tmp/console-login.png")
PASSWORD = "secret-12368"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _hotline(env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cli", *argv], env=env, cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=60, check=True)


def _wait_until_up(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"`hotline console` exited ({server.returncode}):\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/login", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"`hotline console` did not answer at {url}:\n{log.read_text()}")


def console_site(tmp_path_factory: pytest.TempPathFactory, name: str
                 ) -> tuple[Path, dict[str, str]]:
    """A data folder of its own with a migrated SQLite database, and the environment that
    points `hotline console` (and `hotline` commands) at it, on a free loopback port."""
    data = tmp_path_factory.mktemp(name)
    env = {**os.environ, "HOTLINE_PATHS_DATA_DIR": str(data),
           "HOTLINE_DATABASE_URL": f"sqlite:///{data / 'hotline.db'}",
           "HOTLINE_CONSOLE_HOST": "127.0.0.1", "HOTLINE_CONSOLE_PORT": str(_free_port()),
           "HOTLINE_NEW_PASSWORD": PASSWORD}
    upgrade(env["HOTLINE_DATABASE_URL"])
    return data, env


@contextmanager
def serving_console(env: dict[str, str], data: Path) -> Iterator[str]:
    """`hotline console` as its own process, on env's data folder, database and loopback
    port (HOTLINE_CONSOLE_PORT), until the block ends: its URL once it answers. Its output
    goes to console.log in `data`, shown when it fails to start."""
    log = data / "console.log"
    with log.open("wb") as out:
        server = subprocess.Popen([sys.executable, "-m", "cli", "console"], env=env,
                                  cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{env['HOTLINE_CONSOLE_PORT']}"
        _wait_until_up(url, server, log)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=15)


@pytest.fixture(scope="module")
def console_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data, env = console_site(tmp_path_factory, "console")
    _hotline(env, "user", "add", "zhang", "--role", "agent", "--name", "张三",
             "--extension", "8001")
    with serving_console(env, data) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium "
                    "(apt-get install chromium fonts-wqy-microhei, as scripts/setup.sh does)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale="zh-CN")
    try:
        yield context.new_page()
    finally:
        context.close()


def _log_in(page: Page, url: str, password: str = PASSWORD, username: str = "zhang") -> None:
    page.goto(f"{url}/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()


def test_an_agent_logs_in_and_is_greeted_with_their_role(page: Page, console_url: str) -> None:
    _log_in(page, console_url)

    # An agent with a seat phone starts at the desk; with no PBX reachable the desk says so.
    expect(page).to_have_url(f"{console_url}/desk")
    expect(page.get_by_role("heading", level=1)).to_have_text("座席工作台")
    expect(page.locator("#pbx-state")).to_have_text("交换机未连接")
    page.goto(f"{console_url}/")
    expect(page.get_by_role("heading")).to_have_text("您好，张三！")
    expect(page.locator("strong.role")).to_have_text("座席员")
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert SCREENSHOT.stat().st_size > 0


def test_an_agent_sees_the_403_page_on_the_admin_pages(page: Page, console_url: str) -> None:
    _log_in(page, console_url)

    response = page.goto(f"{console_url}/admin/users")

    assert response is not None and response.status == 403
    expect(page.get_by_role("heading")).to_have_text("403 无权访问")
    expect(page.locator("p.error")).to_have_text("您的角色无权访问此页面。")


def test_a_wrong_password_shows_the_chinese_error(page: Page, console_url: str) -> None:
    _log_in(page, console_url, password="wrong-password")

    expect(page.get_by_role("alert")).to_have_text("用户名或密码错误，请重新输入。")
    expect(page.get_by_label("用户名")).to_have_value("zhang")
    expect(page.get_by_label("密码")).to_have_value("")


def test_five_wrong_passwords_lock_the_name_with_a_chinese_message(
        page: Page, console_url: str) -> None:
    for _ in range(5):  # a name of its own: the other tests' user stays unlocked
        _log_in(page, console_url, password="wrong-password", username="wang")

    expect(page.get_by_role("alert")).to_contain_text("登录失败次数过多，已暂时禁止登录，请于")
    expect(page.get_by_label("用户名")).to_have_value("wang")
