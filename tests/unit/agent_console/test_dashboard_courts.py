"""The analysis pages cut by court (issue 17), on the synthetic month with 执行局 moved to
a basic court: a court's matter figures are its matters' (the courts' add up to the whole),
its call figures are not shown (calls are the centre's), the scorecard lists its
departments; a basic court's administrator is held to their court whatever they ask."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agent_console.accounts import hash_password
from hotline.db.base import session_scope
from hotline.db.courts import CourtFields, save_court
from hotline.db.models import Department, Ticket, User
from tests.unit.agent_console.conftest import PASSWORD, Clock, log_in
from tests.unit.reports import month
from tests.unit.reports.month import NOW, People

OCTOBER = "period=month&first=2026-10-01&last=2026-10-31"
COUNTED = ("新增事项", "转办事项", "逾期答复", "督办（部门负责人）")
Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
async def people(sessions: Sessions, clock: Clock) -> tuple[People, int]:
    clock.now = NOW
    async with session_scope(sessions) as db:
        found, _ = await month.add_month(db)
        await db.execute(update(User).where(User.username.in_(["adm"]))
                         .values(password_hash=hash_password(PASSWORD)))
        court = await save_court(db, CourtFields("洛阳市西工区人民法院", "西工区法院", "豫0303"))
        await db.execute(update(Department).where(Department.id == found.dept_2)
                         .values(court_id=court.id))
        await db.execute(update(Ticket).where(Ticket.department_id == found.dept_2)
                         .values(court_id=court.id))
    return found, court.id


def _figure(html: str, label: str) -> int:
    match = re.search(rf"<th>{re.escape(label)}</th><td>(.*?)</td>", html, re.S)
    assert match, f"no figure {label}"
    return int(re.sub(r"<[^>]+>", "", match.group(1)).strip().split("（")[0])


async def test_a_courts_figures_are_its_matters(client: httpx.AsyncClient,
                                                people: tuple[People, int],
                                                sessions: Sessions) -> None:
    _, court = people
    await log_in(client, "adm")
    whole = (await client.get(f"/dashboard?{OCTOBER}")).text
    centre = (await client.get(f"/dashboard?{OCTOBER}&court=1")).text
    basic = (await client.get(f"/dashboard?{OCTOBER}&court={court}")).text

    assert '<option value="">全部法院</option>' in whole and 'id="call-figures"' in whole
    assert 'id="call-figures"' not in basic and 'id="calls-not-by-court"' in basic
    for label in COUNTED:
        assert _figure(centre, label) + _figure(basic, label) == _figure(whole, label), label
    assert _figure(basic, "转办事项") > 0 and _figure(centre, "转办事项") > 0
    assert f"court={court}" in basic, "the drill-downs keep the court"
    late = await client.get(f"/dashboard/matters?{OCTOBER}&court={court}&set=forwarded")
    assert f"共 {_figure(basic, '转办事项')} 条" in late.text
    card = (await client.get(f"/scorecard?{OCTOBER}&court={court}")).text
    assert "执行局" in card and "立案庭" not in card
    menu = (await client.get(f"/dashboard/menu?{OCTOBER}&court={court}")).text
    assert 'name="court"' not in menu, "the voice menu's figures are the centre's"
    wrong = (await client.get(f"/dashboard?{OCTOBER}&court=x9")).text
    assert "法院“x9”不存在" in wrong and 'id="call-figures"' in wrong

    monthly = (await client.get(f"/reports/monthly?month=2026-10&court={court}")).text
    assert "执行局" in monthly and "立案庭" not in monthly and "西工区法院" in monthly
    assert "<h2>1. 事项统计</h2>" in monthly and "热点分析</h2>" not in monthly
    sheet = await client.get(f"/reports/monthly?month=2026-10&court={court}&format=xlsx")
    assert sheet.status_code == 200 and sheet.content[:2] == b"PK"

    async with session_scope(sessions) as db:  # adm becomes the basic court's
        await db.execute(update(User).where(User.username == "adm").values(court_id=court))
    held = (await client.get(f"/dashboard?{OCTOBER}&court=1")).text
    assert 'name="court"' not in held, "no court to choose"
    assert _figure(held, "转办事项") == _figure(basic, "转办事项")
    assert (await client.get(f"/dashboard/calls?{OCTOBER}&set=received")).status_code == 403
    assert (await client.get("/reports/monthly.pdf?month=2026-10")).status_code == 403
    card = (await client.get(f"/scorecard?{OCTOBER}")).text
    assert "执行局" in card and "立案庭" not in card
