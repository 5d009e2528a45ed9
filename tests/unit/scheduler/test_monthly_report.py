"""The monthly report job: on the first working day of a month the month before is saved
as a PDF and a workbook and every leader is told, once, the file and the link named."""

from __future__ import annotations

import dataclasses
from datetime import date

from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.calendar import WorkingCalendar
from hotline.db.base import session_scope
from hotline.db.models import Notice
from hotline.settings import HoursSettings, Settings
from reports import Period
from scheduler.jobs import Context
from scheduler.monthly_report import _first_working_day, monthly_report, report_path
from tests.unit.reports import month
from tests.unit.reports.month import local


def test_the_first_working_day_follows_the_holidays() -> None:
    calendar = WorkingCalendar(HoursSettings())

    assert _first_working_day(date(2026, 10, 8), calendar.is_workday)  # after National Day
    assert not _first_working_day(date(2026, 10, 9), calendar.is_workday)
    assert _first_working_day(date(2026, 11, 2), calendar.is_workday)  # Nov 1 is a Sunday
    assert not _first_working_day(date(2026, 11, 1), calendar.is_workday)


async def test_octobers_report_is_made_once_on_the_2nd_of_november(
        sessions: async_sessionmaker[AsyncSession], settings: Settings) -> None:
    async with session_scope(sessions) as session:
        people, _ = await month.add_month(session)
    moment = local(2, "09:00", month=11)
    ctx = Context(settings, sessions, lambda: moment)

    said = await monthly_report(ctx)
    again = await monthly_report(ctx)

    assert said is not None and "2026-10" in said and "2 leader(s)" in said
    assert again is None
    book = load_workbook(report_path(settings.paths.data_dir, Period.month(2026, 10)))
    assert book.sheetnames == ["来电统计", "事项统计", "部门考核", "座席统计"]
    kept = report_path(settings.paths.data_dir, Period.month(2026, 10), ".pdf")
    assert kept.name == "月度分析研判报告-2026-10.pdf" and kept.read_bytes().startswith(b"%PDF-")
    assert "本月来电总量 10 通" in PdfReader(kept).pages[0].extract_text()
    async with session_scope(sessions) as session:
        told = (await session.execute(select(Notice.user_id, Notice.text)
                                      .where(Notice.kind == "report"))).all()
    assert sorted(u for u, _ in told) == sorted([people.leader_1, people.leader_2])
    assert all(kept.name in text and "/reports/monthly.pdf?month=2026-10" in text
               for _, text in told)


async def test_nothing_is_made_on_another_day(sessions: async_sessionmaker[AsyncSession],
                                              settings: Settings) -> None:
    moment = local(3, "09:00", month=11)
    ctx = Context(dataclasses.replace(settings), sessions, lambda: moment)

    assert await monthly_report(ctx) is None
    assert not report_path(settings.paths.data_dir, Period.month(2026, 10)).exists()
    assert not report_path(settings.paths.data_dir, Period.month(2026, 10), ".pdf").exists()
