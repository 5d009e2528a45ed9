"""Every timed job, in one list. A job is an async function of the Context; it returns a
short line for the log (or None when there was nothing to do) and raises on failure (the
scheduler logs it and runs it again at the next interval)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import recordings
from hotline.settings import Settings
from scheduler import (
    callbacks,
    clock,
    cluster,
    escalation,
    integrations,
    monthly_report,
    report_rollups,
)
from scheduler.backup import backup_job
from scheduler.sms import sms_job


@dataclass(frozen=True)
class Context:
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    clock: Callable[[], datetime]


JobFunction = Callable[[Context], Awaitable[str | None]]


@dataclass(frozen=True)
class Job:
    name: str
    every_seconds: float
    run: JobFunction


def all_jobs(settings: Settings) -> list[Job]:
    """The jobs this site runs, in the order they start."""
    jobs: list[Job] = []
    # Each part adds its jobs here, one line each.
    jobs += [Job(name, every, run) for name, every, run in recordings.schedule(settings)]
    jobs.append(Job("escalation", escalation.EVERY_SECONDS, escalation.escalate))
    jobs.append(Job("callbacks", callbacks.EVERY_SECONDS, callbacks.share_out))
    jobs.append(sms_job(settings))
    jobs.append(Job("monthly-report", monthly_report.EVERY_SECONDS, monthly_report.monthly_report))
    jobs.append(Job("report-rollups", report_rollups.EVERY_SECONDS, report_rollups.report_rollups))
    jobs += backup_job(settings)  # issue 16
    jobs.append(Job("clock", clock.EVERY_SECONDS, clock.check_clock))  # issue 16
    if settings.cluster.enabled:  # issue 17: a dead node's open calls
        jobs.append(Job("cluster-lost-calls", cluster.EVERY_SECONDS, cluster.close_lost_calls))
    if settings.integrations.endpoints:  # issue 19
        jobs.append(Job("integrations", settings.integrations.poll_seconds, integrations.deliver))
    return jobs
