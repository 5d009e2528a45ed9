"""The clock job: NOT synchronised raises the alert `clock` once, synchronised resolves it,
and "unknown" never raises one."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.clock import ClockState
from hotline.db.alerts import list_open_alerts
from hotline.db.base import session_scope
from hotline.settings import Settings
from scheduler import clock
from scheduler.jobs import Context, all_jobs

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


async def _open(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    async with session_scope(sessions) as db:
        return [a.message for a in await list_open_alerts(db, clock.ALERT_KIND)]


async def test_the_alert_follows_the_clock(settings: Settings,
                                          sessions: async_sessionmaker[AsyncSession]) -> None:
    ctx = Context(settings, sessions, lambda: NOW)
    assert "clock" in [job.name for job in all_jobs(settings)]

    assert await clock.record(ctx, ClockState(None, "systemd is not running")) is None
    assert await _open(sessions) == []

    off = ClockState(False, "timedatectl NTPSynchronized")
    assert (await clock.record(ctx, off) or "").startswith("clock NOT synchronised")
    assert await clock.record(ctx, off) is None, "raised once, not again every check"
    [message] = await _open(sessions)
    assert message.startswith("服务器时钟未与时间服务器同步（timedatectl NTPSynchronized）")

    assert await clock.record(ctx, ClockState(True, "chronyc tracking, leap status")) == (
        "clock synchronised (chronyc tracking, leap status)")
    assert await _open(sessions) == []
