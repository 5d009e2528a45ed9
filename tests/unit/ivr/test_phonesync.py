"""The bridge's phone synchronisation (ivr/phonesync.py): what a round decides, and a round
on a real database and a real site/pjsip.conf (only the PJSIP reload is stood in for: the
real one, through AMI, is tests/integration/test_console_nodes.py's)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.db import phones as phones_db
from hotline.db.base import session_scope
from hotline.db.models import Phone
from hotline.settings import Settings
from ivr.phonesync import PhoneSync, Step, decide
from pbx.config import render_pjsip, write_atomic
from pbx.instance import PbxError


def test_decide() -> None:
    assert decide("a", "a", None) is Step.NOTHING
    assert decide("b", "a", None) is Step.WRITE
    assert decide("b", "a", "a") is Step.WRITE
    # written, but Asterisk did not take it: reloaded again although the file is right
    assert decide("a", "a", "a") is Step.RELOAD
    assert decide("a", "a", "old") is Step.NOTHING
    # no site/pjsip.conf: the PBX is not set up on this host; nothing to heal
    assert decide("a", None, None) is Step.NOTHING
    assert decide("a", None, "a") is Step.NOTHING


class Pbx:
    """pbx.apply_phones with the file written for real and the reload counted (or made to
    fail, as when AMI does not answer)."""

    def __init__(self, site_file: Path) -> None:
        self.site_file, self.reloads, self.failing = site_file, 0, False

    def __call__(self, settings: Settings, phones: Sequence[Phone]) -> None:
        write_atomic(self.site_file, render_pjsip(settings.pbx, phones, settings.cluster))
        if self.failing:
            raise PbxError("Asterisk did not reload PJSIP: AMI on port 5038 does not answer")
        self.reloads += 1


@pytest.fixture
def site_file(tmp_path: Path) -> Path:
    (tmp_path / "site").mkdir()
    return tmp_path / "site" / "pjsip.conf"


def _write(path: Path, text: str) -> None:
    path.write_text(text)


def _text(path: Path) -> str:
    return path.read_text()


def _exists(path: Path) -> bool:
    return path.exists()


def _mtime(path: Path) -> int:
    return path.stat().st_mtime_ns


async def _phones(sessions: async_sessionmaker[AsyncSession]) -> list[Phone]:
    async with session_scope(sessions) as session:
        return await phones_db.list_phones(session)


async def test_nothing_written_nor_reloaded_when_the_file_is_the_tables(
        settings: Settings, sessions: async_sessionmaker[AsyncSession], site_file: Path,
        tmp_path: Path) -> None:
    async with session_scope(sessions) as session:
        await phones_db.add_phone(session, "8001", phones_db.SEAT)
        await phones_db.add_phone(session, "8002", phones_db.SEAT)
        await phones_db.set_enabled(session, "8002", False)
    # The console (one server) already rendered it from every row, disabled ones included.
    _write(site_file, render_pjsip(settings.pbx, await _phones(sessions), settings.cluster))
    before = _mtime(site_file)
    pbx = Pbx(site_file)
    sync = PhoneSync(settings, sessions, site_file, apply=pbx, config=tmp_path / "none.toml")

    for _ in range(3):
        await sync.check()

    assert pbx.reloads == 0 and sync.applied == 0
    assert _mtime(site_file) == before


async def test_a_change_made_elsewhere_is_written_and_reloaded_once(
        settings: Settings, sessions: async_sessionmaker[AsyncSession], site_file: Path,
        tmp_path: Path) -> None:
    _write(site_file, render_pjsip(settings.pbx, [], settings.cluster))
    pbx = Pbx(site_file)
    sync = PhoneSync(settings, sessions, site_file, apply=pbx, config=tmp_path / "none.toml")
    async with session_scope(sessions) as session:  # another host's console
        await phones_db.add_phone(session, "8001", phones_db.SEAT)

    await sync.check()
    await sync.check()

    assert pbx.reloads == 1
    assert "[8001](staff-endpoint)" in _text(site_file)

    async with session_scope(sessions) as session:
        await phones_db.set_enabled(session, "8001", False)
    await sync.check()

    assert pbx.reloads == 2
    assert "8001" not in _text(site_file)


async def test_no_site_file_no_pbx_here_nothing_done(
        settings: Settings, sessions: async_sessionmaker[AsyncSession], site_file: Path,
        tmp_path: Path) -> None:
    async with session_scope(sessions) as session:
        await phones_db.add_phone(session, "8001", phones_db.SEAT)
    pbx = Pbx(site_file)
    sync = PhoneSync(settings, sessions, site_file, apply=pbx, config=tmp_path / "none.toml")

    await sync.check()

    assert pbx.reloads == 0 and not _exists(site_file)


async def test_a_failed_reload_is_retried_each_round_and_said_once(
        settings: Settings, sessions: async_sessionmaker[AsyncSession], site_file: Path,
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    _write(site_file, render_pjsip(settings.pbx, [], settings.cluster))
    pbx = Pbx(site_file)
    pbx.failing = True
    sync = PhoneSync(settings, sessions, site_file, apply=pbx, config=tmp_path / "none.toml")
    async with session_scope(sessions) as session:
        await phones_db.add_phone(session, "8001", phones_db.SEAT)

    with caplog.at_level(logging.INFO, logger="ivr.phonesync"):
        for _ in range(3):
            await sync.check()
        # The file was written at the first round; the reload is still owed.
        assert "[8001](staff-endpoint)" in _text(site_file)
        assert sync.unloaded == _text(site_file)
        pbx.failing = False
        await sync.check()
        await sync.check()

    assert pbx.reloads == 1 and sync.unloaded is None
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, warnings
    assert "does not answer" in warnings[0].getMessage()
    assert any("synchronised again" in r.getMessage() for r in caplog.records)


async def test_a_bridge_older_than_hotline_toml_does_not_undo_pbx_up(
        settings: Settings, sessions: async_sessionmaker[AsyncSession], site_file: Path,
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "hotline.toml"
    _write(config, f'[paths]\ndata_dir = "{tmp_path}"\n')
    monkeypatch.setenv("HOTLINE_CONFIG", str(config))
    pbx = Pbx(site_file)
    sync = PhoneSync(settings, sessions, site_file, apply=pbx, config=config)
    # The administrator moves SIP to another port and runs `hotline pbx up`; the bridge
    # still holds the old settings.
    _write(config, f'[paths]\ndata_dir = "{tmp_path}"\n[pbx]\nsip_port = 5090\n')
    _write(site_file, "; rendered by hotline pbx up from the new settings\n")

    await sync.check()
    await sync.check()

    assert pbx.reloads == 0
    assert _text(site_file).startswith("; rendered by hotline pbx up")
