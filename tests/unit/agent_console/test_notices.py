"""agent_console.notices: each user sees and marks read only their own notices."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.db.base import session_scope
from hotline.db.models import Notice, User
from hotline.notify import notify
from tests.unit.agent_console.conftest import ADMIN_NAME, AGENT_NAME, csrf_of, log_in


async def _tell(sessions: async_sessionmaker[AsyncSession], username: str, text: str) -> None:
    async with session_scope(sessions) as db:
        user = (await db.execute(select(User).where(User.username == username))).scalar_one()
        await notify(db, user, "forwarded", text)


async def test_a_user_sees_their_own_notices_and_marks_them_read(
        client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]) -> None:
    await _tell(sessions, AGENT_NAME, "今日回电待办：已为您分配2条")
    await _tell(sessions, ADMIN_NAME, "管理员的通知")
    await log_in(client)

    listed = (await client.get("/api/notices")).json()
    assert listed["unread"] == 1
    assert [n["text"] for n in listed["notices"]] == ["今日回电待办：已为您分配2条"]
    page = await client.get("/notices")
    assert "今日回电待办" in page.text and "管理员的通知" not in page.text

    read = await client.post("/notices/read", data={"csrf_token": csrf_of(page.text)})
    assert read.status_code == 303
    assert (await client.get("/api/notices")).json()["unread"] == 0


async def test_another_users_notice_cannot_be_marked(
        client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]) -> None:
    await _tell(sessions, ADMIN_NAME, "管理员的通知")
    await log_in(client)
    page = await client.get("/notices")
    async with session_scope(sessions) as db:
        notice_id = (await db.execute(select(Notice.id))).scalar_one()
    reply = await client.post(f"/api/notices/{notice_id}/read",
                              headers={"X-CSRF-Token": csrf_of(page.text)})
    assert reply.status_code == 404
    async with session_scope(sessions) as db:
        assert (await db.get(Notice, notice_id)).read_at is None  # type: ignore[union-attr]
