"""hotline.backup: what an archive holds, the incremental inventory and pruning, the
checks before a restore, the restore itself (SQLite and PostgreSQL), the nightly slot,
and the way back when a migration fails (a real Alembic migration made to fail)."""

from __future__ import annotations

import dataclasses
import shutil
import sqlite3
import tarfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline import backup
from hotline.db import alerts, migrate
from hotline.db.base import session_scope, sync_url
from hotline.db.models import Alert
from hotline.settings import DatabaseSettings, PathsSettings, Settings

T0 = datetime(2026, 12, 1, 18, 30, tzinfo=UTC)  # 02:30 in Shanghai the next day
SHANGHAI = ZoneInfo("Asia/Shanghai")


def put(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.fixture
def site(tmp_path: Path) -> tuple[Settings, Path]:
    """A data folder with a bare SQLite database (enough to be copied) and a recordings
    folder; no migrations, so these tests cost milliseconds."""
    data = tmp_path / "data"
    data.mkdir()
    with sqlite3.connect(data / "hotline.db") as db:
        db.execute("CREATE TABLE alembic_version (version_num TEXT)")
        db.execute("INSERT INTO alembic_version VALUES ('0019')")
    settings = dataclasses.replace(Settings(), paths=PathsSettings(data_dir=data),
                                   database=DatabaseSettings())
    return settings, tmp_path / "recordings"


def back_up(site: tuple[Settings, Path], folder: Path, at: datetime, **kw: object
            ) -> backup.Manifest:
    settings, root = site
    return backup.make_backup(settings, root, folder, now=at, config=Path("/nonexistent"),
                              **kw)  # type: ignore[arg-type]


def test_recordings_are_stored_once_and_named_from_the_archive_that_holds_them(
        site: tuple[Settings, Path], tmp_path: Path) -> None:
    settings, root = site
    folder = tmp_path / "nas"
    put(root / "2026/12/01/a.wav", b"A" * 1000)
    put(settings.data_dir / "attachments/tickets/1/scan.pdf", b"%PDF")
    put(settings.data_dir / "secrets.toml", b'ami_secret = "x"\n')
    put(settings.data_dir / "log/bridge.log", b"not backed up")
    put(settings.data_dir / "old-backups" / backup.LOCK, b"")  # a backup --to folder
    put(settings.data_dir / "old-backups/hotline-backup-20261101-023000.tar", b"not again")
    first = back_up(site, folder, T0)
    put(root / "2026/12/02/b.wav", b"B" * 500)
    second = back_up(site, folder, T0 + timedelta(days=1))

    assert first.base is None and second.base == first.name
    assert set(first.files) == {"database/hotline.db.gz", "data/secrets.toml",
                                "recordings/2026/12/01/a.wav",
                                "data/attachments/tickets/1/scan.pdf"}
    # the second archive: the whole database and settings, only the new recording
    assert set(second.files) == {"database/hotline.db.gz", "data/secrets.toml",
                                 "recordings/2026/12/02/b.wav"}
    where = {member: stored.archive for member, stored in second.inventory.items()}
    assert where == {"recordings/2026/12/01/a.wav": first.name,
                     "data/attachments/tickets/1/scan.pdf": first.name,
                     "recordings/2026/12/02/b.wav": second.name}
    assert second.needs == {first.name}
    assert second.database == {"kind": "sqlite", "member": "database/hotline.db.gz",
                               "revision": "0019"}
    # the archive is a plain tar of one folder, the manifest last, as documented
    with tarfile.open(backup.archive_path(folder, second.name)) as tar:
        names = tar.getnames()
    assert names[-1] == f"{second.name}/manifest.json"
    assert all(name.startswith(f"{second.name}/") for name in names)


def test_a_changed_recording_is_stored_again_and_full_stores_everything(
        site: tuple[Settings, Path], tmp_path: Path) -> None:
    _, root = site
    folder = tmp_path / "nas"
    wav = put(root / "a.wav", b"A" * 100)
    first = back_up(site, folder, T0)
    put(wav, b"A" * 200)  # it grew: a call still being recorded at the first backup
    second = back_up(site, folder, T0 + timedelta(hours=1))
    third = back_up(site, folder, T0 + timedelta(hours=2), full=True)

    assert second.inventory["recordings/a.wav"].archive == second.name
    assert second.inventory["recordings/a.wav"].size == 200 and second.needs == set()
    assert third.base is None and "recordings/a.wav" in third.files
    assert first.name != second.name != third.name


def test_pruning_keeps_the_newest_and_what_they_need() -> None:
    def made(name: str, hours: int, holds: dict[str, str]) -> backup.Manifest:
        inventory = {m: backup.Stored(1, 1, "x", archive) for m, archive in holds.items()}
        return backup.Manifest(name, T0 + timedelta(hours=hours), {}, None, {}, inventory)

    old = made("a", 0, {"r1": "a"})
    mid = made("b", 1, {"r1": "a", "r2": "b"})
    new = made("c", 2, {"r2": "b", "r3": "c"})  # r1 was deleted by retention
    assert backup.to_prune([old, mid, new], keep=1) == ["a"]
    assert backup.to_prune([old, mid, new], keep=2) == []
    assert backup.to_prune([old, mid], keep=1) == []


def test_prune_deletes_only_archives_nobody_needs(site: tuple[Settings, Path],
                                                  tmp_path: Path) -> None:
    _, root = site
    folder = tmp_path / "nas"
    wav = put(root / "a.wav", b"A")
    first = back_up(site, folder, T0)
    put(root / "b.wav", b"B")
    second = back_up(site, folder, T0 + timedelta(days=1))
    assert backup.prune(folder, keep=1) == []  # the second needs a.wav from the first
    wav.unlink()
    third = back_up(site, folder, T0 + timedelta(days=2))

    # the newest needs b.wav from the second; the first is named by a kept one no more
    assert backup.prune(folder, keep=1) == [first.name]
    assert sorted(p.name for p in folder.glob("*.tar")) == [f"{second.name}.tar",
                                                           f"{third.name}.tar"]


def test_a_restore_puts_everything_back_and_refuses_a_folder_in_use(
        site: tuple[Settings, Path], tmp_path: Path) -> None:
    settings, root = site
    folder = tmp_path / "nas"
    put(root / "2026/12/01/a.wav", b"A" * 1000)
    put(settings.data_dir / "secrets.toml", b"secret")
    put(settings.data_dir / "prompts/zh/welcome.wav", b"court's own voice")
    config = put(tmp_path / "hotline.toml", b"[court]\nname = 'A'\n")
    back_up(site, folder, T0)
    put(root / "2026/12/02/b.wav", b"B" * 10)
    last = backup.make_backup(settings, root, folder, now=T0 + timedelta(days=1),
                              config=config)
    new_config = put(tmp_path / "new" / "hotline.toml", b"# shipped\n")
    target = backup.Target(tmp_path / "new/data", f"sqlite:///{tmp_path}/new/data/hotline.db",
                           tmp_path / "new/recordings", new_config)

    done = backup.restore(backup.archive_path(folder, last.name), target)

    assert (target.recordings_root / "2026/12/01/a.wav").read_bytes() == b"A" * 1000
    assert (target.recordings_root / "2026/12/02/b.wav").read_bytes() == b"B" * 10
    assert (target.data_dir / "secrets.toml").read_bytes() == b"secret"
    assert (target.data_dir / "prompts/zh/welcome.wav").read_bytes() == b"court's own voice"
    assert new_config.read_bytes() == config.read_bytes()
    assert done.config_kept_as is not None and done.config_kept_as.read_bytes() == b"# shipped\n"
    with sqlite3.connect(target.data_dir / "hotline.db") as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchone() == ("0019",)
    assert (done.data_files, done.stored_files) == (2, 2)
    with pytest.raises(backup.BackupError, match=r"data folder .* is not empty"):
        backup.restore(backup.archive_path(folder, last.name), target)
    backup.restore(backup.archive_path(folder, last.name), target, force=True)


def test_a_damaged_or_missing_archive_is_found_before_anything_is_written(
        site: tuple[Settings, Path], tmp_path: Path) -> None:
    _, root = site
    folder = tmp_path / "nas"
    put(root / "a.wav", b"A" * 4000)
    first = back_up(site, folder, T0)
    put(root / "b.wav", b"B")
    last = back_up(site, folder, T0 + timedelta(days=1))
    old = backup.archive_path(folder, first.name)
    data = bytearray(old.read_bytes())
    at = data.index(b"A" * 4000)
    data[at + 10] = ord("X")  # one byte of the older archive's recording
    old.write_bytes(bytes(data))
    target = backup.Target(tmp_path / "new", "sqlite:///" + str(tmp_path / "new/hotline.db"),
                           tmp_path / "new-rec", None)

    with pytest.raises(backup.BackupError, match=r"recordings/a\.wav: checksum differs"):
        backup.restore(backup.archive_path(folder, last.name), target)
    assert not target.data_dir.exists() and not target.recordings_root.exists()
    old.unlink()
    with pytest.raises(backup.BackupError, match=f"{first.name}.tar is missing"):
        backup.check(backup.archive_path(folder, last.name))


def test_the_nightly_slot_is_court_time_and_caught_up_once() -> None:
    assert backup.last_slot(T0, "02:30", SHANGHAI) == T0
    assert backup.last_slot(T0 - timedelta(minutes=1), "02:30", SHANGHAI) == T0 - timedelta(days=1)
    assert backup.nightly_due(T0, T0 - timedelta(hours=20), "02:30", SHANGHAI)
    assert not backup.nightly_due(T0 + timedelta(hours=5), T0, "02:30", SHANGHAI)
    # off at 02:30 for three nights: one backup when it is back, not three
    back = T0 + timedelta(days=3, hours=6)
    assert backup.nightly_due(back, T0 - timedelta(days=1), "02:30", SHANGHAI)
    assert not backup.nightly_due(back + timedelta(minutes=1), back, "02:30", SHANGHAI)


async def test_the_database_comes_back_on_either_kind(
        settings: Settings, sessions: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    """The online copy (SQLite) or pg_dump, and back: a fresh SQLite file, or PostgreSQL's
    database restored over (--force) with a row deleted since the backup back again."""
    async with session_scope(sessions) as session:
        await alerts.raise_alert(session, "probe", "before", "备份之前")
    manifest = backup.make_backup(settings, tmp_path / "rec", tmp_path / "nas",
                                  config=Path("/nonexistent"))
    async with session_scope(sessions) as session:
        await session.execute(Alert.__table__.delete())
    archive = backup.archive_path(tmp_path / "nas", manifest.name)
    sqlite = make_url(settings.database_url).get_backend_name() == "sqlite"
    url = f"sqlite:///{tmp_path}/new/hotline.db" if sqlite else settings.database_url
    target = backup.Target(tmp_path / "new", url, tmp_path / "new-rec", None)

    if not sqlite:
        with pytest.raises(backup.BackupError, match="has tables"):
            backup.restore(archive, target)
    backup.restore(archive, target, force=not sqlite)

    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as db:
            keys = list(db.execute(select(Alert.__table__.c.key)).scalars())
            version = db.execute(text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        engine.dispose()
    assert keys == ["before"] and version == manifest.database["revision"] != ""


FAILING_MIGRATION = '''
"""made to fail (tests/unit/hotline/test_backup.py)"""
import sqlite3

from alembic import op
import sqlalchemy as sa

revision = "9999"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("upgrade_probe", sa.Column("id", sa.Integer, primary_key=True))
    # what a half-applied migration leaves: a change committed outside its transaction
    with sqlite3.connect(op.get_bind().engine.url.database) as other:
        other.execute("DELETE FROM alerts")
    raise RuntimeError("made to fail")


def downgrade() -> None:
    pass
'''


def failing_migrations(tmp_path: Path) -> Path:
    """The project's migrations and one more after head that fails half-way."""
    migrations = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS, migrations)
    head = ScriptDirectory.from_config(migrate.alembic_config("sqlite://")).get_current_head()
    (migrations / "versions" / "9999_fails.py").write_text(FAILING_MIGRATION.format(head=head))
    return migrations


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_a_failed_migration_puts_the_database_back(
        settings: Settings, sessions: async_sessionmaker[AsyncSession], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    async with session_scope(sessions) as session:
        await alerts.raise_alert(session, "probe", "kept", "升级之前")
    manifest = backup.make_backup(settings, tmp_path / "rec", tmp_path / "nas",
                                  config=Path("/nonexistent"))
    monkeypatch.setattr(migrate, "MIGRATIONS", failing_migrations(tmp_path))
    url = settings.database_url

    with pytest.raises(backup.BackupError, match="made to fail"):
        backup.migrate_or_roll_back(backup.archive_path(tmp_path / "nas", manifest.name), url,
                                    lambda: migrate.upgrade(url))

    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as db:
            assert "upgrade_probe" not in inspect(db).get_table_names()
            version = db.execute(text("SELECT version_num FROM alembic_version")).scalar()
            keys = list(db.execute(select(Alert.__table__.c.key)).scalars())
    finally:
        engine.dispose()
    assert version == manifest.database["revision"] and keys == ["kept"]


def test_status_says_how_old_the_newest_backup_is(site: tuple[Settings, Path],
                                                  tmp_path: Path) -> None:
    settings, _root = site
    settings = dataclasses.replace(settings, backup=dataclasses.replace(
        settings.backup, dir=tmp_path / "nas"))
    assert backup.status_line(settings, T0).startswith("WARNING   backup: none yet in ")

    back_up(site, tmp_path / "nas", T0 - timedelta(days=3))
    last = back_up(site, tmp_path / "nas", T0)
    (tmp_path / "nas" / "hotline-backup-20991231-000000.tar").write_text("not a tar")

    line = backup.status_line(settings, T0 + timedelta(hours=30))
    # The newest readable one, in court time; 30 hours is no warning yet.
    assert line == f"backup    newest 2026-12-02 02:30, 30 h old ({last.name})"
    stale = backup.status_line(settings, T0 + timedelta(days=2, hours=1))
    assert stale.startswith("WARNING   backup: newest 2026-12-02 02:30, 2 days old")
    assert "nightly job at 02:30" in stale


def test_status_does_not_warn_when_the_nightly_job_is_off(site: tuple[Settings, Path],
                                                          tmp_path: Path) -> None:
    settings, _root = site
    settings = dataclasses.replace(settings, backup=dataclasses.replace(
        settings.backup, dir=tmp_path / "nas", nightly=False))
    back_up(site, tmp_path / "nas", T0)

    line = backup.status_line(settings, T0 + timedelta(days=9))
    assert line.startswith("backup    newest") and line.endswith("(nightly off)")
    assert backup.status_line(dataclasses.replace(settings, backup=dataclasses.replace(
        settings.backup, dir=tmp_path / "empty")), T0).startswith("backup    none yet")
