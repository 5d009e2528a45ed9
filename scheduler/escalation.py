"""The escalation job: the pass of hotline.escalation as of now, every minute. Its state is
on the tickets (next_escalation_at) and in the escalations table, so a late, repeated or
interrupted run still pushes each matter once."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hotline.escalation import run_pass

if TYPE_CHECKING:  # scheduler.jobs lists this job
    from scheduler.jobs import Context

EVERY_SECONDS = 60.0


async def escalate(ctx: Context) -> str | None:
    report = await run_pass(ctx.sessions, ctx.settings, ctx.clock())
    return report.summary() if report.steps or report.skipped else None
