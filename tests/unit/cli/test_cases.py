"""`hotline cases ...` and `hotline kb ...` on a migrated database of each backend."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from cli import cases as cli_cases
from hotline.db.migrate import upgrade
from hotline.settings import REPO_ROOT, Settings

EXAMPLE = REPO_ROOT / "docs" / "cases.example.csv"
ALICE = "410399198001010018"


@pytest.fixture
def migrated(settings: Settings) -> Settings:
    upgrade(settings.database_url)
    return settings


def _run(settings: Settings, *argv: str) -> int:
    parser = argparse.ArgumentParser(prog="hotline")
    cli_cases.register(parser.add_subparsers(required=True))
    args = parser.parse_args(argv)
    return int(args.func(settings, args))


def test_commands_are_registered() -> None:
    parser = argparse.ArgumentParser(prog="hotline")
    cli_cases.register(parser.add_subparsers(required=True))

    for argv in (["cases", "import", "x.csv"], ["cases", "show", "123456"],
                 ["kb", "import", "x.toml"], ["kb", "list"]):
        assert callable(parser.parse_args(argv).func)
    with pytest.raises(SystemExit):
        parser.parse_args(["cases"])


def test_cases_import_then_show(migrated: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(migrated, "cases", "import", str(EXAMPLE)) == 0
    assert capsys.readouterr().out == f"{EXAMPLE}: 5 imported, 0 updated, 0 bad lines skipped\n"

    assert _run(migrated, "cases", "show", "2026030001") == 0
    out = capsys.readouterr().out
    assert "（2026）豫03民初1234号" in out and "民事审判第一庭" in out
    assert "2026-12-03 09:30" in out, "the hearing is shown in court time"
    assert "410399********0018 (139****5678)" in out and ALICE not in out
    assert "13912345678" not in out


def test_cases_import_reports_bad_lines_and_keeps_good_ones(
        migrated: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "export.csv"
    path.write_text(EXAMPLE.read_text(encoding="utf-8")
                    + ",（2026）豫03民初9号,,,,,\n2026030009,（2026）豫03民初9号,,,,,12345\n",
                    encoding="utf-8")

    assert _run(migrated, "cases", "import", str(path)) == 0
    captured = capsys.readouterr()
    assert captured.out == f"{path}: 5 imported, 0 updated, 2 bad lines skipped\n"
    assert captured.err.splitlines() == [
        f"{path}:7: missing query code",
        f"{path}:8: bad ID number 1 (*****): must be 18 characters, not 5"]


def test_cases_import_of_an_unreadable_file_exits_2(
        migrated: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(migrated, "cases", "import", str(tmp_path / "nope.csv")) == 2
    assert "nope.csv: cannot read" in capsys.readouterr().err


def test_cases_show_unknown_code_exits_1(migrated: Settings,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(migrated, "cases", "show", "999999") == 1
    assert capsys.readouterr().err == "no case with query code 999999\n"


def test_kb_import_then_list(migrated: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(migrated, "kb", "list") == 0
    assert "no active answers" in capsys.readouterr().out
    default = REPO_ROOT / "hotline" / "resources" / "knowledge_zh.toml"

    assert _run(migrated, "kb", "import", str(default)) == 0
    assert capsys.readouterr().out == f"{default}: 5 imported, 0 updated\n"
    assert _run(migrated, "kb", "list") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "1  立案需要的材料  [立案]"
    assert [line.split()[0] for line in lines] == ["1", "2", "3", "4", "5"]


def test_kb_import_of_a_bad_file_exits_2_and_names_the_entry(
        migrated: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "kb.toml"
    path.write_text('[[entry]]\ntitle = "x"\nanswer = "y"\nmenu_key = "0"\n', encoding="utf-8")

    assert _run(migrated, "kb", "import", str(path)) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"{path}: entry 1 (x): menu_key: '0' is not one key from 1 to 9 (or empty)",
        "hotline: nothing imported"]
