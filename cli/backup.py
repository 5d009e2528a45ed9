"""`hotline backup`, `restore` and `upgrade`: the site's data kept safe and brought back
(hotline/backup.py; docs/operations.md, "Backups and restore" and "Upgrading")."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import pbx
from cli.health import BRIDGE_PROCESS, bridge_pid, scheduler_pid
from hotline import backup
from hotline.settings import Settings, load_settings


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add these commands to the `hotline` command's subparsers."""
    p = sub.add_parser("backup", help="one dated archive: database, settings, secrets, new "
                                      "recordings")
    p.add_argument("--to", type=Path, metavar="DIR", help="the folder ([backup] dir)")
    p.add_argument("--full", action="store_true",
                   help="every recording in this archive, none left in older ones")
    p.add_argument("--keep", type=int, metavar="N",
                   help="backups kept in the folder ([backup] keep; 0: all)")
    p.set_defaults(func=cmd_backup)
    p = sub.add_parser("restore", help="put a backup back (a fresh machine or data folder)")
    p.add_argument("archive", type=Path, help="hotline-backup-….tar (with the older "
                                              "archives it needs beside it)")
    p.add_argument("--check", action="store_true", help="only check it; change nothing")
    p.add_argument("--force", action="store_true",
                   help="overwrite a data folder, database or recordings already there")
    p.add_argument("--keep-config", action="store_true",
                   help="leave this machine's hotline.toml as it is")
    p.set_defaults(func=cmd_restore)
    p = sub.add_parser("upgrade", help="after new code: stop, back up, migrate, start, check "
                                       "(the database put back if the migration fails)")
    p.add_argument("--to", type=Path, metavar="DIR", help="the backup's folder ([backup] dir)")
    p.set_defaults(func=cmd_upgrade)


def cmd_backup(settings: Settings, args: argparse.Namespace) -> int:
    folder = args.to or backup.backup_folder(settings)
    try:
        manifest = backup.make_backup(settings, recordings_root(settings), folder,
                                      full=args.full)
        gone = backup.prune(folder, settings.backup.keep if args.keep is None else args.keep)
    except backup.BackupError as exc:
        print(f"hotline backup: {exc}", file=sys.stderr)
        return 1
    print(describe(manifest, folder))
    for name in gone:
        print(f"deleted {name}{backup.SUFFIX} (older than the {args.keep or settings.backup.keep}"
              " kept, and no kept backup needs it)")
    for problem in backup.list_backups(folder)[1]:  # never deleted: a person looks at it
        print(f"warning: {problem}", file=sys.stderr)
    return 0


def describe(manifest: backup.Manifest, folder: Path) -> str:
    path = backup.archive_path(folder, manifest.name)
    added = sum(1 for s in manifest.inventory.values() if s.archive == manifest.name)
    kind = f"incremental on {manifest.base}" if manifest.base else "full"
    return (f"{path} ({path.stat().st_size / 1e6:.1f} MB, {kind}): the {manifest.database['kind']}"
            f" database at revision {manifest.database['revision']}, {len(manifest.files)} "
            f"files, {added} of {len(manifest.inventory)} recordings and attachments in it")


def recordings_root(settings: Settings) -> Path:
    return pbx.instance_for(settings).recordings_dir


def cmd_restore(settings: Settings, args: argparse.Namespace) -> int:
    try:
        if args.check:
            manifest, archives = backup.check(args.archive)
            print(f"{args.archive}: good ({len(manifest.files)} files, "
                  f"{len(manifest.inventory)} recordings and attachments across "
                  f"{len(archives)} archive(s), all checksums match)")
            return 0
        running = _running(settings)
        if running:
            print(f"hotline restore: {', '.join(running)} running: `hotline down` first",
                  file=sys.stderr)
            return 1
        restored_settings = _target_settings(settings, args)
        target = backup.Target(restored_settings.data_dir, restored_settings.database_url,
                               recordings_root(restored_settings),
                               None if args.keep_config else backup.config_in_use())
        done = backup.restore(args.archive, target, force=args.force)
        _migrate(restored_settings)
    except backup.BackupError as exc:
        print(f"hotline restore: {exc}", file=sys.stderr)
        return 1
    print(f"restored {done.name}: the database (revision {done.revision}, migrated to this "
          f"version) and {done.data_files} data files into {target.data_dir}, "
          f"{done.stored_files} recordings (into {target.recordings_root}) and attachments")
    if done.config_kept_as:
        print(f"the settings file is the backup's; the one it replaced is {done.config_kept_as}")
    print("start it with `hotline up`")
    return 0


def _running(settings: Settings) -> list[str]:
    parts = {"the bridge": bridge_pid(settings), "the scheduler": scheduler_pid(settings),
             "the console": pbx.live_pid(settings.console_pid_file, BRIDGE_PROCESS)}
    return [name for name, pid in parts.items() if pid]


def _target_settings(settings: Settings, args: argparse.Namespace) -> Settings:
    """The settings the hotline will run with after the restore: the backup's hotline.toml
    (with this machine's environment variables over it), unless --keep-config."""
    if args.keep_config:
        return settings
    text = backup.archived_config(args.archive)
    if text is None:
        return settings
    config = backup.config_in_use()
    probe = config.with_name(f".{config.name}.restoring")
    probe.write_bytes(text)
    try:
        env = {k: v for k, v in os.environ.items() if k != "HOTLINE_CONFIG"}
        return load_settings(env=env, config_path=probe)
    finally:
        probe.unlink()


def _migrate(settings: Settings) -> None:
    """The database to this code's schema, as `hotline db upgrade` does."""
    from cli import system

    if system.cmd_db(settings, argparse.Namespace(action="upgrade")):
        raise backup.BackupError("the database upgrade failed")


def backup_before_migrating(settings: Settings) -> backup.Manifest | None:
    """`hotline up` after new code: when the database holds data of an older schema, back
    it up and migrate it as `hotline upgrade` does (put back if the migration fails);
    None when there was nothing to migrate. Raises BackupError when either step failed."""
    from hotline.db.migrate import pending

    current, head = pending(settings.database_url)
    if current is None:
        return None
    folder = backup.backup_folder(settings)
    print(f"the database is at revision {current}, this code needs {head}: backing it up "
          f"into {folder} before migrating ...", flush=True)
    manifest = backup.make_backup(settings, recordings_root(settings), folder)
    print(describe(manifest, folder))
    archive = backup.archive_path(folder, manifest.name)
    backup.migrate_or_roll_back(archive, settings.database_url, lambda: _migrate(settings))
    return manifest


def cmd_upgrade(settings: Settings, args: argparse.Namespace) -> int:
    """The steps of docs/operations.md "Upgrading", in order, stopping at the first that
    fails."""
    from cli import health, system

    folder = args.to or backup.backup_folder(settings)
    print("1/5 stopping the hotline ...", flush=True)
    system.cmd_down(settings, args)
    print("2/5 backing up ...", flush=True)
    try:
        manifest = backup.make_backup(settings, recordings_root(settings), folder)
        backup.prune(folder, settings.backup.keep)
        print(describe(manifest, folder))
        print("3/5 migrating the database ...", flush=True)
        archive = backup.archive_path(folder, manifest.name)
        backup.migrate_or_roll_back(archive, settings.database_url, lambda: _migrate(settings))
    except backup.BackupError as exc:
        print(f"hotline upgrade: {exc}", file=sys.stderr)
        print("The hotline is stopped. Go back to the version you upgraded from (its "
              "checkout or bundle) and start it with `hotline up`; docs/operations.md, "
              "\"Upgrading\".", file=sys.stderr)
        return 1
    print("4/5 starting the hotline ...", flush=True)
    system.cmd_up(settings, args)
    print("5/5 checking ...", flush=True)
    return health.cmd_status(settings, args)
