"""`hotline user ...` and the `console` command, on a migrated database of each backend."""

from __future__ import annotations

import argparse

import pytest

from agent_console import accounts, cli
from hotline.db.base import run_once
from hotline.db.migrate import upgrade
from hotline.settings import Settings


@pytest.fixture
def migrated(settings: Settings) -> Settings:
    upgrade(settings.database_url)
    return settings


def _run(settings: Settings, *argv: str) -> int:
    parser = argparse.ArgumentParser(prog="hotline")
    cli.register(parser.add_subparsers(required=True))
    args = parser.parse_args(argv)
    return int(args.func(settings, args))


def _can_log_in(settings: Settings, username: str, password: str) -> bool:
    return run_once(settings.database_url,
                    lambda s: accounts.authenticate(s, username, password)) is not None


def test_commands_are_registered() -> None:
    parser = argparse.ArgumentParser(prog="hotline")
    cli.register(parser.add_subparsers(required=True))

    for argv in (["user", "add", "zhang", "--role", "agent"], ["user", "list"],
                 ["user", "passwd", "zhang"], ["console"]):
        assert callable(parser.parse_args(argv).func)
    with pytest.raises(SystemExit):
        parser.parse_args(["user", "add", "zhang", "--role", "root"])


def test_user_add_from_the_environment_then_list(
        migrated: Settings, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv(cli.PASSWORD_VAR, "secret-12368")

    assert _run(migrated, "user", "add", "zhang", "--role", "agent", "--name", "张三",
                "--extension", "8001") == 0
    assert capsys.readouterr().out == "user zhang added (agent)\n"
    assert _run(migrated, "user", "list") == 0

    assert capsys.readouterr().out.split() == ["zhang", "agent", "座席员", "8001", "active",
                                               "张三"]
    assert _can_log_in(migrated, "zhang", "secret-12368")


def test_user_add_asks_twice_and_refuses_a_mismatch(
        migrated: Settings, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv(cli.PASSWORD_VAR, raising=False)
    typed = iter(["secret-12368", "secret-12369"])
    monkeypatch.setattr(cli.getpass, "getpass", lambda prompt: next(typed))

    assert _run(migrated, "user", "add", "zhang", "--role", "agent") == 2

    assert "the two passwords differ" in capsys.readouterr().err
    assert not _can_log_in(migrated, "zhang", "secret-12368")


def test_user_add_refuses_a_duplicate(migrated: Settings, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv(cli.PASSWORD_VAR, "secret-12368")
    assert _run(migrated, "user", "add", "zhang", "--role", "agent") == 0

    assert _run(migrated, "user", "add", "zhang", "--role", "admin") == 2
    assert "user 'zhang' already exists" in capsys.readouterr().err


def test_user_passwd(migrated: Settings, monkeypatch: pytest.MonkeyPatch,
                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv(cli.PASSWORD_VAR, "secret-12368")
    assert _run(migrated, "user", "add", "zhang", "--role", "agent") == 0
    typed = iter(["another-12368", "another-12368"])
    monkeypatch.delenv(cli.PASSWORD_VAR)
    monkeypatch.setattr(cli.getpass, "getpass", lambda prompt: next(typed))

    assert _run(migrated, "user", "passwd", "zhang") == 0

    assert "password of zhang changed" in capsys.readouterr().out
    assert _can_log_in(migrated, "zhang", "another-12368")
    assert not _can_log_in(migrated, "zhang", "secret-12368")
    monkeypatch.setenv(cli.PASSWORD_VAR, "another-12368")
    assert _run(migrated, "user", "passwd", "li") == 2
    assert "no user 'li'" in capsys.readouterr().err
