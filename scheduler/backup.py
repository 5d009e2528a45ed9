"""The nightly backup (hotline/backup.py): at [backup] time, court time, one archive into
[backup] dir and the old ones pruned. A failure raises the alert `backup` (hotline status,
the console) and is tried again RETRY_SECONDS later; the next good backup resolves it.
It runs on the recordings' low-priority worker (nice 19, idle I/O): calls come first."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pbx
import recordings
from hotline import backup
from hotline.db import alerts
from hotline.db.base import session_scope
from hotline.settings import Settings

if TYPE_CHECKING:  # scheduler.jobs lists this job
    from scheduler.jobs import Context, Job

EVERY_SECONDS = 60.0
RETRY_SECONDS = 1800.0
ALERT_KIND = "backup"
ALERT_KEY = "nightly"
# What staff read in `hotline status` and on the console.
ALERT_TEXT = ("夜间备份失败（{folder}）：{error}。请检查备份目录（网络存储是否挂载、"
              "空间是否足够），可手动执行 hotline backup 验证。")


class NightlyBackup:
    """The job's function; remembers the last backup and the last failure in memory (the
    folder says the same after a restart)."""

    def __init__(self) -> None:
        self.since: datetime | None = None
        self.failed_at: datetime | None = None

    async def __call__(self, ctx: Context) -> str | None:
        conf, now = ctx.settings.backup, ctx.clock()
        zone = ZoneInfo(ctx.settings.hours.timezone)
        folder = backup.backup_folder(ctx.settings)
        if self.since is None:
            self.since = await asyncio.to_thread(_newest, folder) or now
        if not backup.nightly_due(now, self.since, conf.time, zone):
            return None
        if self.failed_at and now - self.failed_at < timedelta(seconds=RETRY_SECONDS):
            return None
        try:
            manifest, gone = await recordings.in_background(_run, ctx.settings, folder, now)
        except Exception as exc:
            self.failed_at = now
            async with session_scope(ctx.sessions) as session:
                await alerts.raise_alert(session, ALERT_KIND, ALERT_KEY,
                                         ALERT_TEXT.format(folder=folder, error=exc), now)
            raise
        self.since, self.failed_at = now, None
        async with session_scope(ctx.sessions) as session:
            await alerts.resolve_alert(session, ALERT_KIND, ALERT_KEY, now)
        added = sum(1 for s in manifest.inventory.values() if s.archive == manifest.name)
        return f"{manifest.name}: {added} new file(s); {len(gone)} old backup(s) deleted"


def _newest(folder: Path) -> datetime | None:
    backups, _ = backup.list_backups(folder) if folder.is_dir() else ([], [])
    return backups[-1].created_at if backups else None


def _run(settings: Settings, folder: Path, now: datetime
         ) -> tuple[backup.Manifest, list[str]]:
    root = pbx.instance_for(settings).recordings_dir
    manifest = backup.make_backup(settings, root, folder, now=now)
    return manifest, backup.prune(folder, settings.backup.keep)


def backup_job(settings: Settings) -> list[Job]:
    """The job, when [backup] nightly is on."""
    from scheduler.jobs import Job

    return [Job("backup", EVERY_SECONDS, NightlyBackup())] if settings.backup.nightly else []
