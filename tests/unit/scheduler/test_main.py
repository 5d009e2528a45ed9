"""scheduler.main: jobs run on their interval, a failing job is logged and tried again,
and the heartbeat says how each job last ended."""

from __future__ import annotations

import asyncio
import json

import pytest

from hotline.settings import Settings
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
    for _ in range(100):
        await asyncio.sleep(0.05)
        if runs.count("flaky") >= 2 and runs.count("steady") >= 2:
            break
    await scheduler.heartbeat()
    beat = json.loads(settings.scheduler_heartbeat_file.read_text())
    stop.set()
    await task

    assert runs.count("flaky") >= 2, "a failed job runs again at its next interval"
    assert beat["jobs"]["flaky"]["ok"] is True and beat["jobs"]["steady"]["ok"] is True
    assert any("job flaky failed" in r.getMessage() for r in caplog.records)
    assert not settings.scheduler_heartbeat_file.exists(), "a stopped scheduler leaves no beat"
