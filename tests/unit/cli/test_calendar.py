"""`hotline calendar`: show a month, import a year's notice (all or nothing), set and unset
a day — through the command line, with a config file pointing at this test's database."""

from __future__ import annotations

import argparse
import asyncio
from datetime import date
from pathlib import Path

import pytest

from cli import calendar as cli_calendar
from hotline.db import calendar_days
from hotline.db.base import make_engine, make_sessionmaker, session_scope
from hotline.db.migrate import upgrade
from hotline.settings import REPO_ROOT, load_settings

GOOD_FILE = """\ufeff# 2027, as the notice says (test data)
date,kind,name
2027-01-01,holiday,元旦

2027-02-06 , 班 , 春节
2027-02-08,休,春节
2027-10-09,workday,"国庆节, 中秋节"
"""
# Line 3: no such date; line 5: an unknown kind. Lines 4 and 6 are good but must not land.
BAD_FILE = """date,kind,name
# comment
2027-02-30,holiday,春节
2027-02-08,holiday,春节
2027-02-09,rest,春节
2027-02-10,休,春节
"""


@pytest.fixture
def hotline_config(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A small site file for this test's data folder and database, named by HOTLINE_CONFIG."""
    config = tmp_path / "hotline.toml"
    config.write_text(f'[paths]\ndata_dir = "data"\n[database]\nurl = "{db_url}"\n',
                      encoding="utf-8")
    monkeypatch.setenv("HOTLINE_CONFIG", str(config))
    upgrade(db_url)
    return db_url


def hotline(*argv: str) -> int:
    """What `hotline calendar ...` does once cli/main.py registers the command."""
    parser = argparse.ArgumentParser(prog="hotline")
    cli_calendar.register(parser.add_subparsers(required=True, metavar="COMMAND"))
    args = parser.parse_args(argv)
    return int(args.func(load_settings(), args))


def stored(db_url: str) -> dict[date, tuple[bool, str]]:
    async def read() -> dict[date, tuple[bool, str]]:
        engine = make_engine(db_url)
        try:
            async with session_scope(make_sessionmaker(engine)) as session:
                rows = await calendar_days.overrides_between(session, date(2000, 1, 1),
                                                             date(2100, 1, 1))
                return {r.day: (r.workday, r.name) for r in rows}
        finally:
            await engine.dispose()
    return asyncio.run(read())


def _file(tmp_path: Path, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / "notice.csv"
    path.write_text(text, encoding=encoding)
    return path


# --- show -------------------------------------------------------------------------------

def test_show_october_2026(hotline_config: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert hotline("calendar", "show", "2026-10") == 0
    out = capsys.readouterr().out

    for day in range(1, 8):
        assert f"10-{day:02d}" in out
    rows = {line[:5]: line for line in out.splitlines()}
    assert "节假日(国庆节)" in rows["10-01"] and "节假日(国庆节)" in rows["10-07"]
    assert "调休上班(国庆节)" in rows["10-10"]
    assert "08:00-12:00 14:30-17:30" in rows["10-10"]
    assert "08:00-12:00 14:30-17:30" in rows["10-12"] and "工作日" in rows["10-12"]
    assert "图例" in out


def test_show_refuses_a_bad_month(hotline_config: str) -> None:
    with pytest.raises(SystemExit) as exc:
        hotline("calendar", "show", "2026-13")
    assert exc.value.code == 2


# --- import -----------------------------------------------------------------------------

def test_import_a_good_file(hotline_config: str, tmp_path: Path,
                            capsys: pytest.CaptureFixture[str]) -> None:
    path = _file(tmp_path, GOOD_FILE)

    assert hotline("calendar", "import", str(path)) == 0

    assert stored(hotline_config) == {
        date(2027, 1, 1): (False, "元旦"), date(2027, 2, 6): (True, "春节"),
        date(2027, 2, 8): (False, "春节"), date(2027, 10, 9): (True, "国庆节, 中秋节")}
    out = capsys.readouterr().out
    assert "2027-02-06  workday  春节" in out
    assert "imported 4 days" in out and "2027" in out


def test_imported_days_show_in_the_month(hotline_config: str, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    hotline("calendar", "import", str(_file(tmp_path, GOOD_FILE)))
    capsys.readouterr()

    hotline("calendar", "show", "2027-02")
    rows = {line[:5]: line for line in capsys.readouterr().out.splitlines()}
    assert "调休上班(春节)*" in rows["02-06"] and "08:00-12:00" in rows["02-06"]
    assert "节假日(春节)*" in rows["02-08"] and rows["02-08"].endswith("—")
    # The year is known now: its ordinary days are no longer guesses.
    assert "[推定]" not in rows["02-09"]


def test_import_with_two_bad_lines_writes_nothing(hotline_config: str, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    path = _file(tmp_path, BAD_FILE)

    assert hotline("calendar", "import", str(path)) == 2

    assert stored(hotline_config) == {}
    err = capsys.readouterr().err
    assert f"{path}:3: '2027-02-30' is not a date" in err
    assert f"{path}:5: unknown kind 'rest'" in err
    assert f"{path}:4" not in err and f"{path}:6" not in err
    assert "nothing was imported" in err


def test_import_of_a_gbk_file(hotline_config: str, tmp_path: Path) -> None:
    path = _file(tmp_path, "2027-01-01,休,元旦\n", encoding="gbk")

    assert hotline("calendar", "import", str(path)) == 0
    assert stored(hotline_config) == {date(2027, 1, 1): (False, "元旦")}


def test_import_of_a_missing_file(hotline_config: str, tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert hotline("calendar", "import", str(tmp_path / "nope.csv")) == 2
    assert "cannot read" in capsys.readouterr().err


@pytest.mark.parametrize(("text", "error"), [
    ("2027-01-01\n", ":1: expected date,kind,name but found 1 fields"),
    ("2027-01-01,休,元旦,extra\n", ":1: expected date,kind,name but found 4 fields"),
    ("2027/01/01,休\n", ":1: '2027/01/01' is not a date written YYYY-MM-DD"),
    ("2027-01-01,休\n2027-01-01,班\n", ":2: 2027-01-01 is already on line 1"),
    (f"2027-01-01,休,{'长' * 61}\n", ":1: the name is longer than 60 characters"),
    ("date,kind,name\n# nothing yet\n", ": no days in the file"),
    # a header is only allowed as the first line
    ("2027-01-01,休\ndate,kind,name\n", ":2: 'date' is not a date written YYYY-MM-DD"),
])
def test_parse_import_errors(text: str, error: str) -> None:
    _, errors = cli_calendar.parse_import(text, "f.csv")

    assert errors == [f"f.csv{error}"]


def test_the_example_file_parses() -> None:
    example = REPO_ROOT / "docs" / "calendar-2027.example.csv"
    text = example.read_text(encoding="utf-8")
    overrides, errors = cli_calendar.parse_import(text, str(example))

    assert errors == [] and overrides
    assert "EXAMPLE" in text and "NOT the official" in text


# --- set / unset ------------------------------------------------------------------------

def test_set_and_unset_a_day(hotline_config: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert hotline("calendar", "set", "2026-03-11", "holiday", "院庆") == 0
    assert stored(hotline_config) == {date(2026, 3, 11): (False, "院庆")}
    assert hotline("calendar", "set", "2026-03-15", "班") == 0
    assert stored(hotline_config)[date(2026, 3, 15)] == (True, "")

    capsys.readouterr()
    assert hotline("calendar", "unset", "2026-03-11") == 0
    assert "now 工作日" in capsys.readouterr().out
    assert set(stored(hotline_config)) == {date(2026, 3, 15)}


def test_unset_a_day_without_setting(hotline_config: str,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert hotline("calendar", "unset", "2026-03-11") == 1
    assert "set nothing" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [("set", "2026-02-30", "holiday"),
                                  ("set", "2026-03-11", "maybe"),
                                  ("unset", "tomorrow")])
def test_set_refuses_bad_arguments(hotline_config: str, argv: tuple[str, ...]) -> None:
    with pytest.raises(SystemExit) as exc:
        hotline("calendar", *argv)
    assert exc.value.code == 2
