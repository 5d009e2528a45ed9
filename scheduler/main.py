"""The scheduler process: APScheduler 3 runs every job of scheduler/jobs.py on its
interval, one run of a job at a time, in one asyncio loop. This is the one place that
wires it together."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import time
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from hotline import health, logs
from hotline.db.base import make_engine, make_sessionmaker, session_scope, utcnow
from hotline.db.migrate import upgrade
from hotline.settings import Settings, load_settings
from scheduler.jobs import Context, Job, all_jobs

log = logging.getLogger("scheduler")

HEARTBEAT_SECONDS = 2.0
# APScheduler says at INFO that it ran each job (the heartbeat every 2 s: ~170,000 lines
# a day); its warnings and errors (a job missed, an executor failing) still show. What
# our jobs did is logged by _run_job, once per run that did something.
APSCHEDULER_LOG_LEVEL = logging.WARNING


class Scheduler:
    def __init__(self, settings: Settings, jobs: list[Job] | None = None) -> None:
        self.settings = settings
        self.engine = make_engine(settings.database_url)
        self.context = Context(settings, make_sessionmaker(self.engine), utcnow)
        self.jobs = all_jobs(settings) if jobs is None else jobs
        # What `hotline status` shows of each job: its last run and how it ended.
        self.last: dict[str, dict[str, Any]] = {}
        # ... and of the site's data (hotline.health), renewed every REPORT_SECONDS.
        self.report: health.SiteReport | None = None

    async def run(self, stop: asyncio.Event) -> None:
        logging.getLogger("apscheduler").setLevel(APSCHEDULER_LOG_LEVEL)
        aps = AsyncIOScheduler(timezone="UTC")
        for job in self.jobs:
            # coalesce + max_instances=1: a job that fell behind runs once, not in a burst.
            aps.add_job(self._run_job, "interval", args=[job], seconds=job.every_seconds,
                        id=job.name, next_run_time=utcnow(), coalesce=True,
                        max_instances=1, misfire_grace_time=None)
        aps.add_job(self.site_report, "interval", seconds=health.REPORT_SECONDS,
                    next_run_time=utcnow(), id="site-report", coalesce=True, max_instances=1)
        aps.add_job(self.heartbeat, "interval", seconds=HEARTBEAT_SECONDS,
                    next_run_time=utcnow(), id="heartbeat")
        aps.start()
        log.info("scheduler running %d jobs: %s", len(self.jobs),
                 ", ".join(j.name for j in self.jobs))
        try:
            await stop.wait()
        finally:
            aps.shutdown(wait=False)
            await self.engine.dispose()
            self.settings.scheduler_heartbeat_file.unlink(missing_ok=True)

    async def _run_job(self, job: Job) -> None:
        started = time.monotonic()
        try:
            said = await job.run(self.context)
        except asyncio.CancelledError:
            # The scheduler is stopping (a restart, hotline down) in the middle of a long
            # job (the monthly PDF): not a failure; every job picks up at the next start.
            log.info("job %s stopped by the scheduler's shutdown", job.name)
            return
        except Exception as exc:
            log.exception("job %s failed; it runs again in %.0f s", job.name, job.every_seconds)
            self.last[job.name] = {"time": time.time(), "ok": False, "error": str(exc)[:200]}
            return
        if said:
            log.info("%s: %s (%.2f s)", job.name, said, time.monotonic() - started)
        self.last[job.name] = {"time": time.time(), "ok": True}

    async def site_report(self) -> None:
        """The database, calendar and alerts as `hotline status` shows them."""
        try:
            async with session_scope(self.context.sessions) as session:
                self.report = await health.site_report(session, self.settings,
                                                       self.context.clock())
        except Exception as exc:  # any driver's error means the same to the operator
            self.report = health.database_down(exc)

    async def heartbeat(self) -> None:
        beat = {"pid": os.getpid(), "time": time.time(), "jobs": self.last,
                "site": self.report.to_json() if self.report else None}
        path = self.settings.scheduler_heartbeat_file
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(beat))
        tmp.replace(path)


async def _serve(settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await Scheduler(settings).run(stop)


def main() -> int:
    settings = load_settings()
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    logs.configure(settings.log_dir / "scheduler.log")
    upgrade(settings.database_url, court_name=settings.court.name)
    pid_file = settings.scheduler_pid_file
    pid_file.write_text(str(os.getpid()))
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_serve(settings))
    finally:
        pid_file.unlink(missing_ok=True)
    return 0
