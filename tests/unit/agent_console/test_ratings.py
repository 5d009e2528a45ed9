"""Satisfaction ratings where staff look: the matter's page lists its ratings, the seats
table and the department scorecard have a 满意度 column for the period."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.db.base import session_scope
from hotline.db.models import Department, Rating, User
from hotline.db.tickets import create_ticket
from tests.unit.agent_console.conftest import ADMIN_NAME, AGENT_NAME, log_in

NOVEMBER = "kind=month&first=2026-11-01"
RATED = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)


async def _rated(sessions: async_sessionmaker[AsyncSession]) -> int:
    """Agent 张三's matter, forwarded to 审判管理办公室: rated 满意 by SMS; two of 张三's calls
    keyed 基本满意 and 不满意; one ask never answered."""
    async with session_scope(sessions) as db:
        agent = (await db.execute(select(User).where(User.username == AGENT_NAME))).scalar_one()
        department = Department(name="审判管理办公室")
        db.add(department)
        await db.flush()
        ticket = await create_ticket(db, "complaint", "13812345678", None, text="答复太慢",
                                     owner_id=agent.id, now=RATED)
        ticket.department_id = department.id
        common = {"agent_id": agent.id, "asked_at": RATED, "rated_at": RATED}
        db.add_all([
            Rating(channel="sms", score=1, ticket_id=ticket.id, department_id=department.id,
                   **common),
            Rating(channel="call", score=2, **common),
            Rating(channel="call", score=3, **common),
            Rating(channel="sms", ticket_id=ticket.id, department_id=department.id,
                   agent_id=agent.id, asked_at=RATED)])
        await db.flush()
        return ticket.id


async def test_the_matter_and_the_figures_show_the_ratings(
        client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]) -> None:
    ticket_id = await _rated(sessions)
    await log_in(client, ADMIN_NAME)

    page = await client.get(f"/tickets/{ticket_id}")
    assert page.status_code == 200
    assert "满意度评价" in page.text and "短信回复，2026-11-20 11:00" in page.text
    shown = (await client.get(f"/api/tickets/{ticket_id}")).json()["ratings"]
    assert [(r["channel"], r["score"], r["label"]) for r in shown] == [("sms", 1, "满意")]

    seats = await client.get(f"/seats?{NOVEMBER}")
    assert seats.status_code == 200
    assert "<th>满意度</th>" in seats.text
    assert "67%（3条，" in seats.text and "不满意1</span>" in seats.text

    scorecard = await client.get(f"/scorecard?{NOVEMBER}")
    assert scorecard.status_code == 200
    assert "审判管理办公室" in scorecard.text and "100%（1条）" in scorecard.text
