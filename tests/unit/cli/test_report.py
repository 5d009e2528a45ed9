"""`hotline report month 2026-10 --pdf FILE` on the synthetic month: the file is the
monthly analysis report; a file that cannot be written is said in Chinese, exit 1."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
from pathlib import Path

import pytest
from pypdf import PdfReader

from cli.main import parser
from cli.report import cmd_month
from hotline.db.base import make_engine, make_sessionmaker, session_scope
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
    from hotline.db.migrate import upgrade

    upgrade(db_url)
    asyncio.run(_fill(db_url))
    return dataclasses.replace(settings, database=DatabaseSettings(url=db_url))


def test_the_month_as_a_pdf(site: Settings, tmp_path: Path,
                            capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "十月.pdf"
    args = parser("report").parse_args(["report", "month", "2026-10", "--pdf", str(target)])
    assert cmd_month(site, args) == 0

    text = "".join(p.extract_text() for p in PdfReader(target).pages)
    assert "2026年10月（2026-10-01 至 2026-10-31）" in text and "立案庭" in text
    assert f"已保存：{target}" in capsys.readouterr().out


def test_a_pdf_that_cannot_be_written(site: Settings, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "没有的目录" / "十月.pdf"
    assert cmd_month(site, argparse.Namespace(month="2026-10", xlsx=None, pdf=target)) == 1
    assert "无法保存" in capsys.readouterr().err and not target.exists()
