"""`hotline upgrade`: its steps in order, and when the migration fails the database back as
the backup it took holds it and the hotline left stopped (the new code must not start on
the old schema). Stopping and starting are recorded, not run: they start Asterisk."""

from __future__ import annotations

import argparse
import dataclasses
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from cli import backup as cli_backup
from cli import health, system
from hotline.db import migrate
from hotline.db.base import sync_url
from hotline.settings import BackupSettings, PbxSettings, Settings
from tests.unit.hotline.test_backup import failing_migrations


@pytest.fixture
def steps(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    done: list[str] = []
    monkeypatch.setattr(system, "cmd_down", lambda *_: done.append("down") or 0)
    monkeypatch.setattr(system, "cmd_up", lambda *_: done.append("up") or 0)
    monkeypatch.setattr(health, "cmd_status", lambda *_: done.append("status") or 0)
    return done


def site(settings: Settings, tmp_path: Path, template: Path) -> Settings:
    """A migrated SQLite database (a copy of the run's template) and the backup folder. The
    tests are not async: `hotline db upgrade` runs its own event loop."""
    target = Path(str(make_url(settings.database_url).database))
    target.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(template) as source, sqlite3.connect(target) as copy:
        source.backup(copy)
    return dataclasses.replace(settings, backup=BackupSettings(dir=tmp_path / "nas"),
                               pbx=PbxSettings(mode="sandbox", sandbox_dir=tmp_path / "sb"))


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_upgrade_stops_backs_up_migrates_starts_and_checks(
        settings: Settings, _sqlite_template: Path, tmp_path: Path, steps: list[str]) -> None:
    settings = site(settings, tmp_path, _sqlite_template)
    assert cli_backup.cmd_upgrade(settings, argparse.Namespace(to=None)) == 0
    assert steps == ["down", "up", "status"]
    assert len(list((tmp_path / "nas").glob("hotline-backup-*.tar"))) == 1


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_failed_migration_leaves_the_old_database_and_the_hotline_stopped(
        settings: Settings, _sqlite_template: Path, tmp_path: Path, steps: list[str],
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    settings = site(settings, tmp_path, _sqlite_template)
    with sqlite3.connect(make_url(settings.database_url).database or "") as db:
        db.execute("INSERT INTO alerts (kind, key, message, raised_at) VALUES "
                   "('probe', 'kept', '升级之前', '2026-12-01 00:00:00')")
    monkeypatch.setattr(migrate, "MIGRATIONS", failing_migrations(tmp_path))

    assert cli_backup.cmd_upgrade(settings, argparse.Namespace(to=None)) == 1

    assert steps == ["down"]
    err = capsys.readouterr().err
    assert "made to fail" in err and "The hotline is stopped" in err
    engine = create_engine(sync_url(settings.database_url))
    try:
        with engine.connect() as db:
            assert "upgrade_probe" not in inspect(db).get_table_names()
            # the migration deleted it, committed, before it failed: the backup's copy is back
            assert db.execute(text("SELECT key FROM alerts")).scalars().all() == ["kept"]
            version = db.execute(text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        engine.dispose()
    assert version != "9999"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_up_on_an_older_schema_backs_up_before_it_migrates(
        settings: Settings, _sqlite_template: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    # New code started with `hotline up` instead of `hotline upgrade`: the parts would
    # each migrate as they start, with no backup to go back to.
    settings = site(settings, tmp_path, _sqlite_template)
    Path(str(make_url(settings.database_url).database)).unlink()
    migrate.upgrade(settings.database_url, "0020")  # the schema the older code left
    manifest = cli_backup.backup_before_migrating(settings)

    assert manifest is not None
    assert [p.name for p in (tmp_path / "nas").glob("hotline-backup-*.tar")] == [
        f"{manifest.name}.tar"]
    assert "at revision 0020" in capsys.readouterr().out
    assert migrate.pending(settings.database_url) == (None, None)
    # up to date now: the next start backs up nothing
    assert cli_backup.backup_before_migrating(settings) is None
    assert len(list((tmp_path / "nas").glob("hotline-backup-*.tar"))) == 1


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_up_starts_nothing_when_the_migration_fails(
        settings: Settings, _sqlite_template: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    settings = site(settings, tmp_path, _sqlite_template)
    monkeypatch.setattr(migrate, "MIGRATIONS", failing_migrations(tmp_path))
    started: list[str] = []
    monkeypatch.setattr(system.service, "installed", lambda: started.append("up") or False)

    assert system.cmd_up(settings, argparse.Namespace()) == 1

    assert started == []
    err = capsys.readouterr().err
    assert "made to fail" in err and "Nothing was started" in err
