"""The console against a migrated database of each backend, through httpx in the test's
own event loop, with a clock the tests move."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agent_console import accounts
from agent_console.app import create_app
from agent_console.texts import ADMIN, AGENT
from hotline.db.base import session_scope
from hotline.settings import Settings

PASSWORD = "lin-an-12368"
AGENT_NAME, ADMIN_NAME = "zhang", "admin"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def staff(sessions: async_sessionmaker[AsyncSession]) -> None:
    """An agent (张三, seat 8001) and an administrator, both with PASSWORD."""
    async with session_scope(sessions) as db:
        await accounts.add_user(db, AGENT_NAME, PASSWORD, AGENT, "张三", "8001")
        await accounts.add_user(db, ADMIN_NAME, PASSWORD, ADMIN, "李管理")


@pytest.fixture
async def client(settings: Settings, sessions: async_sessionmaker[AsyncSession], clock: Clock,
                 staff: None) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, sessions, clock=clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://testserver") as client:
        yield client


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the page has no CSRF token field"
    return match.group(1)


async def log_in(client: httpx.AsyncClient, username: str = AGENT_NAME,
                 password: str = PASSWORD) -> httpx.Response:
    form = await client.get("/login")
    return await client.post("/login", data={"username": username, "password": password,
                                             "csrf_token": csrf_of(form.text)})
