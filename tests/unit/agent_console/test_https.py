"""The console behind HTTPS: the session cookie Secure and HSTS sent exactly when the
browser came over HTTPS (a trusted proxy's X-Forwarded-Proto here; the console's own TLS in
tests/browser/test_console_https.py), the redirect port, the address the health check dials."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agent_console.app import create_app
from agent_console.cli import redirect_app, uvicorn_config
from cli.health import console_url
from hotline.settings import ConsoleSettings, Settings

from .conftest import AGENT_NAME, PASSWORD, Clock, csrf_of

PROXY = "127.0.0.1"  # httpx's ASGI transport connects from here


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """The cookie does not depend on the database: SQLite alone."""
    return f"sqlite:///{tmp_path / 'db' / 'hotline.db'}"


async def _served(settings: Settings, sessions: async_sessionmaker[AsyncSession],
                  **console: object) -> AsyncIterator[httpx.AsyncClient]:
    """The app wrapped in uvicorn's middleware, as `hotline console` serves it."""
    settings = dataclasses.replace(settings,
                                   console=dataclasses.replace(settings.console, **console))
    config = uvicorn_config(settings, create_app(settings, sessions, clock=Clock()))
    config.load()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=config.loaded_app),
                                 base_url="http://hotline.court.example") as client:
        yield client


async def _log_in(client: httpx.AsyncClient) -> tuple[httpx.Response, httpx.Response]:
    """The login form and its answer. The cookie goes back by hand: httpx, like a browser,
    keeps a Secure cookie from a plain-HTTP address (the proxy's side here)."""
    form = await client.get("/login")
    nonce = form.headers["set-cookie"].split(";")[0]
    done = await client.post("/login", headers={"Cookie": nonce}, data={
        "username": AGENT_NAME, "password": PASSWORD, "csrf_token": csrf_of(form.text)})
    return form, done


@pytest.mark.parametrize(("trusted", "proto", "over_tls"), [
    ((), None, False),  # the loopback default: plain HTTP
    ((PROXY,), "https", True),  # a TLS proxy the console trusts
    ((), "https", False),  # anybody can send the header: not trusted, not believed
    ((PROXY,), "http", False),  # the trusted proxy itself was reached over plain HTTP
])
async def test_secure_cookie_and_hsts_exactly_over_https(
        settings: Settings, sessions: async_sessionmaker[AsyncSession], staff: None,
        trusted: tuple[str, ...], proto: str | None, over_tls: bool) -> None:
    headers = {"X-Forwarded-Proto": proto, "X-Forwarded-For": "10.9.8.7"} if proto else {}
    async for client in _served(settings, sessions, trusted_proxies=trusted):
        client.headers.update(headers)
        form, logged_in = await _log_in(client)

    assert logged_in.status_code == 303
    for response in (form, logged_in):
        cookie = response.headers["set-cookie"]
        assert ("; secure" in cookie.lower()) is over_tls, cookie
        assert ("strict-transport-security" in response.headers) is over_tls
    if over_tls:
        assert form.headers["strict-transport-security"] == "max-age=31536000"


async def test_secure_cookies_forces_secure_on_plain_http(
        settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> None:
    async for client in _served(settings, sessions, secure_cookies=True):
        form = await client.get("/login")
    assert "; secure" in form.headers["set-cookie"].lower()
    assert "strict-transport-security" not in form.headers


@pytest.mark.parametrize(("https_port", "asked", "location"), [
    (8368, "http://hotline.court.example:8369/desk?x=1",
     "https://hotline.court.example:8368/desk?x=1"),
    (443, "http://10.1.2.3/login", "https://10.1.2.3/login"),
    (8368, "http://[fd00::5]:8369/", "https://[fd00::5]:8368/"),
])
async def test_the_redirect_port_sends_every_request_to_https(
        https_port: int, asked: str, location: str) -> None:
    transport = httpx.ASGITransport(app=redirect_app(https_port))
    async with httpx.AsyncClient(transport=transport) as client:
        for method in ("GET", "POST"):
            response = await client.request(method, asked)
            assert response.status_code == 308  # a form's POST stays a POST
            assert response.headers["location"] == location


@pytest.mark.parametrize(("host", "tls_cert", "dial", "url"), [
    ("127.0.0.1", "", False, "http://127.0.0.1:8368/login"),
    ("0.0.0.0", "c.pem", True, "https://127.0.0.1:8368/login"),
    ("0.0.0.0", "c.pem", False, "https://0.0.0.0:8368/login"),
    ("::", "c.pem", True, "https://[::1]:8368/login"),
    ("10.1.2.3", "c.pem", True, "https://10.1.2.3:8368/login"),
])
def test_the_console_url(host: str, tls_cert: str, dial: bool, url: str) -> None:
    console = ConsoleSettings(host=host, tls_cert=tls_cert, tls_key=tls_cert)
    settings = dataclasses.replace(Settings(), console=console)
    assert console_url(settings, "/login", dial=dial) == url
