"""The console's JSON API: bearer tokens, /api/me, the admin-only user list, OpenAPI."""

from __future__ import annotations

import hashlib

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agent_console.texts import MESSAGES
from hotline.db.base import session_scope
from hotline.db.models import ApiToken

from .conftest import ADMIN_NAME, AGENT_NAME, PASSWORD, Clock, log_in


async def _token(client: httpx.AsyncClient, username: str = AGENT_NAME) -> dict[str, str]:
    response = await client.post("/api/login", json={"username": username,
                                                     "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    return {"Authorization": f"Bearer {body['access_token']}"}


async def test_openapi_is_served_under_api(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/openapi.json")

    assert response.status_code == 200
    schema = response.json()
    assert {"/api/login", "/api/me", "/api/users"} <= set(schema["paths"])
    assert not any(not path.startswith("/api/") for path in schema["paths"]), "pages stay out"
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


async def test_a_token_login_then_me(client: httpx.AsyncClient) -> None:
    headers = await _token(client)

    response = await client.get("/api/me", headers=headers)

    assert response.status_code == 200
    assert response.json() == {"username": "zhang", "display_name": "张三", "role": "agent",
                               "role_label": "座席员", "extension": "8001", "active": True}


async def test_a_wrong_password_and_an_unknown_user_get_the_same_401(
        client: httpx.AsyncClient) -> None:
    wrong = await client.post("/api/login", json={"username": AGENT_NAME, "password": "x" * 9})
    unknown = await client.post("/api/login", json={"username": "nobody", "password": "x" * 9})

    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json() == {"detail": MESSAGES["bad_credentials"]}


async def test_the_api_refuses_a_missing_or_unknown_token_with_401(
        client: httpx.AsyncClient) -> None:
    for headers in ({}, {"Authorization": "Bearer not-a-token"}):
        response = await client.get("/api/me", headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json() == {"detail": MESSAGES["login_required"]}


async def test_the_user_list_is_for_administrators_only(client: httpx.AsyncClient) -> None:
    refused = await client.get("/api/users", headers=await _token(client))
    assert refused.status_code == 403 and refused.json() == {"detail": MESSAGES["role"]}

    response = await client.get("/api/users", headers=await _token(client, ADMIN_NAME))

    assert response.status_code == 200
    assert [u["username"] for u in response.json()] == ["admin", "zhang"]
    assert "password_hash" not in response.json()[0]


async def test_a_token_lapses_when_left_idle(client: httpx.AsyncClient, clock: Clock) -> None:
    headers = await _token(client)

    clock.advance(minutes=200)
    assert (await client.get("/api/me", headers=headers)).status_code == 200
    clock.advance(minutes=481)
    assert (await client.get("/api/me", headers=headers)).status_code == 401


async def test_tokens_are_stored_only_as_their_sha256(
        client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]) -> None:
    token = (await _token(client))["Authorization"].removeprefix("Bearer ")

    async with session_scope(sessions) as db:
        stored = (await db.scalars(select(ApiToken.token_hash))).all()
    assert stored == [hashlib.sha256(token.encode()).hexdigest()]


async def test_the_browser_session_works_on_the_api_too(client: httpx.AsyncClient) -> None:
    await log_in(client)

    response = await client.get("/api/me")

    assert response.status_code == 200 and response.json()["username"] == AGENT_NAME
    assert (await client.get("/api/users")).status_code == 403
