"""scheduler.main on a cluster (issue 17): of two schedulers on one PostgreSQL database one
runs the jobs, the other stands by; when the active one's lock connection is cut its jobs
stop (a running one is cancelled) and the other takes over; no job ever runs on both."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
import time
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from hotline import cluster
from hotline.db.base import session_scope
from hotline.db.migrate import upgrade
from hotline.settings import ClusterSettings, DatabaseSettings, PathsSettings, Settings
from scheduler.jobs import Context, Job
from scheduler.main import Scheduler

pytestmark = pytest.mark.postgres

NODES = ("pbx1=127.0.0.11", "pbx2=127.0.0.12")


def _settings(tmp_path: Path, url: str, node: str) -> Settings:
    data = tmp_path / node
    (data / "run").mkdir(parents=True)
    return dataclasses.replace(
        Settings(), paths=PathsSettings(data_dir=data), database=DatabaseSettings(url=url),
        cluster=ClusterSettings(node=node, nodes=NODES, proxy="127.0.0.10", lock_seconds=1))


async def _until(predicate: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_one_scheduler_runs_the_jobs_and_the_other_takes_over(
        tmp_path: Path, _pg_database: str) -> None:
    upgrade(_pg_database)
    runs: list[tuple[str, float, float]] = []  # node, start, end (inf: cancelled mid-run)
    cancelled: list[str] = []

    def probe_job(node: str) -> Job:
        async def probe(_ctx: Context) -> None:
            started = time.monotonic()
            try:
                await asyncio.sleep(0.15)
            except asyncio.CancelledError:
                cancelled.append(node)
                runs.append((node, started, time.monotonic()))
                raise
            runs.append((node, started, time.monotonic()))
        return Job("probe", 0.2, probe)

    schedulers = {node: Scheduler(_settings(tmp_path, _pg_database, node), [probe_job(node)])
                  for node in ("pbx1", "pbx2")}
    stop = asyncio.Event()
    tasks = [asyncio.create_task(s.run(stop)) for s in schedulers.values()]
    try:
        await _until(lambda: any(s.active for s in schedulers.values()))
        await asyncio.sleep(2.5)  # the standby tried twice meanwhile
        active = [n for n, s in schedulers.items() if s.active]
        assert len(active) == 1
        first = active[0]
        other = "pbx2" if first == "pbx1" else "pbx1"
        assert {r[0] for r in runs} == {first}, "only the active one ran the job"

        for s in schedulers.values():
            await s.heartbeat()
        beats = {n: json.loads(s.settings.scheduler_heartbeat_file.read_text())["cluster"]
                 for n, s in schedulers.items()}
        assert beats == {first: {"node": first, "state": "active"},
                         other: {"node": other, "state": "standby"}}
        async with session_scope(schedulers[first].context.sessions) as session:
            rows = await cluster.members(session)
        assert {(r.node, r.role, r.state) for r in rows} == {
            (first, "scheduler", "active"), (other, "scheduler", "standby")}

        # The database drops the active one's lock connection.
        lock = schedulers[first].lock
        assert lock is not None and lock._conn is not None
        pid = (await lock._conn.exec_driver_sql("SELECT pg_backend_pid()")).scalar()
        with psycopg.connect(make_url(_pg_database).render_as_string(hide_password=False),
                             autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        cut = time.monotonic()
        await _until(lambda: schedulers[other].active)
        took_over = time.monotonic() - cut
        await _until(lambda: any(r[0] == other for r in runs))
        assert not schedulers[first].active, "the one that lost its lock stands by"
        await asyncio.sleep(1.0)
    finally:
        stop.set()
        await asyncio.gather(*tasks)

    print(f"standby took over {took_over:.2f} s after the lock's connection was cut "
          f"(lock_seconds 1)")
    by_start = sorted(runs, key=lambda r: r[1])
    for before, after in itertools.pairwise(by_start):
        if before[0] != after[0]:
            assert after[1] >= before[2], f"{after} started while {before} ran"
    assert {r[0] for r in runs} == {"pbx1", "pbx2"}
