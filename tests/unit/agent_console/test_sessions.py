"""How logins end: the absolute lifetime, a new password, POST /api/logout, and an
administrator logging a user out everywhere (page, API and `hotline user logout`)."""

from __future__ import annotations

import argparse
from datetime import timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agent_console import accounts, cli
from agent_console.texts import MESSAGES
from hotline.db.base import run_once, session_scope, utcnow
from hotline.db.migrate import upgrade
from hotline.settings import Settings

from .conftest import ADMIN_NAME, AGENT_NAME, PASSWORD, Clock, csrf_of, log_in


async def _token(client: httpx.AsyncClient, username: str = AGENT_NAME) -> dict[str, str]:
    response = await client.post("/api/login", json={"username": username,
                                                     "password": PASSWORD})
    assert response.status_code == 200
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def _agent_id(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with session_scope(sessions) as db:
        user = await accounts.get_user(db, AGENT_NAME)
        assert user is not None
        return user.id


async def test_a_busy_session_and_token_still_end_after_the_absolute_lifetime(
        client: httpx.AsyncClient, clock: Clock) -> None:
    await log_in(client)
    headers = await _token(client)

    for _ in range(5):  # used every 2 hours: never idle
        clock.advance(hours=2)
        assert (await client.get("/")).status_code == 200
        assert (await client.get("/api/me", headers=headers)).status_code == 200
    clock.advance(hours=2)  # 12 hours after the login

    assert (await client.get("/")).headers["location"] == "/login"
    assert (await client.get("/api/me", headers=headers)).status_code == 401


async def test_api_logout_revokes_the_token_in_use_only(client: httpx.AsyncClient) -> None:
    first, second = await _token(client), await _token(client)

    response = await client.post("/api/logout", headers=first)

    assert response.status_code == 204
    assert (await client.get("/api/me", headers=first)).status_code == 401
    assert (await client.get("/api/me", headers=second)).status_code == 200


async def test_a_new_password_ends_every_session_and_token(
        client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]) -> None:
    await log_in(client)
    headers = await _token(client)

    async with session_scope(sessions) as db:
        await accounts.set_password(db, AGENT_NAME, "another-12368")

    assert (await client.get("/")).headers["location"] == "/login"
    assert (await client.get("/api/me", headers=headers)).status_code == 401


async def test_an_administrator_logs_a_user_out_everywhere(
        client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]) -> None:
    agent_id = await _agent_id(sessions)
    headers = await _token(client)
    await log_in(client)
    agent_csrf = csrf_of((await client.get("/")).text)
    refused = await client.post(f"/admin/users/{agent_id}/logout",
                                data={"csrf_token": agent_csrf})
    assert refused.status_code == 403, "an agent cannot log others out"

    admin = httpx.AsyncClient(transport=client._transport, base_url="http://testserver")
    await log_in(admin, ADMIN_NAME)
    page = await admin.get("/admin/users")
    assert f'action="/admin/users/{agent_id}/logout"' in page.text
    done = await admin.post(f"/admin/users/{agent_id}/logout",
                            data={"csrf_token": csrf_of(page.text)}, follow_redirects=True)

    assert MESSAGES["sessions_ended"].format(name=AGENT_NAME, count=2) in done.text
    assert (await client.get("/")).headers["location"] == "/login"
    assert (await client.get("/api/me", headers=headers)).status_code == 401
    assert (await admin.get("/")).status_code == 200, "the administrator stays logged in"

    await log_in(client)
    admin_token = await _token(client, ADMIN_NAME)
    api = await client.delete(f"/api/users/{agent_id}/sessions", headers=admin_token)
    assert api.status_code == 200 and api.json() == {"username": AGENT_NAME, "ended": 1}
    assert (await client.delete("/api/users/999999/sessions", headers=admin_token)
            ).status_code == 404
    await admin.aclose()


def test_hotline_user_logout(settings: Settings, monkeypatch: pytest.MonkeyPatch,
                             capsys: pytest.CaptureFixture[str]) -> None:
    upgrade(settings.database_url)
    parser = argparse.ArgumentParser(prog="hotline")
    cli.register(parser.add_subparsers(required=True))

    def run(*argv: str) -> int:
        args = parser.parse_args(argv)
        return int(args.func(settings, args))

    monkeypatch.setenv(cli.PASSWORD_VAR, PASSWORD)
    assert run("user", "add", AGENT_NAME, "--role", "agent") == 0
    lifetime = accounts.Lifetime(timedelta(hours=1), timedelta(hours=2))

    async def two_logins(db: AsyncSession) -> None:
        user = await accounts.get_user(db, AGENT_NAME)
        assert user is not None
        await accounts.open_session(db, user.id, utcnow(), lifetime)
        await accounts.issue_token(db, user.id, utcnow(), lifetime)
    run_once(settings.database_url, two_logins)

    assert run("user", "logout", "nobody") == 2
    assert "no user 'nobody'" in capsys.readouterr().err
    assert run("user", "logout", AGENT_NAME) == 0
    assert "zhang logged out: 2 sessions and tokens ended" in capsys.readouterr().out
    assert run("user", "logout", AGENT_NAME) == 0
    assert "zhang logged out: 0 sessions" in capsys.readouterr().out
