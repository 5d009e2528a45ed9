"""`hotline courts list|add` (issue 17) on each backend: a database not yet upgraded gets
its court 1 from [court] name; a wrong court is refused naming the field."""

from __future__ import annotations

import argparse
import dataclasses

import pytest

from cli import courts as cli_courts
from hotline.settings import CourtSettings, Settings


def _run(settings: Settings, *argv: str) -> int:
    parser = argparse.ArgumentParser(prog="hotline")
    cli_courts.register(parser.add_subparsers(required=True))
    args = parser.parse_args(argv)
    return int(args.func(settings, args))


def test_add_then_list(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    named = dataclasses.replace(settings, court=CourtSettings(name="洛阳市中级人民法院"))

    assert _run(named, "courts", "add", "洛阳市西工区人民法院", "--case-prefix", "豫0303",
                "--short-name", "西工区法院") == 0
    assert _run(named, "courts", "add", "洛阳市老城区人民法院", "--case-prefix", "豫03x") == 2
    assert _run(named, "courts", "list") == 0

    out, err = capsys.readouterr()
    assert "court 2 (洛阳市西工区人民法院) added at position 2" in out
    assert "case_prefix: bad_prefix" in err
    listed = out.splitlines()[-2:]
    assert listed[0].split() == ["1", "1", "-", "洛阳市中级人民法院", "centre"]
    assert listed[1].split() == ["2", "2", "豫0303", "洛阳市西工区人民法院", "西工区法院"]
