"""`hotline courts list|add|staff` (issue 17) on each backend: a database not yet upgraded gets
its court 1 from [court] name; a wrong court is refused naming the field."""

from __future__ import annotations

import argparse
import dataclasses

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cli import courts as cli_courts
from hotline.db.base import run_once
from hotline.db.models import Department, User
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


def test_staff_moves_a_user_to_a_court(settings: Settings,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(settings, "courts", "add", "洛阳市西工区人民法院") == 0

    async def add_users(session: AsyncSession) -> None:
        session.add_all([User(username="wang", role="leader", password_hash="x"),
                         User(username="zhao", role="dept_head", password_hash="x")])
        await session.flush()
        zhao = (await session.execute(select(User.id).where(User.username == "zhao"))).scalar()
        session.add(Department(name="立案庭", head_id=zhao))
    run_once(settings.database_url, add_users)

    assert _run(settings, "courts", "staff", "wang", "2") == 0
    assert _run(settings, "courts", "staff", "zhao", "2") == 2  # heads 立案庭 of court 1
    assert _run(settings, "courts", "staff", "nobody", "2") == 2
    assert _run(settings, "courts", "staff", "wang", "9") == 2

    out, err = capsys.readouterr()
    assert "wang is now staff of court 2 (洛阳市西工区人民法院)" in out
    assert "another court's department" in err and "no user 'nobody'" in err
    assert "no court 9" in err
    courts = run_once(settings.database_url, lambda s: _courts_of(s, ("wang", "zhao")))
    assert courts == {"wang": 2, "zhao": 1}


async def _courts_of(session: AsyncSession, names: tuple[str, ...]) -> dict[str, int]:
    rows = await session.execute(select(User.username, User.court_id)
                                 .where(User.username.in_(names)))
    return {name: court for name, court in rows}
