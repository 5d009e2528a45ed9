"""/reports/monthly.pdf on the synthetic month (tests/unit/reports/month.py): a leader gets
October's report as a PDF with its figures; an agent is refused."""

from __future__ import annotations

import io

import httpx
import pytest
from pypdf import PdfReader
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agent_console.accounts import hash_password
from hotline.db.base import session_scope
from hotline.db.models import User
from tests.unit.agent_console.conftest import PASSWORD, Clock, log_in
from tests.unit.reports import month
from tests.unit.reports.month import NOW


@pytest.fixture
async def october(sessions: async_sessionmaker[AsyncSession], clock: Clock) -> None:
    clock.now = NOW
    async with session_scope(sessions) as db:
        await month.add_month(db)
        await db.execute(update(User).where(User.username.in_(["a", "l1"]))
                         .values(password_hash=hash_password(PASSWORD)))


async def test_a_leader_gets_the_months_pdf(client: httpx.AsyncClient, october: None) -> None:
    await log_in(client, "l1")
    answer = await client.get("/reports/monthly.pdf?month=2026-10")

    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/pdf"
    assert "2026-10.pdf" in answer.headers["content-disposition"]
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(answer.content)).pages)
    assert "2026年10月（2026-10-01 至 2026-10-31）" in text
    assert "本月来电总量 10 通" in text and "立案庭" in text


async def test_a_month_that_is_not_one_is_refused_in_chinese(client: httpx.AsyncClient,
                                                             october: None) -> None:
    await log_in(client, "l1")
    answer = await client.get("/reports/monthly.pdf?month=2026-13")

    assert answer.status_code == 422
    assert "月份（month）" in answer.text and "%PDF" not in answer.text


async def test_an_agent_is_refused(client: httpx.AsyncClient, october: None) -> None:
    await log_in(client, "a")
    answer = await client.get("/reports/monthly.pdf?month=2026-10")

    assert answer.status_code == 403
    assert "%PDF" not in answer.text
