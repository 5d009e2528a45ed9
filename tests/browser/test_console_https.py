"""The console serving HTTPS itself (issue 16), in Debian's Chromium: `hotline console cert`
makes a self-signed certificate, `hotline console` serves it and its plain-HTTP redirect port,
a browser (told to accept the self-signed certificate) logs in, and the session cookie is
Secure and HSTS is sent. The health check `hotline status` and `up` run accepts the
console's certificate."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect, sync_playwright

from cli.health import console_problems
from hotline import tls
from hotline.db.migrate import upgrade
from hotline.settings import REPO_ROOT, load_settings
from tests.browser.test_console_login import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PASSWORD,
    _free_port,
    _hotline,
)


class Console:
    def __init__(self, env: dict[str, str], port: int, redirect_port: int) -> None:
        self.env = env
        self.url = f"https://127.0.0.1:{port}"
        self.redirect_url = f"http://127.0.0.1:{redirect_port}"


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    data = tmp_path_factory.mktemp("console-https")
    port, redirect_port = _free_port(), _free_port()
    env = {**os.environ, "HOTLINE_PATHS_DATA_DIR": str(data),
           "HOTLINE_DATABASE_URL": f"sqlite:///{data / 'hotline.db'}",
           "HOTLINE_CONSOLE_HOST": "127.0.0.1", "HOTLINE_CONSOLE_PORT": str(port),
           "HOTLINE_NEW_PASSWORD": PASSWORD}
    upgrade(env["HOTLINE_DATABASE_URL"])
    _hotline(env, "user", "add", "zhao", "--role", "admin", "--name", "赵六")
    _hotline(env, "console", "cert", "--name", "localhost", "--name", "127.0.0.1")
    env |= {"HOTLINE_CONSOLE_TLS_CERT": "tls/console.crt",
            "HOTLINE_CONSOLE_TLS_KEY": "tls/console.key",
            "HOTLINE_CONSOLE_HTTP_REDIRECT_PORT": str(redirect_port)}
    log = data / "console.log"
    with log.open("wb") as out:
        server = subprocess.Popen([sys.executable, "-m", "cli", "console"], env=env,
                                  cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT)
    try:
        up = Console(env, port, redirect_port)
        _wait_until_up(up, server, log)
        yield up
    finally:
        server.terminate()
        server.wait(timeout=15)


def _wait_until_up(up: Console, server: subprocess.Popen[bytes], log: Path) -> None:
    context = tls.client_context(tls.TlsFiles(Path(up.env["HOTLINE_PATHS_DATA_DIR"]) /
                                              "tls/console.crt", Path("unused")))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"`hotline console` exited ({server.returncode}):\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{up.url}/login", timeout=1, context=context):
                return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"`hotline console` did not answer at {up.url}:\n{log.read_text()}")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def test_a_browser_logs_in_over_https_with_a_secure_cookie_and_hsts(
        console: Console, browser: Browser) -> None:
    context = browser.new_context(locale="zh-CN", ignore_https_errors=True)
    try:
        page = context.new_page()
        # The plain-HTTP port sends the browser on to HTTPS.
        first = page.goto(f"{console.redirect_url}/login")
        assert page.url == f"{console.url}/login"
        assert first is not None
        assert first.headers["strict-transport-security"] == "max-age=31536000"
        page.get_by_label("用户名").fill("zhao")
        page.get_by_label("密码").fill(PASSWORD)
        page.get_by_role("button", name="登录").click()

        expect(page.locator(".account .who")).to_have_text("赵六（管理员）")
        assert page.url.startswith(f"{console.url}/")
        [session] = [c for c in context.cookies() if c["name"] == "hotline_console"]
        assert session["secure"] and session["httpOnly"]
    finally:
        context.close()


def test_the_health_check_accepts_the_consoles_own_certificate(console: Console) -> None:
    """What `hotline status` and `hotline up` ask: the console's pid is the test's server
    (its pid file), its https address answers with the configured certificate."""
    assert console_problems(load_settings(env=console.env)) == []


def test_a_wrong_key_stops_the_start_naming_the_setting(console: Console) -> None:
    env = {**console.env, "HOTLINE_CONSOLE_TLS_KEY": "tls/console.crt"}
    done = subprocess.run([sys.executable, "-m", "cli", "console"], env=env, cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "[console] tls_key = " in done.stderr
    assert "not the unencrypted PEM private key" in done.stderr
