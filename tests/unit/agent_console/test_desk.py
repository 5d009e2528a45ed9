"""agent_console.desk without a PBX: who may use the desk, and what a console that cannot
reach Asterisk answers. Queue and transfer actions against the real Asterisk are in
tests/integration/test_desk.py."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agent_console import accounts
from hotline.db import presence as presence_db
from hotline.db.base import session_scope
from tests.unit.agent_console.conftest import ADMIN_NAME, AGENT_NAME, Clock, log_in


async def test_the_desk_page_greets_the_agent_with_their_seat(client: httpx.AsyncClient) -> None:
    await log_in(client)

    page = await client.get("/desk")

    assert page.status_code == 200
    assert "座席工作台" in page.text and "<strong>8001</strong>" in page.text
    assert 'data-state="out"' in page.text, "nobody signed the agent in without a PBX"
    assert "今天没有安排值班法官" in page.text


async def test_the_desk_carries_the_log_form_the_kb_search_and_its_shortcuts(
        client: httpx.AsyncClient) -> None:
    await log_in(client)

    page = (await client.get("/desk")).text

    # The call log's fields and the knowledge-base search are on the desk itself.
    for name in ("caller_name", "caller_kind", "contact", "category", "question", "outcome"):
        assert f'name="{name}"' in page
    assert 'id="kb-q"' in page and 'role="search"' in page
    for key in ("F2", "F3", "F4", "Ctrl", "/"):
        assert f"<kbd>{key}</kbd>" in page
    assert 'id="queue-summary"' in page
    # Signed out: 签入 is the one presence button that can be pressed.
    assert 'id="btn-sign-in">' in page and 'id="btn-sign-out" class="secondary" disabled' in page
    for english in (">menu<", ">complaint<", ">open<", "ready", "paused<"):
        assert english not in page


async def test_only_agents_use_the_desk(client: httpx.AsyncClient) -> None:
    await log_in(client, ADMIN_NAME)

    assert (await client.get("/desk")).status_code == 403
    state = await client.get("/api/desk/state")
    assert state.status_code == 403


async def test_without_a_pbx_the_actions_say_so(client: httpx.AsyncClient) -> None:
    await log_in(client)
    csrf = (await client.get("/desk")).text.split('name="csrf-token" content="')[1].split('"')[0]

    reply = await client.post("/api/desk/presence", json={"action": "sign_in"},
                              headers={"X-CSRF-Token": csrf})

    assert reply.status_code == 503 and "交换机未连接" in reply.json()["detail"]


async def test_the_desk_actions_need_the_csrf_token(client: httpx.AsyncClient) -> None:
    await log_in(client)

    reply = await client.post("/api/desk/transfer", json={"mode": "blind"})

    assert reply.status_code == 403


async def test_the_api_lists_the_desk(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/api/openapi.json")).json()["paths"]

    assert {"/api/desk/presence", "/api/desk/state", "/api/desk/events",
            "/api/desk/transfer", "/api/desk/wrap-up", "/api/desk/queue"} <= set(paths)
    assert "/desk" not in paths


async def test_supervisors_see_a_seat_in_wrap_up_with_its_time(
        client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession],
        clock: Clock) -> None:
    async with session_scope(sessions) as db:
        agent = await accounts.get_user(db, AGENT_NAME)
        assert agent is not None
        await presence_db.set_presence(db, agent.id, "8001", presence_db.WRAP_UP,
                                       "after_call", clock.now - timedelta(minutes=3))
    await log_in(client, ADMIN_NAME)

    page = (await client.get("/seats")).text

    row = page.split('id="seats-now"')[1].split("</table>")[0]
    assert 'data-state="wrap_up"' in row and "话后处理" in row and "张三" in row
    assert "2026-12-01 08:57" in row, "since when, in Beijing time"
    assert "3 分钟" in row
