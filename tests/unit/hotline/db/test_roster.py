"""hotline.db.roster on SQLite and PostgreSQL: who is on duty, fills, refusals."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agent_console import accounts
from agent_console.texts import AGENT, DUTY_JUDGE
from hotline.db import roster
from hotline.db.base import session_scope
from hotline.db.courts import CourtFields, assign_user, save_court
from hotline.db.models import Call, User
from hotline.db.roster import RosterError

Sessions = async_sessionmaker[AsyncSession]
PASSWORD = "judge-12368"
MONDAY = date(2026, 12, 7)


# Each judge's own phone: an extension is one user's at a time.
EXTENSIONS = {"wang": "8101", "li": "8102", "zhang": "8001"}


async def _user(sessions: Sessions, name: str, role: str = DUTY_JUDGE) -> User:
    async with session_scope(sessions) as db:
        return await accounts.add_user(db, name, PASSWORD, role, name.upper(), EXTENSIONS[name])


def test_the_roster_names_the_consoles_duty_judge_role() -> None:
    assert roster.DUTY_JUDGE_ROLE == DUTY_JUDGE


async def test_nobody_is_on_duty_on_an_empty_roster(sessions: Sessions) -> None:
    async with session_scope(sessions) as db:
        assert await roster.duty_judge_for(db, MONDAY) is None


async def test_set_duty_puts_the_judge_on_that_day_only_and_replaces(sessions: Sessions) -> None:
    wang, li = await _user(sessions, "wang"), await _user(sessions, "li")
    async with session_scope(sessions) as db:
        await roster.set_duty(db, MONDAY, wang, "上午开庭")
    async with session_scope(sessions) as db:
        judge = await roster.duty_judge_for(db, MONDAY)
        assert judge is not None and judge.username == "wang"
        assert await roster.duty_judge_for(db, date(2026, 12, 8)) is None
        await roster.set_duty(db, MONDAY, li)
    async with session_scope(sessions) as db:
        judge = await roster.duty_judge_for(db, MONDAY)
        assert judge is not None and judge.username == "li"
        duties = await roster.roster_between(db, MONDAY, MONDAY)
        assert [(d.day, d.judge.username, d.note) for d in duties] == [(MONDAY, "li", "")]


async def test_fill_writes_every_day_of_the_range(sessions: Sessions) -> None:
    wang = await _user(sessions, "wang")
    async with session_scope(sessions) as db:
        days = roster.days_between(MONDAY, date(2026, 12, 13))
        assert await roster.fill_duty(db, days, wang) == 7
    async with session_scope(sessions) as db:
        duties = await roster.roster_between(db, date(2026, 12, 1), date(2026, 12, 31))
        assert [d.day.day for d in duties] == [7, 8, 9, 10, 11, 12, 13]


@pytest.mark.parametrize(("start", "end"), [(date(2026, 12, 8), MONDAY),
                                            (MONDAY, date(2028, 1, 1))])
def test_a_backwards_or_overlong_range_is_refused(start: date, end: date) -> None:
    with pytest.raises(RosterError) as refused:
        roster.days_between(start, end)
    assert refused.value.reason == "range"


async def test_only_active_duty_judges_go_on_the_roster(sessions: Sessions) -> None:
    agent = await _user(sessions, "zhang", AGENT)
    async with session_scope(sessions) as db:
        with pytest.raises(RosterError) as refused:
            await roster.set_duty(db, MONDAY, agent)
    assert refused.value.reason == "not_judge"


async def test_a_deactivated_judge_is_not_on_duty_any_more(sessions: Sessions) -> None:
    wang = await _user(sessions, "wang")
    async with session_scope(sessions) as db:
        await roster.set_duty(db, MONDAY, wang)
    async with session_scope(sessions) as db:
        user = await db.get(User, wang.id)
        assert user is not None
        user.active = False
    async with session_scope(sessions) as db:
        assert await roster.duty_judge_for(db, MONDAY) is None
        assert [u.username for u in await roster.duty_judges(db)] == []


async def test_clear_duty_takes_the_day_off(sessions: Sessions) -> None:
    wang = await _user(sessions, "wang")
    async with session_scope(sessions) as db:
        await roster.set_duty(db, MONDAY, wang)
    async with session_scope(sessions) as db:
        assert await roster.clear_duty(db, MONDAY) is True
        assert await roster.clear_duty(db, MONDAY) is False
        assert await roster.duty_judge_for(db, MONDAY) is None


def _name(user: User | None) -> str | None:
    return user.username if user is not None else None


async def _second_court(sessions: Sessions) -> int:
    async with session_scope(sessions) as db:
        court = await save_court(db, CourtFields("洛阳市西工区人民法院", "西工区法院", "豫0303"))
        return court.id


async def test_each_court_has_its_own_duty_judge_and_falls_back_to_the_centres(
        sessions: Sessions, caplog: pytest.LogCaptureFixture) -> None:
    xigong = await _second_court(sessions)
    wang, _ = await _user(sessions, "wang"), await _user(sessions, "li")
    async with session_scope(sessions) as db:
        li_of_xigong = await assign_user(db, "li", xigong)
        await roster.set_duty(db, MONDAY, wang)
        await roster.set_duty(db, MONDAY, li_of_xigong, court_id=xigong)
        with pytest.raises(RosterError) as refused:
            await roster.set_duty(db, MONDAY, wang, court_id=xigong)
        assert refused.value.reason == "other_court"
        db.add(Call(id="c-xigong", caller_number="13800000000", court_id=xigong))
        db.add(Call(id="c-none", caller_number="13800000000"))
    async with session_scope(sessions) as db:
        assert _name(await roster.duty_judge_for(db, MONDAY)) == "wang"
        assert _name(await roster.duty_judge_for(db, MONDAY, xigong)) == "li"
        assert _name(await roster.duty_judge_for_call(db, MONDAY, "c-xigong")) == "li"
        assert _name(await roster.duty_judge_for_call(db, MONDAY, "c-none")) == "wang"
        assert _name(await roster.duty_judge_for_call(db, MONDAY, None)) == "wang"
        assert [d.judge.username for d in await roster.roster_between(
            db, MONDAY, MONDAY, xigong)] == ["li"]
        assert await roster.clear_duty(db, MONDAY, xigong)
    caplog.set_level("INFO", logger="hotline.db.roster")
    async with session_scope(sessions) as db:
        assert _name(await roster.duty_judge_for(db, MONDAY, xigong)) == "wang"
        assert _name(await roster.duty_judge_for(db, MONDAY)) == "wang", "untouched"
    assert f"court {xigong} has no duty judge on {MONDAY}: the centre's (wang)" in caplog.text
