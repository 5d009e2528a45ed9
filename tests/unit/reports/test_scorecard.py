"""The department scorecard and the seats' figures on the synthetic month (month.py),
and who sees which rows: a head only their departments, an agent only themselves."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.db.base import session_scope
from hotline.settings import Settings
from reports import (
    Period,
    agent_rows,
    department_matters,
    department_rows,
    load_period,
    logged_call_ids,
    scope_of,
    unlogged_calls,
)
from tests.unit.reports import month
from tests.unit.reports.month import NOW, People

OCTOBER = Period.month(2026, 10)


@pytest.fixture
async def filled(sessions: async_sessionmaker[AsyncSession]
                 ) -> tuple[async_sessionmaker[AsyncSession], People]:
    async with session_scope(sessions) as session:
        people, _ = await month.add_month(session)
    return sessions, people


async def _departments(filled: tuple[async_sessionmaker[AsyncSession], People],
                       settings: Settings, user_id: int, role: str) -> dict[str, tuple]:
    sessions, _ = filled
    async with session_scope(sessions) as session:
        data = await load_period(session, settings, OCTOBER)
        scope = await scope_of(session, user_id, role)
        rows = await department_rows(session, data, scope, NOW)
    return {r.name: (r.received, r.on_time, r.late, r.level1, r.level2, r.overdue_open,
                     r.average_reply_hours) for r in rows}


async def test_the_scorecard_of_the_month(filled: tuple[async_sessionmaker[AsyncSession],
                                                        People], settings: Settings) -> None:
    rows = await _departments(filled, settings, filled[1].admin, "admin")

    # 立案庭: T1 (on time, last minute), T2 (late, 督办 1), T8 (on time, holiday week)
    assert rows["立案庭"][:6] == (3, 2, 1, 1, 0, 0)
    assert rows["立案庭"][6] == pytest.approx((68370 + 64800 + 48600) / 3 / 3600)
    # 执行局: T3 (open past Oct 19, 督办 2), T4 (not yet due)
    assert rows["执行局"] == (2, 0, 0, 1, 1, 1, None)


async def test_a_head_sees_only_their_departments_row_and_matters(
        filled: tuple[async_sessionmaker[AsyncSession], People], settings: Settings) -> None:
    sessions, p = filled
    assert list(await _departments(filled, settings, p.head_1, "dept_head")) == ["立案庭"]
    assert list(await _departments(filled, settings, p.head_2, "dept_head")) == ["执行局"]
    async with session_scope(sessions) as session:
        data = await load_period(session, settings, OCTOBER)
        scope = await scope_of(session, p.head_1, "dept_head")
    assert not scope.centre
    assert {m.reference for m in department_matters(data, scope, p.dept_1)} == {
        "2610090001", "2610090002", "2610010001"}
    assert department_matters(data, scope, p.dept_2) == []


async def test_a_leader_sees_the_departments_they_supervise(
        filled: tuple[async_sessionmaker[AsyncSession], People], settings: Settings) -> None:
    p = filled[1]
    assert list(await _departments(filled, settings, p.leader_2, "leader")) == ["执行局"]
    assert list(await _departments(filled, settings, p.handler, "dept_handler")) == []
    assert list(await _departments(filled, settings, p.agent_a, "agent")) == []


async def _agents(filled: tuple[async_sessionmaker[AsyncSession], People],
                  settings: Settings, user_id: int, role: str) -> dict[str, tuple]:
    sessions, _ = filled
    async with session_scope(sessions) as session:
        data = await load_period(session, settings, OCTOBER)
        rows = await agent_rows(session, data, await scope_of(session, user_id, role))
    return {r.name: (r.answered, r.talk_seconds, r.call_logs, r.callbacks, r.unlogged)
            for r in rows}


async def test_the_seats_of_the_month(filled: tuple[async_sessionmaker[AsyncSession], People],
                                      settings: Settings) -> None:
    rows = await _agents(filled, settings, filled[1].leader_1, "leader")

    # 甲: c-ans1 (300 s, logged), c-ans3 (600 s), the holiday call (60 s); T6's callback
    # 乙: c-ans2 (120 s) on the make-up Saturday, unlogged; its log is September's
    assert rows == {"座席甲": (3, 960, 1, 1, 2), "座席乙": (1, 120, 0, 0, 1),
                    "座席丙": (0, 0, 0, 0, 0)}


async def test_an_agent_sees_only_their_own_figures(
        filled: tuple[async_sessionmaker[AsyncSession], People], settings: Settings) -> None:
    p = filled[1]
    assert list(await _agents(filled, settings, p.agent_b, "agent")) == ["座席乙"]
    assert await _agents(filled, settings, p.head_1, "dept_head") == {}


async def test_unlogged_calls_drill_down_to_the_calls(
        filled: tuple[async_sessionmaker[AsyncSession], People], settings: Settings) -> None:
    sessions, p = filled
    async with session_scope(sessions) as session:
        data = await load_period(session, settings, OCTOBER)
        logged = await logged_call_ids(session, data)

    assert {c.id for c in unlogged_calls(data, logged, p.agent_a)} == {"c-ans3", "c-holiday"}
