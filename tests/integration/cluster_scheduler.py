"""`python -m tests.integration.cluster_scheduler`: the scheduler exactly as
`python -m scheduler` runs it (scheduler.main.main), with one more job, "probe", that
writes a row per run (node, start, end) into the table nd_probe_runs of the test's
database: tests/integration/test_cluster_nodes.py reads them to prove no run of one node
overlapped a run of the other."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from hotline import cluster
from hotline.db.base import session_scope, utcnow
from hotline.secrets import use_private_umask
from hotline.settings import Settings
from scheduler import main as scheduler_main
from scheduler.jobs import Context, Job, all_jobs

RUN_SECONDS = 0.3


async def probe(ctx: Context) -> None:
    node = cluster.node_name(ctx.settings)
    async with session_scope(ctx.sessions) as session:
        run_id = (await session.execute(text(
            "INSERT INTO nd_probe_runs (node, started_at) VALUES (:n, :t) RETURNING id"),
            {"n": node, "t": utcnow()})).scalar()
    await asyncio.sleep(RUN_SECONDS)
    async with session_scope(ctx.sessions) as session:
        await session.execute(text("UPDATE nd_probe_runs SET ended_at = :t WHERE id = :i"),
                              {"t": utcnow(), "i": run_id})


def with_probe(settings: Settings) -> list[Job]:
    return [*all_jobs(settings), Job("probe", 0.5, probe)]


if __name__ == "__main__":
    use_private_umask()
    scheduler_main.all_jobs = with_probe  # type: ignore[attr-defined]
    raise SystemExit(scheduler_main.main())
