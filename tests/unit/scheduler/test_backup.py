"""The nightly backup job: nothing before the court's [backup] time, one archive after it,
a failure raised as the alert `backup` (tried again half an hour later, not every minute)
and resolved by the next good backup."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.db import alerts
from hotline.db.base import session_scope
from hotline.settings import BackupSettings, PbxSettings, Settings
from scheduler import backup as job
from scheduler.jobs import Context, all_jobs

START = datetime(2026, 12, 1, 17, 0, tzinfo=UTC)  # 01:00 in Shanghai


async def open_backup_alerts(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    async with session_scope(sessions) as session:
        return [a.message for a in await alerts.list_open_alerts(session, job.ALERT_KIND)]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_the_nightly_backup_runs_once_after_its_time_and_alerts_when_it_fails(
        settings: Settings, sessions: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    blocked = tmp_path / "nas"
    blocked.write_text("a file where the NAS's folder should be: the share is not mounted")
    settings = dataclasses.replace(
        settings, backup=BackupSettings(dir=blocked),
        pbx=PbxSettings(mode="sandbox", sandbox_dir=tmp_path / "sandbox"))
    assert "backup" in {j.name for j in all_jobs(settings)}
    now = [START]
    ctx = Context(settings, sessions, lambda: now[0])
    nightly = job.NightlyBackup()

    assert await nightly(ctx) is None  # 01:00: not yet
    now[0] = START + timedelta(minutes=91)  # 02:31
    with pytest.raises(Exception, match="nas"):
        await nightly(ctx)
    [message] = await open_backup_alerts(sessions)
    assert message.startswith("夜间备份失败") and str(blocked) in message
    now[0] += timedelta(minutes=1)
    assert await nightly(ctx) is None  # not again every minute

    blocked.unlink()
    now[0] += timedelta(seconds=job.RETRY_SECONDS)
    said = await nightly(ctx)
    assert said is not None and said.startswith("hotline-backup-20261202-0")
    assert len(list(blocked.glob("hotline-backup-*.tar"))) == 1
    assert await open_backup_alerts(sessions) == []
    now[0] += timedelta(hours=3)
    assert await nightly(ctx) is None  # one a night


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_no_job_when_the_nightly_backup_is_off(settings: Settings) -> None:
    off = dataclasses.replace(settings, backup=BackupSettings(nightly=False))
    assert "backup" not in {j.name for j in all_jobs(off)}
