"""The recordings part's timed work, as scheduler/jobs.py runs it: each function takes the
scheduler's context and does one pass, from the state in the database (so a late or repeated
run does each thing once)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import pbx
from hotline.settings import Settings
from recordings import keeping, priority, process, reconcile

# One pass handles at most this many recordings, so the job returns within a minute or two
# even after an outage (the next run takes the rest; `hotline recordings process` for all).
PROCESS_PER_RUN = 50
# While calls are up a pass takes only this many (the job runs every 30 s): post-processing
# can wait for a quiet moment, callers cannot.
PROCESS_WHILE_CALLS = 2


class JobContext(Protocol):
    """What a job gets from the scheduler (scheduler.jobs.Context)."""

    @property
    def settings(self) -> Settings: ...
    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]: ...
    @property
    def clock(self) -> Callable[[], datetime]: ...


def recordings_root(settings: Settings) -> Path:
    """The folder Asterisk writes recordings to, as this host sees it: on a cluster with
    [cluster] recordings_dir, the share every node writes to (pbx.PbxInstance)."""
    return pbx.instance_for(settings).recordings_dir


def process_budget(settings: Settings) -> int:
    """How many recordings a pass may process now: few while the bridge serves calls."""
    calls = priority.calls_in_progress(settings.bridge_heartbeat_file)
    return PROCESS_WHILE_CALLS if calls else PROCESS_PER_RUN


async def process_job(ctx: JobContext) -> str | None:
    # Asked before each recording: calls that come up mid-batch end it early.
    progress = await process.run_batch(ctx.sessions, recordings_root(ctx.settings),
                                       ctx.settings.recordings, limit=PROCESS_PER_RUN,
                                       budget=lambda: process_budget(ctx.settings))
    if not progress.done:
        return None
    return f"processed {progress.done} recording(s), {progress.failed} failed"


async def retention_job(ctx: JobContext) -> str | None:
    result = await keeping.retention_pass(ctx.sessions, recordings_root(ctx.settings),
                                          ctx.settings.recordings, ctx.clock())
    if not (result.deleted or result.held):
        return None
    return f"retention: deleted {result.deleted}, held {result.held}"


async def disk_job(ctx: JobContext) -> str | None:
    space = keeping.disk_space(recordings_root(ctx.settings))
    low = await keeping.disk_check(ctx.sessions, space, ctx.settings.recordings, ctx.clock())
    return f"recordings disk low: {space.free_percent:.1f}% free" if low else None


async def reconcile_job(ctx: JobContext) -> str | None:
    found = await reconcile.reconcile(ctx.sessions, recordings_root(ctx.settings), ctx.clock(),
                                      ctx.settings.recordings.reconcile_days)
    if not (found.missing or found.orphans):
        return None
    return f"{len(found.missing)} call(s) without a recording, {len(found.orphans)} orphan file(s)"


JobFunction = Callable[[JobContext], Awaitable[str | None]]


def schedule(settings: Settings) -> list[tuple[str, float, JobFunction]]:
    """(name, every_seconds, function) of each job."""
    return [("recordings-process", 30, process_job),
            ("recordings-reconcile", 300, reconcile_job),
            ("recordings-disk", 60, disk_job),
            # Daily in effect; hourly runs only find work once a day's recordings age out.
            ("recordings-retention", 3600, retention_job)]
