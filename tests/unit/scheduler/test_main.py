"""scheduler.main: jobs run on their interval, a failing job is logged and tried again,
and the heartbeat says how each job last ended."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import threading

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline import health
from hotline.db import alerts as alerts_db
from hotline.db.base import session_scope
from hotline.settings import DatabaseSettings, Settings
from scheduler.jobs import Context, Job
from scheduler.main import Scheduler


async def test_jobs_run_again_after_failing_and_the_heartbeat_tells(
        settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    runs: list[str] = []

    async def steady(_ctx: Context) -> str:
        runs.append("steady")
        return "did it"

    async def flaky(_ctx: Context) -> None:
        runs.append("flaky")
        if runs.count("flaky") == 1:
            raise RuntimeError("gateway down")

    scheduler = Scheduler(settings, [Job("steady", 0.2, steady), Job("flaky", 0.2, flaky)])
    stop = asyncio.Event()
    task = asyncio.create_task(scheduler.run(stop))
    # A run is counted when it starts and its end is recorded a step of the loop later:
    # wait for the record, not the count (CI once read the beat between the two).
    for _ in range(100):
        await asyncio.sleep(0.05)
        if runs.count("flaky") >= 2 and all(
                scheduler.last.get(name, {}).get("ok") for name in ("flaky", "steady")):
            break
    await scheduler.heartbeat()
    beat = json.loads(settings.scheduler_heartbeat_file.read_text())
    stop.set()
    await task

    assert runs.count("flaky") >= 2, "a failed job runs again at its next interval"
    assert beat["jobs"]["flaky"]["ok"] is True and beat["jobs"]["steady"]["ok"] is True
    assert any("job flaky failed" in r.getMessage() for r in caplog.records)
    assert not settings.scheduler_heartbeat_file.exists(), "a stopped scheduler leaves no beat"


async def test_the_log_tells_what_jobs_did_not_that_they_ran(
        settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    """Issue 18: APScheduler logged four INFO lines every 2 seconds (running the heartbeat,
    executed successfully). Its own chatter stays below WARNING; a run of ours that did
    something is one INFO line, a run that found nothing to do is none."""
    caplog.set_level(logging.DEBUG)
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    runs: list[str] = []

    async def busy(_ctx: Context) -> str | None:
        runs.append("busy")
        return "sent 3" if runs.count("busy") == 1 else None

    async def idle(_ctx: Context) -> None:
        runs.append("idle")

    stop = asyncio.Event()
    task = asyncio.create_task(
        Scheduler(settings, [Job("busy", 0.2, busy), Job("idle", 0.2, idle)]).run(stop))
    for _ in range(100):
        await asyncio.sleep(0.05)
        if runs.count("busy") >= 3 and runs.count("idle") >= 3:
            break
    stop.set()
    await task

    assert runs.count("busy") >= 3 and runs.count("idle") >= 3
    chatter = [r.getMessage() for r in caplog.records
               if r.name.startswith("apscheduler") and r.levelno < logging.WARNING]
    assert chatter == []
    ours = [r.getMessage() for r in caplog.records if r.name == "scheduler"
            and r.levelno == logging.INFO and not r.getMessage().startswith("scheduler running")]
    assert len(ours) == 1 and ours[0].startswith("busy: sent 3 (")


async def test_the_heartbeat_carries_the_site_report_status_shows(
        settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> None:
    """Database, calendar and alerts, as `hotline status` shows them without loading the
    database layer itself (hotline.health)."""
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    async with session_scope(sessions) as session:
        await alerts_db.raise_alert(session, "disk", "recordings", "recordings 91% full")
    scheduler = Scheduler(settings, [])

    await scheduler.site_report()
    await scheduler.heartbeat()
    site = health.SiteReport.from_json(
        json.loads(settings.scheduler_heartbeat_file.read_text())["site"])

    assert site is not None and site.fresh()
    assert site.database == []
    assert (site.alerts_open, site.alerts) == (1, ["disk: recordings 91% full"])
    await scheduler.engine.dispose()


async def test_an_unreadable_database_is_the_report_not_a_crash(settings: Settings) -> None:
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    broken = dataclasses.replace(settings, database=DatabaseSettings(
        url=f"sqlite:///{settings.data_dir}/missing-folder/none.db"))
    scheduler = Scheduler(broken, [])

    await scheduler.site_report()

    assert scheduler.report is not None
    assert scheduler.report.database[0].startswith("cannot read the database")
    await scheduler.engine.dispose()
    # The failed connection's aiosqlite thread hands its error back to this loop: let it
    # end while the loop is alive (closed first, the thread's last call raises in it).
    for _ in range(200):
        if not any("_connection_worker_thread" in t.name for t in threading.enumerate()):
            break
        await asyncio.sleep(0.01)
