"""One seat, two users, everything real (issue 18): 李四 is signed in on seat 8001; the
administrator moves 8001 to 赵六 through the API, which takes the seat out of the queue,
and 赵六 signs in at the desk. Asterisk's queue must then name 赵六, and the next call the seat answers is 赵六's — in the call
record, in the agent event the recording permission reads, and so in the figures."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agent_console import accounts
from agent_console.texts import ADMIN, AGENT
from hotline.db.base import session_scope
from hotline.settings import Settings
from tests.integration import sipp
from tests.integration.conftest import BridgeProcess
from tests.integration.test_desk import (
    AGENT_EXT,
    CONSOLE,
    PASSWORD,
    _until,
    done,
    ensure_user,
    phone,
)
from tests.integration.test_walking_skeleton import place_call, set_mode, wait_call

Sessions = async_sessionmaker[AsyncSession]


async def _client(username: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=CONSOLE)
    token = (await client.post("/api/login", json={"username": username,
                                                   "password": PASSWORD})).json()
    client.headers["Authorization"] = f"Bearer {token['access_token']}"
    return client


async def _presence(client: httpx.AsyncClient, action: str) -> str:
    reply = await client.post("/api/desk/presence", json={"action": action})
    assert reply.status_code == 200, reply.text
    return str(reply.json()["state"])


@pytest.fixture
async def seat_users(sessions: Sessions) -> AsyncIterator[dict[str, int]]:
    """李四 on seat 8001 (as test_desk has him), 赵六 without a seat, an administrator;
    8001 is 李四's again afterwards, for the other desk tests."""
    users = {name: (await ensure_user(sessions, name, role, label, ext)).id
             for name, role, label, ext in (("lisi", AGENT, "李四", AGENT_EXT),
                                            ("zhaoliu", AGENT, "赵六", ""),
                                            ("admin18", ADMIN, "管理员", ""))}
    yield users
    async with session_scope(sessions) as session:
        await accounts.set_extension(session, "lisi", AGENT_EXT, move=True)


async def test_the_second_user_signing_in_on_a_seat_answers_its_next_call(
        bridge: BridgeProcess, console: None, seat_users: dict[str, int], settings: Settings,
        sessions: Sessions, tmp_path: Path) -> None:
    await set_mode(sessions, "open")
    first, second, admin = (await _client("lisi"), await _client("zhaoliu"),
                            await _client("admin18"))
    try:
        with await phone(sessions, AGENT_EXT, 25481, tmp_path):
            assert await _presence(first, "sign_in") == "ready"
            await _until(lambda s: s.get("member") is True,
                         lambda: _seat(first))

            refused = await admin.put("/api/users/zhaoliu/extension",
                                      json={"extension": AGENT_EXT})
            assert refused.status_code == 422 and "李四" in refused.text
            moved = await admin.put("/api/users/zhaoliu/extension",
                                    json={"extension": AGENT_EXT, "move": True})
            assert moved.status_code == 200, moved.text
            # 李四's seat is out of the queue at once, not ringing under his name.
            await _until(lambda s: s.get("member") is False, lambda: _seat(second))

            assert await _presence(second, "sign_in") == "ready"
            await _until(lambda s: s.get("member") is True and not s.get("paused"),
                         lambda: _seat(second))
            result = await place_call(settings, sipp.speak(10), tmp_path)
            assert result.returncode == 0, result.output
            call = await wait_call(sessions, done)
    finally:
        await second.post("/api/desk/presence", json={"action": "sign_out"})
        for client in (first, second, admin):
            await client.aclose()
        await set_mode(sessions, "closed")

    assert call.route == "queue" and call.agent == "赵六"
    agent = [e.detail for e in call.events if e.kind == "agent"]
    assert agent == [{"agent": "赵六", "extension": AGENT_EXT,
                      "user_id": str(seat_users["zhaoliu"])}]


async def _seat(client: httpx.AsyncClient) -> dict[str, object]:
    return dict((await client.get("/api/desk/state")).json()["seat"])
