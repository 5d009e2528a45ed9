"""Backups that restore (docs/operations.md, "Backups and restore").

A backup is one tar file, ``hotline-backup-YYYYMMDD-HHMMSS.tar`` (court time), holding one
folder of the same name::

    database/hotline.db.gz   SQLite's online backup, gzipped (PostgreSQL: hotline.pgdump,
                             pg_dump's custom format)
    config/hotline.toml      the settings file in use
    data/...                 the data folder's own files: secrets, overrides, prompts,
                             attachments (not the database, logs, run files or the PBX's
                             rendered instance, which `hotline up` makes again)
    recordings/...           the recordings new or changed since the previous backup
    manifest.json            every member's size and SHA-256, and the inventory (last)

The database, the settings and the small data files are whole in every archive. Recordings
and attachments are incremental: the manifest's inventory lists every one present at the
backup with the archive that holds its bytes, this one or an older one in the same folder.
So restoring an archive takes exactly the archives its manifest names in ``needs``, and
pruning keeps those. Nothing is ever changed inside an archive once written: a new one is
written as ``.partial`` and renamed when complete.
"""

from __future__ import annotations

import contextlib
import fcntl
import gzip
import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from hotline.settings import DEFAULT_CONFIG, Settings

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

FORMAT = 1
PREFIX = "hotline-backup-"
SUFFIX = ".tar"
PARTIAL = ".partial"
MANIFEST = "manifest.json"
LOCK = ".hotline-backup.lock"
SQLITE_MEMBER = "database/hotline.db.gz"
PG_MEMBER = "database/hotline.pgdump"
CONFIG_MEMBER = "config/hotline.toml"
# Data-folder entries left out: the database (copied on its own), what the processes
# rebuild or use only while they run, and the PBX instance rendered at each start (its
# recordings are backed up from the recordings folder).
SKIP_DATA = frozenset({"hotline.db", "hotline.db-wal", "hotline.db-shm", "hotline.db.restoring",
                       "log", "run", "pbx", "prompt-cache"})
# Data folders that only grow, backed up incrementally like the recordings.
INCREMENTAL_DATA = ("attachments",)
CHUNK = 1 << 20


class BackupError(RuntimeError):
    """A backup or restore cannot go on; the message says what and where."""


@dataclass(frozen=True)
class Member:
    size: int
    sha256: str


@dataclass(frozen=True)
class Stored:
    """A recording or attachment, and the archive whose tar holds its bytes."""

    size: int
    mtime_ns: int
    sha256: str
    archive: str


@dataclass
class Manifest:
    name: str
    created_at: datetime
    database: dict[str, str]  # kind (sqlite, postgresql), member, revision (alembic)
    base: str | None  # the previous backup this one is incremental on
    files: dict[str, Member] = field(default_factory=dict)  # members of this tar
    inventory: dict[str, Stored] = field(default_factory=dict)  # member -> where it is

    @property
    def needs(self) -> set[str]:
        """The other archives a restore of this one reads."""
        return {s.archive for s in self.inventory.values()} - {self.name}

    def to_json(self) -> str:
        return json.dumps({
            "format": FORMAT, "name": self.name, "created_at": self.created_at.isoformat(),
            "database": self.database, "base": self.base, "needs": sorted(self.needs),
            "files": {k: vars(v) for k, v in sorted(self.files.items())},
            "inventory": {k: vars(v) for k, v in sorted(self.inventory.items())},
        }, indent=1, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        raw = json.loads(text)
        if raw.get("format") != FORMAT:
            raise BackupError(f"manifest format {raw.get('format')!r}: this hotline reads "
                              f"format {FORMAT}")
        return cls(name=raw["name"], created_at=datetime.fromisoformat(raw["created_at"]),
                   database=dict(raw["database"]), base=raw.get("base"),
                   files={k: Member(**v) for k, v in raw["files"].items()},
                   inventory={k: Stored(**v) for k, v in raw["inventory"].items()})


def make_url(url: str) -> URL:
    """SQLAlchemy's URL, imported when a database is backed up or restored: `hotline
    status` reads the backup folder without loading SQLAlchemy."""
    from sqlalchemy.engine import make_url as parse

    return parse(url)


# --- reading a backup folder -------------------------------------------------------------

def archive_path(folder: Path, name: str) -> Path:
    return folder / f"{name}{SUFFIX}"


def read_manifest(path: Path) -> Manifest:
    """The manifest inside an archive; BackupError when it is not a readable backup."""
    name = path.name.removesuffix(SUFFIX)
    try:
        with tarfile.open(path, "r:") as tar:
            handle = tar.extractfile(f"{name}/{MANIFEST}")
            if handle is None:
                raise KeyError(MANIFEST)
            manifest = Manifest.from_json(handle.read().decode())
    except (OSError, tarfile.TarError, KeyError, ValueError, TypeError) as exc:
        raise BackupError(f"{path}: not a readable hotline backup ({exc})") from exc
    if manifest.name != name:
        raise BackupError(f"{path}: its manifest is of {manifest.name}; the file was renamed")
    return manifest


def list_backups(folder: Path) -> tuple[list[Manifest], list[str]]:
    """The folder's backups, oldest first, and the problems of those that cannot be read."""
    found, broken = [], []
    for path in sorted(folder.glob(f"{PREFIX}*{SUFFIX}")):
        try:
            found.append(read_manifest(path))
        except BackupError as exc:
            broken.append(str(exc))
    return sorted(found, key=lambda m: m.created_at), broken


def to_prune(backups: list[Manifest], keep: int) -> list[str]:
    """The backups to delete: all but the newest `keep` and the older ones those need."""
    kept = backups[-keep:] if keep > 0 else backups
    needed = {m.name for m in kept}.union(*(m.needs for m in kept))
    return [m.name for m in backups if m.name not in needed]


def prune(folder: Path, keep: int) -> list[str]:
    """Delete what to_prune says (under the folder's lock); the names deleted."""
    with _locked(folder):
        backups, _ = list_backups(folder)
        gone = to_prune(backups, keep)
        for name in gone:
            archive_path(folder, name).unlink()
    return gone


# A nightly backup missed once is a warning by the next morning; two days means the job
# has failed (or not run) at least twice.
STALE_AFTER = timedelta(days=2)


def newest(folder: Path) -> Manifest | None:
    """The newest readable backup of the folder (a name sorts by its time): only a backup
    that succeeded has an archive of that name (one being written is .partial)."""
    for path in sorted(folder.glob(f"{PREFIX}*{SUFFIX}"), reverse=True):
        with contextlib.suppress(BackupError):
            return read_manifest(path)
    return None


def status_line(settings: Settings, now: datetime) -> str:
    """`hotline status`: how old the last successful backup is. A WARNING when the nightly
    job is on and it is older than STALE_AFTER, or there is none."""
    folder = backup_folder(settings)
    last = newest(folder) if folder.is_dir() else None
    nightly = settings.backup.nightly
    if last is None:
        said = f"none yet in {folder}"
        return _labelled(nightly, said + (f" (nightly at {settings.backup.time})" if nightly
                                          else " (nightly off)"))
    age = now - last.created_at
    when = last.created_at.astimezone(ZoneInfo(settings.hours.timezone))
    shown = (f"{age.total_seconds() / 3600:.0f} h" if age < timedelta(hours=48)
             else f"{age.days} days")
    said = f"newest {when:%Y-%m-%d %H:%M}, {shown} old ({last.name})"
    if not nightly:
        return _labelled(False, said + " (nightly off)")
    stale = age > STALE_AFTER
    return _labelled(stale, said + (f"; the nightly job at {settings.backup.time} has made "
                                    "none since" if stale else ""))


def _labelled(warning: bool, said: str) -> str:
    return f"WARNING   backup: {said}" if warning else f"backup    {said}"


# --- making a backup ---------------------------------------------------------------------

def backup_folder(settings: Settings) -> Path:
    """[backup] dir, a relative one in the data folder."""
    folder = settings.backup.dir
    return folder if folder.is_absolute() else settings.data_dir / folder


def config_in_use(env: dict[str, str] | None = None) -> Path:
    env = dict(os.environ) if env is None else env
    return Path(env["HOTLINE_CONFIG"]) if "HOTLINE_CONFIG" in env else DEFAULT_CONFIG


def make_backup(settings: Settings, recordings_root: Path, folder: Path, *,
                full: bool = False, config: Path | None = None,
                now: datetime | None = None) -> Manifest:
    """Write one archive into folder: incremental on the newest readable one there,
    unless full. Returns its manifest."""
    folder.mkdir(parents=True, exist_ok=True)
    with _locked(folder):
        for stale in folder.glob(f"{PREFIX}*{SUFFIX}{PARTIAL}"):
            stale.unlink()  # a backup that died: nothing refers to it
        backups, _ = list_backups(folder)
        previous = None if full or not backups else backups[-1]
        created = (now or datetime.now(UTC)).astimezone(UTC)
        name = _new_name(folder, created, ZoneInfo(settings.hours.timezone))
        partial = folder / f"{name}{SUFFIX}{PARTIAL}"
        try:
            manifest = _write(partial, settings, recordings_root, folder, name, created,
                              previous, {m.name for m in backups}, config or config_in_use())
            partial.rename(archive_path(folder, name))
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    return manifest


def _new_name(folder: Path, created: datetime, zone: ZoneInfo) -> str:
    name = PREFIX + created.astimezone(zone).strftime("%Y%m%d-%H%M%S")
    unique, n = name, 1
    while archive_path(folder, unique).exists():
        n += 1
        unique = f"{name}-{n}"
    return unique


def _write(partial: Path, settings: Settings, recordings_root: Path, folder: Path,
           name: str, created: datetime, previous: Manifest | None, present: set[str],
           config: Path) -> Manifest:
    old = previous.inventory if previous else {}
    with tarfile.open(partial, "w", format=tarfile.PAX_FORMAT) as tar, \
            tempfile.TemporaryDirectory(dir=folder, prefix=".work-") as work:
        out = _Writer(tar, name)
        # Files, then the database, then files again: every file the database names when
        # it is copied is in the archive (a recording processed meanwhile has both copies).
        _add_incremental(out, _incremental_files(settings, recordings_root), old, present)
        database = _add_database(out, settings.database_url, Path(work))
        if config.is_file():
            out.add_file(CONFIG_MEMBER, config)
        for member, path in _data_files(settings.data_dir, folder):
            out.add_file(member, path)
        _add_incremental(out, _incremental_files(settings, recordings_root), old, present)
        manifest = Manifest(name, created, database, previous.name if previous else None,
                            out.files, out.inventory)
        out.add_bytes(MANIFEST, manifest.to_json().encode())
    with open(partial, "rb") as handle:
        os.fsync(handle.fileno())
    return manifest


class _Writer:
    """Adds members under the archive's folder, hashing what it writes."""

    def __init__(self, tar: tarfile.TarFile, name: str) -> None:
        self.tar, self.name = tar, name
        self.files: dict[str, Member] = {}
        self.inventory: dict[str, Stored] = {}

    def add_file(self, member: str, path: Path) -> tuple[os.stat_result, str]:
        stat = path.stat()
        info = self._info(member, stat.st_size, stat.st_mtime, stat.st_mode & 0o777)
        with open(path, "rb") as handle:
            # Exactly the size stat gave: a recording still growing is taken as it was.
            reader = _Hashing(handle)
            self.tar.addfile(info, reader)
        digest = reader.hash.hexdigest()
        self.files[member] = Member(stat.st_size, digest)
        return stat, digest

    def add_bytes(self, member: str, data: bytes) -> None:
        self.tar.addfile(self._info(member, len(data), datetime.now(UTC).timestamp(), 0o640),
                         io.BytesIO(data))

    def _info(self, member: str, size: int, mtime: float, mode: int) -> tarfile.TarInfo:
        info = tarfile.TarInfo(f"{self.name}/{member}")
        info.size, info.mtime, info.mode = size, int(mtime), mode
        return info


class _Hashing:
    def __init__(self, handle: IO[bytes]) -> None:
        self.handle, self.hash = handle, hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(size)
        self.hash.update(data)
        return data


def _incremental_files(settings: Settings, recordings_root: Path) -> Iterator[tuple[str, Path]]:
    yield from _tree("recordings", recordings_root)
    for name in INCREMENTAL_DATA:
        yield from _tree(f"data/{name}", settings.data_dir / name)


def _tree(prefix: str, root: Path) -> Iterator[tuple[str, Path]]:
    if not root.is_dir():
        return
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for filename in sorted(filenames):
            path = Path(dirpath) / filename
            if path.is_file() and not path.is_symlink():
                yield f"{prefix}/{path.relative_to(root).as_posix()}", path


def _add_incremental(out: _Writer, files: Iterator[tuple[str, Path]],
                     old: dict[str, Stored], present: set[str]) -> None:
    """Each file once: named from the previous backup when unchanged and its archive is
    still there and readable, else added to this one."""
    for member, path in files:
        if member in out.inventory:
            continue
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue  # deleted while we looked (a WAV replaced by its compact copy)
        before = old.get(member)
        if (before and before.archive in present and before.size == stat.st_size
                and before.mtime_ns == stat.st_mtime_ns):
            out.inventory[member] = before
            continue
        with contextlib.suppress(FileNotFoundError):
            stat, digest = out.add_file(member, path)
            out.inventory[member] = Stored(stat.st_size, stat.st_mtime_ns, digest, out.name)


def _data_files(data_dir: Path, folder: Path) -> Iterator[tuple[str, Path]]:
    """The data folder's own files, not a backup folder inside it (this one, or another
    that a backup --to wrote into)."""
    skip = SKIP_DATA | set(INCREMENTAL_DATA)
    if not data_dir.is_dir():
        return
    for entry in sorted(data_dir.iterdir()):
        if (entry.name in skip or entry.resolve() == folder.resolve()
                or (entry / LOCK).exists()):
            continue
        if entry.is_dir() and not entry.is_symlink():
            yield from _tree(f"data/{entry.name}", entry)
        elif entry.is_file() and not entry.is_symlink() and not entry.name.endswith(".tmp"):
            yield f"data/{entry.name}", entry


def _add_database(out: _Writer, url: str, work: Path) -> dict[str, str]:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        snapshot = work / "hotline.db"
        _sqlite_snapshot(Path(parsed.database or ""), snapshot)
        revision = _sqlite_revision(snapshot)
        packed = work / "hotline.db.gz"
        with open(snapshot, "rb") as src, gzip.open(packed, "wb", compresslevel=6) as dst:
            shutil.copyfileobj(src, dst, CHUNK)
        out.add_file(SQLITE_MEMBER, packed)
        return {"kind": "sqlite", "member": SQLITE_MEMBER, "revision": revision}
    dump = work / "hotline.pgdump"
    _pg("pg_dump", parsed, "--format=custom", "--no-owner", "--no-privileges",
        f"--file={dump}")
    out.add_file(PG_MEMBER, dump)
    return {"kind": "postgresql", "member": PG_MEMBER, "revision": _pg_revision(url)}


def _sqlite_snapshot(source: Path, target: Path) -> None:
    """SQLite's online backup API: a consistent copy while the hotline writes."""
    if not source.is_file():
        raise BackupError(f"the database {source} does not exist")
    src = sqlite3.connect(source)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def _sqlite_revision(path: Path) -> str:
    db = sqlite3.connect(path)
    try:
        row = db.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError:
        row = None
    finally:
        db.close()
    return str(row[0]) if row else ""


def _pg_revision(url: str) -> str:
    from sqlalchemy import create_engine, text

    from hotline.db.base import sync_url

    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as db:
            return str(db.execute(text("SELECT version_num FROM alembic_version")).scalar())
    finally:
        engine.dispose()


def _pg(program: str, url: Any, *args: str) -> None:
    """Run pg_dump or pg_restore on the database; the password goes in the environment,
    not on the command line (ps shows that to every user)."""
    if not shutil.which(program):
        raise BackupError(f"{program} is not installed (Debian: apt-get install "
                          "postgresql-client)")
    env = {**os.environ}
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    target = url.set(drivername="postgresql", password=None).render_as_string()
    done = subprocess.run([program, *args, f"--dbname={target}"], env=env,
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{program} failed: {done.stderr.strip()[-500:]}")


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """One backup or prune at a time in a folder (the nightly job and a person's command)."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / LOCK, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise BackupError(f"{folder}: another backup is running there") from exc
        yield


# --- checking and restoring --------------------------------------------------------------

@dataclass(frozen=True)
class Target:
    """Where a restore puts things: this machine's settings."""

    data_dir: Path
    database_url: str
    recordings_root: Path
    config: Path | None  # None: the settings file is left as it is


@dataclass(frozen=True)
class Restored:
    name: str
    revision: str
    data_files: int
    stored_files: int
    config_kept_as: Path | None


def check(path: Path) -> tuple[Manifest, dict[str, Path]]:
    """Read every byte the restore of this archive needs and compare it with the manifest
    (this archive's members, and the recordings it names in older archives beside it).
    Returns the manifest and the archives by name; BackupError lists what is wrong."""
    manifest = read_manifest(path)
    archives = {manifest.name: path}
    problems = []
    for name in sorted(manifest.needs):
        other = archive_path(path.parent, name)
        if other.is_file():
            archives[name] = other
        else:
            held = sum(1 for s in manifest.inventory.values() if s.archive == name)
            problems.append(f"{other.name} is missing (it holds {held} of the files)")
    expected = {manifest.name: {m: f.sha256 for m, f in manifest.files.items()}}
    for member, stored in manifest.inventory.items():
        if stored.archive != manifest.name:
            expected.setdefault(stored.archive, {})[member] = stored.sha256
    for name, want in expected.items():
        if name in archives:
            problems += _check_archive(archives[name], name, want)
    if problems:
        raise BackupError(f"{path.name} cannot be restored:\n  " + "\n  ".join(problems[:20]))
    return manifest, archives


def _check_archive(path: Path, name: str, want: dict[str, str]) -> list[str]:
    seen, problems = set(), []
    try:
        with tarfile.open(path, "r:") as tar:
            for info in tar:
                member = info.name.removeprefix(f"{name}/")
                if member in want and info.isfile():
                    seen.add(member)
                    if _sha256(tar.extractfile(info)) != want[member]:
                        problems.append(f"{path.name}: {member}: checksum differs")
    except (OSError, tarfile.TarError) as exc:
        return [f"{path.name}: unreadable ({exc})"]
    problems += [f"{path.name}: {m}: not in the archive" for m in sorted(set(want) - seen)]
    return problems


def _sha256(handle: IO[bytes] | None) -> str:
    digest = hashlib.sha256()
    while handle and (chunk := handle.read(CHUNK)):
        digest.update(chunk)
    return digest.hexdigest()


def not_empty(target: Target, beside: Path | None = None) -> list[str]:
    """What a restore would overwrite: a data folder, database or recordings folder in use."""
    found = []
    if target.data_dir.is_dir():
        left = {"log", "run"} | ({beside.name} if beside and beside.parent == target.data_dir
                                 else set())
        if any(e.name not in left for e in target.data_dir.iterdir()):
            found.append(f"the data folder {target.data_dir} is not empty")
    if target.recordings_root.is_dir() and any(target.recordings_root.iterdir()):
        found.append(f"the recordings folder {target.recordings_root} is not empty")
    parsed = make_url(target.database_url)
    if parsed.get_backend_name() != "sqlite" and _pg_has_tables(target.database_url):
        found.append(f"the database {parsed.render_as_string()} has tables")
    return found


def _pg_has_tables(url: str) -> bool:
    from sqlalchemy import create_engine, inspect
    from sqlalchemy.exc import SQLAlchemyError

    from hotline.db.base import sync_url

    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as db:
            return bool(inspect(db).get_table_names())
    except SQLAlchemyError as exc:
        raise BackupError(f"the database {make_url(url).render_as_string()} cannot be "
                          f"reached (create it first): {exc.__cause__ or exc}") from exc
    finally:
        engine.dispose()


def restore(path: Path, target: Target, *, force: bool = False) -> Restored:
    """Check the archive (and those it needs), then put it back into target. Refuses a
    target in use unless force; nothing is written before the checks pass."""
    manifest, archives = check(path)
    _check_database_kind(manifest, target.database_url)
    in_use = not_empty(target, path.parent)
    if in_use and not force:
        raise BackupError("; ".join(in_use) + ": restore refuses to overwrite it "
                          "(--force to overwrite)")
    kept_as = _restore_config(archives[manifest.name], manifest, target.config)
    data = _extract(archives[manifest.name], manifest.name, _plain_data(manifest),
                    target, None)
    restore_database(archives[manifest.name], manifest, target.database_url)
    stored = 0
    for name, archive in archives.items():
        wanted = {m: s for m, s in manifest.inventory.items() if s.archive == name}
        stored += _extract(archive, name, set(wanted), target, wanted)
    return Restored(manifest.name, manifest.database.get("revision", ""), data, stored,
                    kept_as)


def _check_database_kind(manifest: Manifest, url: str) -> None:
    kind = make_url(url).get_backend_name()
    if manifest.database["kind"] != kind:
        raise BackupError(f"the backup holds a {manifest.database['kind']} database; this "
                          f"machine's [database] url is {kind}: set it to the same kind")


def _plain_data(manifest: Manifest) -> set[str]:
    return {m for m in manifest.files if m.startswith("data/") and m not in manifest.inventory}


def _restore_config(archive: Path, manifest: Manifest, config: Path | None) -> Path | None:
    """The settings file back where this machine reads it; a different one there is kept
    beside it as .before-restore."""
    text = archived_config(archive) if config is not None else None
    if config is None or text is None:
        return None
    kept = None
    if config.is_file() and config.read_bytes() != text:
        kept = config.with_name(config.name + ".before-restore")
        shutil.copy2(config, kept)
    config.parent.mkdir(parents=True, exist_ok=True)
    _atomic_write(config, io.BytesIO(text), 0o640)
    return kept


def archived_config(archive: Path) -> bytes | None:
    """The settings file inside an archive (None: the backup was made without one)."""
    manifest = read_manifest(archive)
    if CONFIG_MEMBER not in manifest.files:
        return None
    with tarfile.open(archive, "r:") as tar:
        handle = tar.extractfile(f"{manifest.name}/{CONFIG_MEMBER}")
        return handle.read() if handle else None


def _extract(archive: Path, name: str, members: set[str], target: Target,
             stored: dict[str, Stored] | None) -> int:
    """Write the members to their places (data/ in the data folder, recordings/ in the
    recordings folder); each file appears whole or not at all."""
    count = 0
    with tarfile.open(archive, "r:") as tar:
        for info in tar:
            member = info.name.removeprefix(f"{name}/")
            if member not in members or not info.isfile():
                continue
            dest = _destination(member, target)
            source = tar.extractfile(info)
            assert source is not None
            _atomic_write(dest, source, info.mode & 0o777 or 0o640)
            if stored is not None:
                mtime = stored[member].mtime_ns
                os.utime(dest, ns=(mtime, mtime))
            count += 1
    return count


def _destination(member: str, target: Target) -> Path:
    top, _, rest = member.partition("/")
    root = {"data": target.data_dir, "recordings": target.recordings_root}.get(top)
    dest = (root / rest).resolve() if root and rest else None
    if root is None or dest is None or not dest.is_relative_to(root.resolve()):
        raise BackupError(f"{member}: not a place a restore writes to")
    return dest


def _atomic_write(dest: Path, source: IO[bytes] | io.BufferedIOBase, mode: int) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".restoring")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as out:
        os.fchmod(fd, mode)
        shutil.copyfileobj(source, out, CHUNK)
    tmp.replace(dest)


def restore_database(archive: Path, manifest: Manifest, url: str) -> None:
    """The archive's database in place of the one at url (the hotline stopped): used by a
    restore, and by `hotline upgrade` when a migration fails."""
    parsed = make_url(url)
    member = f"{manifest.name}/{manifest.database['member']}"
    with tarfile.open(archive, "r:") as tar, \
            tempfile.TemporaryDirectory(prefix="hotline-restore-") as work:
        source = tar.extractfile(member)
        if source is None:
            raise BackupError(f"{archive.name}: {member} is missing")
        if manifest.database["kind"] == "sqlite":
            _restore_sqlite(source, Path(parsed.database or ""))
        else:
            dump = Path(work) / "hotline.pgdump"
            with open(dump, "wb") as out:
                shutil.copyfileobj(source, out, CHUNK)
            _pg("pg_restore", parsed, "--clean", "--if-exists", "--no-owner",
                "--no-privileges", "--single-transaction", str(dump))


def _restore_sqlite(packed: IO[bytes], db: Path) -> None:
    db.parent.mkdir(parents=True, exist_ok=True)
    staged = db.with_name(db.name + ".restoring")
    _atomic_write(staged, gzip.GzipFile(fileobj=packed), 0o600)
    check_db = sqlite3.connect(staged)
    try:
        ok = check_db.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        check_db.close()
    if ok != "ok":
        staged.unlink()
        raise BackupError(f"the database in the backup fails SQLite's integrity check: {ok}")
    for suffix in ("-wal", "-shm"):  # an old write-ahead log must not be replayed onto it
        db.with_name(db.name + suffix).unlink(missing_ok=True)
    staged.replace(db)


def migrate_or_roll_back(archive: Path, database_url: str, migrate: Callable[[], object]
                         ) -> None:
    """Run migrate; when it fails, put the archive's database back and raise BackupError
    naming why (`hotline upgrade`'s way back)."""
    try:
        migrate()
    except Exception as exc:
        restore_database(archive, read_manifest(archive), database_url)
        raise BackupError(f"the migration failed ({type(exc).__name__}: {exc}); the "
                          f"database is back as it was in {archive.name}") from exc


# --- the nightly schedule ----------------------------------------------------------------

def last_slot(now: datetime, at: str, zone: ZoneInfo) -> datetime:
    """The latest moment at or before now when the court's clock read `at` (HH:MM)."""
    local = now.astimezone(zone)
    hour, minute = (int(part) for part in at.split(":"))
    slot = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if slot > local:
        slot = (slot - timedelta(days=1)).replace(hour=hour, minute=minute)
    return slot.astimezone(UTC)


def nightly_due(now: datetime, since: datetime, at: str, zone: ZoneInfo) -> bool:
    """A backup is due when the time of day passed after `since` (the newest backup, or
    the scheduler's start on a site with none): a server off at that hour backs up when
    it is next up, once."""
    return last_slot(now, at, zone) > since
