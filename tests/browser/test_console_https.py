"""The console serving HTTPS itself (issue 16), in Debian's Chromium: `hotline console cert`
makes a self-signed certificate, `hotline console` serves it and its plain-HTTP redirect port
on a LAN address (a veth interface of this machine, not loopback), a browser (told to
accept the self-signed certificate) logs in, and the session cookie is Secure and HSTS is
sent. The health check `hotline status` and `up` run accepts the console's certificate."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect, sync_playwright

from agent_console import accounts
from agent_console.texts import ADMIN
from cli.health import console_problems
from cli.main import parser
from hotline import tls
from hotline.db.base import run_once
from hotline.db.migrate import upgrade
from hotline.settings import REPO_ROOT, SettingsError, load_settings
from tests.browser.test_console_login import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PASSWORD,
    _free_port,
)

# The server's "LAN" address, on one end of a veth pair named for this test (the kernel
# here has no dummy interfaces), removed after it.
LAN_DEVICE, LAN_PEER, LAN_ADDRESS = "https-lan0", "https-lan1", "10.216.88.1"


class Console:
    def __init__(self, env: dict[str, str], port: int, redirect_port: int) -> None:
        self.env = env
        self.port = port
        self.url = f"https://{LAN_ADDRESS}:{port}"
        self.redirect_url = f"http://{LAN_ADDRESS}:{redirect_port}"


@pytest.fixture(scope="module")
def lan_address() -> Iterator[str]:
    subprocess.run(["ip", "link", "add", LAN_DEVICE, "type", "veth", "peer", "name", LAN_PEER],
                   check=True)
    try:
        subprocess.run(["ip", "addr", "add", f"{LAN_ADDRESS}/32", "dev", LAN_DEVICE],
                       check=True)
        for device in (LAN_DEVICE, LAN_PEER):
            subprocess.run(["ip", "link", "set", device, "up"], check=True)
        yield LAN_ADDRESS
    finally:
        subprocess.run(["ip", "link", "del", LAN_DEVICE], check=False)


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory, lan_address: str) -> Iterator[Console]:
    data = tmp_path_factory.mktemp("console-https")
    port, redirect_port = _free_port(), _free_port()
    env = {**os.environ, "HOTLINE_PATHS_DATA_DIR": str(data),
           "HOTLINE_DATABASE_URL": f"sqlite:///{data / 'hotline.db'}",
           "HOTLINE_CONSOLE_HOST": lan_address, "HOTLINE_CONSOLE_PORT": str(port),
           "HOTLINE_NEW_PASSWORD": PASSWORD}
    upgrade(env["HOTLINE_DATABASE_URL"])
    run_once(env["HOTLINE_DATABASE_URL"],
             lambda db: accounts.add_user(db, "zhao", PASSWORD, ADMIN, "赵六"))
    # In this process (a `hotline` process costs seconds): the command as the CLI parses it.
    assert _command(env, "console", "cert", "--name", "hotline.court.example",
                    "--name", lan_address) == 0
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


def test_it_listens_on_the_lan_address_alone(console: Console) -> None:
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", console.port), timeout=5).close()


def test_the_health_check_accepts_the_consoles_own_certificate(console: Console) -> None:
    """What `hotline status` and `hotline up` ask: the console's pid is the test's server
    (its pid file), its https address answers with the configured certificate."""
    assert console_problems(load_settings(env=console.env)) == []


def test_a_wrong_key_stops_the_start_naming_the_setting(console: Console) -> None:
    env = {**console.env, "HOTLINE_CONSOLE_TLS_KEY": "tls/console.crt"}
    with pytest.raises(SettingsError, match=r"\[console\] tls_key = .*console.crt: not the "
                                            r"unencrypted PEM private key"):
        _command(env, "console")


def _command(env: dict[str, str], *argv: str) -> int:
    args = parser(argv[0]).parse_args(argv)
    return int(args.func(load_settings(env=env), args))
