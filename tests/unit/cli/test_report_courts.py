"""`hotline report ... --court N` (issue 17) on the synthetic month with 执行局 a basic
court's: that court's matters, departments and seats, no call table (calls are the
centre's); a number naming no court is refused, exit 2."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from sqlalchemy import update

from cli.main import parser
from cli.report import cmd_departments, cmd_month
from hotline.db.base import make_engine, make_sessionmaker, session_scope
from hotline.db.courts import CourtFields, save_court
from hotline.db.models import Department, Ticket
from hotline.settings import DatabaseSettings, Settings
from tests.unit.reports import month


async def _fill(url: str) -> None:
    engine = make_engine(url)
    try:
        async with session_scope(make_sessionmaker(engine)) as db:
            people, _ = await month.add_month(db)
            court = await save_court(db, CourtFields("洛阳市西工区人民法院", case_prefix="豫0303"))
            await db.execute(update(Department).where(Department.id == people.dept_2)
                             .values(court_id=court.id))
            await db.execute(update(Ticket).where(Ticket.department_id == people.dept_2)
                             .values(court_id=court.id))
    finally:
        await engine.dispose()


@pytest.fixture
def site(db_url: str, settings: Settings) -> Settings:
    from hotline.db.migrate import upgrade

    upgrade(db_url)
    asyncio.run(_fill(db_url))
    return dataclasses.replace(settings, database=DatabaseSettings(url=db_url))


def test_one_courts_report(site: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    args = parser("report").parse_args(["report", "month", "2026-10", "--court", "2"])
    assert cmd_month(site, args) == 0
    out = capsys.readouterr().out
    assert "事项统计" in out and "执行局" in out
    assert "立案庭" not in out and "来电统计" not in out

    whole = parser("report").parse_args(["report", "departments", "--from", "2026-10-01",
                                         "--to", "2026-10-31"])
    assert cmd_departments(site, whole) == 0
    assert "立案庭" in capsys.readouterr().out

    nowhere = parser("report").parse_args(["report", "month", "2026-10", "--court", "9"])
    assert cmd_month(site, nowhere) == 2
    assert "--court 9: 没有这个法院" in capsys.readouterr().err
