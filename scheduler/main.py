"""The scheduler process: APScheduler 3 runs every job of scheduler/jobs.py on its
interval, one run of a job at a time, in one asyncio loop. This is the one place that
wires it together.

On a cluster ([cluster] nodes) every node runs a scheduler but only one runs the jobs: the
one holding the lock in PostgreSQL (hotline.cluster.SchedulerLock). The others are standby:
they try to take the lock every [cluster] lock_seconds. The active one asks its lock's
connection every HOLD_CHECK_SECONDS and before each job whether the lock is still its own;
when it is not (the connection dropped), its jobs are cancelled and it is standby again."""

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

from hotline import cluster, cpushare, health, logs
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
# How often the active scheduler of a cluster makes sure it still holds the lock.
HOLD_CHECK_SECONDS = 1.0
# A scheduler that has just taken the lock waits this long before its first job: the node
# that held it may be alive with its connection cut by the server, and finds out within a
# check and its timeout, then cancels its jobs. No job runs on two nodes at once.
TAKEOVER_GRACE_SECONDS = (HOLD_CHECK_SECONDS + cluster.LOCK_QUERY_TIMEOUT
                          + cluster.LATE_ANSWER_SECONDS + 0.5)


class Scheduler:
    def __init__(self, settings: Settings, jobs: list[Job] | None = None,
                 lock: cluster.SchedulerLock | None = None) -> None:
        """lock: the cluster's scheduler lock (a cluster makes its own); None on one server,
        where the jobs always run."""
        self.settings = settings
        self.engine = make_engine(settings.database_url)
        if lock is None and settings.cluster.enabled:
            lock = cluster.SchedulerLock(cluster.lock_engine(settings.database_url))
        self.lock = lock
        self.active = lock is None
        self._running: set[asyncio.Future[str | None]] = set()
        self.context = Context(settings, make_sessionmaker(self.engine), utcnow)
        self.jobs = all_jobs(settings) if jobs is None else jobs
        # What `hotline status` shows of each job: its last run and how it ended.
        self.last: dict[str, dict[str, Any]] = {}
        # ... and of the site's data (hotline.health), renewed every REPORT_SECONDS.
        self.report: health.SiteReport | None = None

    async def run(self, stop: asyncio.Event) -> None:
        logging.getLogger("apscheduler").setLevel(APSCHEDULER_LOG_LEVEL)
        aps = AsyncIOScheduler(timezone="UTC")
        if self.lock is None:
            self._add_jobs(aps)
        aps.add_job(self.site_report, "interval", seconds=health.REPORT_SECONDS,
                    next_run_time=utcnow(), id="site-report", coalesce=True, max_instances=1)
        aps.add_job(self.heartbeat, "interval", seconds=HEARTBEAT_SECONDS,
                    next_run_time=utcnow(), id="heartbeat")
        aps.start()
        if self.lock is None:
            log.info("scheduler running %d jobs: %s", len(self.jobs),
                     ", ".join(j.name for j in self.jobs))
        try:
            await (stop.wait() if self.lock is None else self._keep_lock(aps, stop))
        finally:
            aps.shutdown(wait=False)
            if self.lock is not None:
                await self.lock.release()
            await self.engine.dispose()
            self.settings.scheduler_heartbeat_file.unlink(missing_ok=True)

    def _add_jobs(self, aps: AsyncIOScheduler) -> None:
        for job in self.jobs:
            # coalesce + max_instances=1: a job that fell behind runs once, not in a burst.
            aps.add_job(self._run_job, "interval", args=[job], seconds=job.every_seconds,
                        id=job.name, next_run_time=utcnow(), coalesce=True,
                        max_instances=1, misfire_grace_time=None)

    async def _keep_lock(self, aps: AsyncIOScheduler, stop: asyncio.Event) -> None:
        """A cluster's scheduler until stopped: standby, trying for the lock every
        lock_seconds; active, making sure every HOLD_CHECK_SECONDS it still holds it."""
        assert self.lock is not None
        node = cluster.node_name(self.settings)
        log.info("scheduler of node %s: standby until it holds the cluster's lock", node)
        while not stop.is_set():
            if self.active and not await self.lock.held():
                self._stand_by(aps)
                log.error("node %s lost the scheduler lock (its database connection is gone): "
                          "jobs stopped; another node's scheduler takes over", node)
            elif not self.active and await self._try_lock():
                log.info("node %s took the scheduler lock; its jobs start in %.1f s", node,
                         TAKEOVER_GRACE_SECONDS)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), TAKEOVER_GRACE_SECONDS)
                if stop.is_set() or not await self.lock.held():
                    continue
                self.active = True
                self._add_jobs(aps)
                log.info("node %s holds the scheduler lock: running %d jobs: %s", node,
                         len(self.jobs), ", ".join(j.name for j in self.jobs))
            wait = HOLD_CHECK_SECONDS if self.active else self.settings.cluster.lock_seconds
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), wait)

    async def _try_lock(self) -> bool:
        assert self.lock is not None
        try:
            return await self.lock.try_acquire()
        except Exception as exc:  # the database is away: still standby, try again later
            log.warning("scheduler lock: the database does not answer (%s)", exc)
            return False

    def _stand_by(self, aps: AsyncIOScheduler) -> None:
        self.active = False
        for job in self.jobs:
            with contextlib.suppress(Exception):  # already gone
                aps.remove_job(job.name)
        for running in list(self._running):
            running.cancel()

    async def _run_job(self, job: Job) -> None:
        started = time.monotonic()
        if self.lock is not None and not (self.active and await self.lock.held()):
            return  # the lock went since this run was planned: another node runs it
        run = asyncio.ensure_future(job.run(self.context))
        self._running.add(run)
        try:
            said = await run
        except asyncio.CancelledError:
            # The scheduler is stopping (a restart, hotline down) in the middle of a long
            # job (the monthly PDF): not a failure; every job picks up at the next start.
            log.info("job %s stopped by the scheduler's shutdown or standby", job.name)
            return
        except Exception as exc:
            log.exception("job %s failed; it runs again in %.0f s", job.name, job.every_seconds)
            self.last[job.name] = {"time": time.time(), "ok": False, "error": str(exc)[:200]}
            return
        finally:
            self._running.discard(run)
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
        if self.lock is not None:
            beat["cluster"] = {"node": cluster.node_name(self.settings), "state": self.state}
        path = self.settings.scheduler_heartbeat_file
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(beat))
        tmp.replace(path)
        if self.lock is not None:
            await self.node_beat()

    @property
    def state(self) -> str:
        return cluster.ACTIVE if self.active else cluster.STANDBY

    async def node_beat(self) -> None:
        """This scheduler's row of cluster_nodes (`hotline status` shows every node's)."""
        await cluster.beat_quietly(self.context.sessions, self.settings, cluster.SCHEDULER,
                                   self.state, {"jobs": len(self.jobs) if self.active else 0})


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
    # batch work: it takes what the calls leave over (its transcodes also idle I/O)
    cpushare.set_session_nice(cpushare.BACKGROUND_NICE, "scheduler")
    upgrade(settings.database_url, court_name=settings.court.name)
    pid_file = settings.scheduler_pid_file
    pid_file.write_text(str(os.getpid()))
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_serve(settings))
    finally:
        pid_file.unlink(missing_ok=True)
    return 0
