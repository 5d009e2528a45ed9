"""The Excel export and `hotline report` on the synthetic month (month.py): the sheets
hold the hand-computed figures under Chinese headers, with the period and the filters."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
from pathlib import Path

import pytest
from openpyxl import load_workbook

from cli.report import cmd_departments, cmd_month
from hotline.db.base import make_engine, make_sessionmaker, session_scope
from hotline.db.migrate import upgrade
from hotline.settings import DatabaseSettings, Settings
from tests.unit.reports import month


async def _fill(url: str) -> None:
    engine = make_engine(url)
    try:
        async with session_scope(make_sessionmaker(engine)) as session:
            await month.add_month(session)
    finally:
        await engine.dispose()


@pytest.fixture
def site(db_url: str, settings: Settings) -> Settings:
    upgrade(db_url)
    asyncio.run(_fill(db_url))
    return dataclasses.replace(settings, database=DatabaseSettings(url=db_url))


def _values(sheet: object) -> dict[str, list[object]]:
    """A sheet's rows below its headers, by their first cell."""
    rows = list(sheet.iter_rows(min_row=6, values_only=True))  # type: ignore[attr-defined]
    return {str(r[0]): list(r[1:]) for r in rows}


def test_the_month_report_in_excel(site: Settings, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "十月.xlsx"
    assert cmd_month(site, argparse.Namespace(month="2026-10", xlsx=target)) == 0

    book = load_workbook(target)
    assert book.sheetnames == ["来电统计", "事项统计", "部门考核", "座席统计"]
    calls = book["来电统计"]
    assert calls["A2"].value == "统计周期" and calls["B2"].value == "2026年10月（2026-10-01 至 2026-10-31）"
    assert calls["A3"].value == "筛选条件"
    assert [c.value for c in calls[5]] == ["指标", "本期", "上期"]
    figures = _values(calls)
    assert figures["来电总量"] == [10, 1]
    assert figures["接通率（%）"][0] == 50.0
    assert figures["90%等待（秒）"][0] == 30
    assert figures["放弃前等待 ≤5秒"][0] == 1
    matters = _values(book["事项统计"])
    assert matters["按期答复"] == [2] and matters["逾期答复"] == [1]
    assert matters["来源：短信"] == [1]
    departments = _values(book["部门考核"])
    assert departments["立案庭"][:6] == [3, 2, 1, 1, 0, 0]
    # the command counts as of now: T4 (due Oct 28) is past its deadline too by then
    assert departments["执行局"][:6] == [2, 0, 0, 1, 1, 2]
    seats = _values(book["座席统计"])
    assert seats["座席甲"][0] == 3 and seats["座席甲"][-1] == 2  # answered, 未登记来电
    out = capsys.readouterr().out
    assert "来电统计（2026年10月" in out and "已保存" in out


def test_the_department_report_over_any_days(site: Settings,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    args = argparse.Namespace(first="2026-10-01", last="2026-10-09", xlsx=None)
    assert cmd_departments(site, args) == 0

    out = capsys.readouterr().out
    # Oct 1–9: T1, T2 and T8 forwarded to 立案庭; nothing yet to 执行局
    assert "部门考核（2026-10-01 至 2026-10-09" in out
    assert "立案庭\t3\t" in out and "执行局\t0\t" in out


def test_a_period_that_names_no_days_is_refused(site: Settings,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    args = argparse.Namespace(first="2026-10-09", last="2026-10-01", xlsx=None)
    assert cmd_departments(site, args) == 2
    assert "hotline report" in capsys.readouterr().err
