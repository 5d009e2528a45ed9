"""`hotline phones ...` on each backend, with no PBX running: changes are saved, errors
name the field, and the command says the reload is still to come."""

from __future__ import annotations

import argparse

import pytest

from cli import phones as cli_phones
from hotline.db import phones as phones_db
from hotline.db.base import run_once
from hotline.db.migrate import upgrade
from hotline.settings import Settings


@pytest.fixture
def migrated(settings: Settings) -> Settings:
    upgrade(settings.database_url)
    return settings


def _run(settings: Settings, *argv: str) -> int:
    parser = argparse.ArgumentParser(prog="hotline")
    cli_phones.register(parser.add_subparsers(required=True))
    args = parser.parse_args(argv)
    return int(args.func(settings, args))


def test_add_prints_the_password_and_saves_without_a_pbx(
        migrated: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    code = _run(migrated, "phones", "add", "8005", "--kind", "judge", "--label", "二楼")

    out, err = capsys.readouterr()
    phone = run_once(migrated.database_url, lambda s: phones_db.get_phone(s, "8005"))
    assert code == 1  # saved, but not applied: no Asterisk runs for this data folder
    assert f"SIP password of 8005: {phone.password}" in out
    assert "did not reload" in err and "hotline pbx up" in err
    assert (phone.kind, phone.label, phone.enabled) == ("judge", "二楼", True)


def test_disable_reset_and_list(migrated: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    _run(migrated, "phones", "add", "8005")
    first = run_once(migrated.database_url, lambda s: phones_db.get_phone(s, "8005")).password
    _run(migrated, "phones", "disable", "8005")
    _run(migrated, "phones", "reset-password", "8005")
    capsys.readouterr()

    assert _run(migrated, "phones", "list", "--passwords") == 0
    out, _ = capsys.readouterr()
    [line] = out.splitlines()
    fields = line.split()
    assert fields[:3] == ["8005", "seat", "disabled"]
    assert fields[4] != first and len(fields[4]) >= 16


def test_bad_input_names_the_field(migrated: Settings,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(migrated, "phones", "add", "12368") == 2
    assert "extension:" in capsys.readouterr().err
    assert _run(migrated, "phones", "add", "8006", "--kind", "boss") == 2
    assert "kind:" in capsys.readouterr().err
    assert _run(migrated, "phones", "disable", "8999") == 2
    assert "8999" in capsys.readouterr().err


def test_list_says_why_registrations_are_unknown(migrated: Settings,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(migrated, "phones", "list") == 0

    assert "(registration unknown: the PBX is not running)" in capsys.readouterr().err
