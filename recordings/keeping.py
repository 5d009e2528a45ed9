"""Keeping and deleting: the retention pass (court archive rules, legal hold) and the
watch on the recordings folder's free space."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.db import alerts
from hotline.db import recordings as db
from hotline.db.base import session_scope
from hotline.settings import RecordingsSettings
from recordings.texts import ALERTS

RETENTION_REASON = "retention: {days} days passed"


@dataclass(frozen=True)
class RetentionResult:
    deleted: int
    held: int


async def retention_pass(sessions: async_sessionmaker[AsyncSession], root: Path,
                         conf: RecordingsSettings, now: datetime,
                         batch: int = 200) -> RetentionResult:
    """Delete recordings older than retention_days unless held. The hold is worked out
    here, at deletion time, from what links the call now (tickets, call logs with a case),
    and written to legal_hold so the console shows it; a held recording stays held until
    an administrator releases it."""
    before = now - timedelta(days=conf.retention_days)
    deleted = held = 0
    while True:
        async with session_scope(sessions) as session:
            # Held rows drop out of expired(), deleted ones too: every round makes progress.
            recs = await db.expired(session, before, batch)
            if not recs:
                break
            holds = await db.held_call_ids(session, (r.call_id for r in recs))
            for rec in recs:
                if rec.call_id in holds:
                    rec.legal_hold = True
                    held += 1
                    continue
                await db.delete_recording(session, rec, root, None,
                                          RETENTION_REASON.format(days=conf.retention_days),
                                          now)
                deleted += 1
    return RetentionResult(deleted, held)


@dataclass(frozen=True)
class DiskSpace:
    folder: Path
    total_bytes: int
    free_bytes: int

    @property
    def free_percent(self) -> float:
        return 100.0 * self.free_bytes / self.total_bytes if self.total_bytes else 0.0


def disk_space(root: Path) -> DiskSpace:
    """Free space of the filesystem the recordings are written to."""
    folder = root
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    usage = shutil.disk_usage(folder)
    return DiskSpace(root, usage.total, usage.free)


async def disk_check(sessions: async_sessionmaker[AsyncSession], space: DiskSpace,
                     conf: RecordingsSettings, now: datetime) -> bool:
    """Raise (or resolve) the "disk" alert; True when space is low."""
    low = space.free_percent < conf.disk_warn_percent
    async with session_scope(sessions) as session:
        if low:
            await alerts.raise_alert(session, alerts.DISK, str(space.folder), ALERTS["disk"].format(
                free_percent=space.free_percent, free_gb=space.free_bytes / 1e9,
                warn_percent=conf.disk_warn_percent, folder=space.folder), now)
        else:
            await alerts.resolve_alert(session, alerts.DISK, str(space.folder), now)
    return low
