"""The callback job: in office hours, the callback list (after-hours messages and callback
requests no agent has taken) is shared out among the agents signed in to the queue."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hotline.db.base import session_scope
from hotline.tickets import share_out_callbacks

if TYPE_CHECKING:  # scheduler.jobs lists this job
    from scheduler.jobs import Context

EVERY_SECONDS = 60.0


async def share_out(ctx: Context) -> str | None:
    async with session_scope(ctx.sessions) as session:
        given = await share_out_callbacks(session, ctx.settings, ctx.clock())
    if not given:
        return None
    return "shared out " + ", ".join(f"{len(refs)} to agent {agent}"
                                     for agent, refs in sorted(given.items()))
