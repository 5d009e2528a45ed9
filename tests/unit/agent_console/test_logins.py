"""Logging in under attack: the lock-out per username and per address, the login log that
administrators read, and login pages that cost the database nothing."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agent_console.app import create_app
from agent_console.cli import uvicorn_config
from agent_console.texts import MESSAGES
from hotline.db.base import Base, session_scope
from hotline.db.models import LoginAttempt
from hotline.settings import Settings

from .conftest import ADMIN_NAME, AGENT_NAME, PASSWORD, Clock, csrf_of, log_in

LOCKED_PREFIX = MESSAGES["login_locked"].split("{")[0]


@pytest.fixture
def app(settings: Settings, sessions: async_sessionmaker[AsyncSession], clock: Clock,
        staff: None) -> FastAPI:
    return create_app(settings, sessions, clock=clock)


@pytest.fixture
async def elsewhere(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A browser on another machine than `client`'s."""
    transport = httpx.ASGITransport(app=app, client=("10.1.2.3", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://testserver") as c:
        yield c


async def _api_login(client: httpx.AsyncClient, username: str = AGENT_NAME,
                     password: str = PASSWORD) -> httpx.Response:
    return await client.post("/api/login", json={"username": username, "password": password})


async def test_fifteen_wrong_passwords_then_the_right_one_is_refused(
        client: httpx.AsyncClient, clock: Clock) -> None:
    for _ in range(15):
        await log_in(client, password="wrong-password")

    page = await log_in(client)
    assert page.status_code == 429
    assert LOCKED_PREFIX in page.text and "2026-12-01 09:15" in page.text  # 01:00 UTC + 15'
    assert (await client.get("/")).headers["location"] == "/login", "not logged in"
    api = await _api_login(client)
    assert api.status_code == 429 and api.json()["detail"].startswith(LOCKED_PREFIX)
    assert 0 < int(api.headers["retry-after"]) <= 15 * 60

    clock.advance(minutes=15)
    assert (await log_in(client)).headers["location"] == "/desk", "the lock ends by itself"


async def test_the_fifth_failure_already_says_the_name_is_locked(
        client: httpx.AsyncClient, elsewhere: httpx.AsyncClient, clock: Clock) -> None:
    for _ in range(4):
        assert (await _api_login(client, password="wrong-password")).status_code == 401
    clock.advance(minutes=10)
    assert (await _api_login(client, password="wrong-password")).status_code == 429

    # The name is locked from any address; other names are not.
    assert (await _api_login(elsewhere)).status_code == 429
    assert (await _api_login(elsewhere, ADMIN_NAME)).status_code == 200


async def test_failures_spread_out_or_cleared_by_a_login_do_not_lock(
        client: httpx.AsyncClient, clock: Clock) -> None:
    for _ in range(4):
        await _api_login(client, password="wrong-password")
    assert (await _api_login(client)).status_code == 200, "the owner's login clears the count"
    for _ in range(4):
        await _api_login(client, password="wrong-password")
    clock.advance(minutes=16)
    for _ in range(4):
        await _api_login(client, password="wrong-password")
    assert (await _api_login(client)).status_code == 200


async def test_an_address_guessing_many_names_is_locked(
        client: httpx.AsyncClient, elsewhere: httpx.AsyncClient) -> None:
    for n in range(20):
        await _api_login(elsewhere, f"guess{n}", "wrong-password")

    assert (await _api_login(elsewhere)).status_code == 429, "even a right password"
    assert (await _api_login(client)).status_code == 200, "other addresses are not locked"


async def test_every_checked_login_is_logged_for_administrators(
        client: httpx.AsyncClient, elsewhere: httpx.AsyncClient,
        sessions: async_sessionmaker[AsyncSession]) -> None:
    await log_in(elsewhere, password="wrong-password")
    await _api_login(elsewhere, "nobody", "wrong-password")
    await log_in(client)

    async with session_scope(sessions) as db:
        rows = (await db.scalars(select(LoginAttempt).order_by(LoginAttempt.id))).all()
    assert [(r.username, r.address, r.success, r.via) for r in rows] == [
        (AGENT_NAME, "10.1.2.3", False, "form"), ("nobody", "10.1.2.3", False, "api"),
        (AGENT_NAME, "127.0.0.1", True, "form")]

    agent_api = await client.get("/api/logins")
    assert agent_api.status_code == 403, "an agent may not read the log"
    client.cookies.clear()
    await log_in(client, ADMIN_NAME)
    api = (await client.get("/api/logins", params={"address": "10.1.2.3"})).json()
    assert [(a["username"], a["success"], a["via"]) for a in api] == [
        ("nobody", False, "api"), (AGENT_NAME, False, "form")]
    page = await client.get("/admin/logins", params={"username": "nobody"})
    assert page.status_code == 200 and "<td>nobody</td><td>10.1.2.3</td>" in page.text
    assert f"<td>{AGENT_NAME}</td>" not in page.text
    assert '<a href="/admin/logins">登录记录</a>' in (await client.get("/")).text


async def test_login_pages_and_refused_forms_add_no_rows(
        client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]) -> None:
    async def rows() -> dict[str, int]:
        async with session_scope(sessions) as db:
            return {t.name: int(await db.scalar(select(func.count()).select_from(t)) or 0)
                    for t in Base.metadata.sorted_tables}

    before = await rows()
    for _ in range(10):
        client.cookies.clear()
        form = await client.get("/login")
        assert form.status_code == 200
        forged = await client.post("/login", data={"username": AGENT_NAME,
                                                   "password": PASSWORD, "csrf_token": "1.x"})
        assert forged.status_code == 403 and MESSAGES["form_expired"] in forged.text

    assert await rows() == before
    form = await client.get("/login")
    done = await client.post("/login", data={"username": AGENT_NAME, "password": PASSWORD,
                                             "csrf_token": csrf_of(form.text)})
    assert done.status_code == 303, "the signed token of the form still logs in"


async def test_a_login_form_token_is_bound_to_its_cookie_and_expires(
        client: httpx.AsyncClient, elsewhere: httpx.AsyncClient, clock: Clock) -> None:
    theirs = csrf_of((await elsewhere.get("/login")).text)
    await client.get("/login")
    form = {"username": AGENT_NAME, "password": PASSWORD}
    refused = await client.post("/login", data={**form, "csrf_token": theirs})
    assert refused.status_code == 403, "another browser's token is refused"

    token = csrf_of((await client.get("/login")).text)
    clock.advance(minutes=481)
    assert (await client.post("/login", data={**form, "csrf_token": token})).status_code == 403


@pytest.mark.parametrize("trusted", [(), ("127.0.0.1",)])
async def test_behind_a_trusted_proxy_the_browser_address_counts(
        settings: Settings, app: FastAPI, sessions: async_sessionmaker[AsyncSession],
        trusted: tuple[str, ...]) -> None:
    console = dataclasses.replace(settings.console, trusted_proxies=trusted)
    config = uvicorn_config(dataclasses.replace(settings, console=console), app)
    config.load()  # the app as `hotline console` serves it, with uvicorn's middleware
    transport = httpx.ASGITransport(app=config.loaded_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        await c.post("/api/login", json={"username": AGENT_NAME, "password": "wrong"},
                     headers={"X-Forwarded-For": "10.9.8.7"})

    async with session_scope(sessions) as db:
        address = await db.scalar(select(LoginAttempt.address))
    assert address == ("10.9.8.7" if trusted else "127.0.0.1")
