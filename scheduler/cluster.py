"""The cluster's job (issue 17): the calls a dead node left open are ended, by the active
scheduler only (hotline.cluster.close_lost_calls says how)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from hotline import cluster
from hotline.db.base import session_scope

if TYPE_CHECKING:  # scheduler.jobs lists this job
    from scheduler.jobs import Context

log = logging.getLogger(__name__)

EVERY_SECONDS = 15.0


async def close_lost_calls(ctx: Context) -> str | None:
    async with session_scope(ctx.sessions) as session:
        closed = await cluster.close_lost_calls(session, ctx.clock())
    if not closed:
        return None
    return "; ".join(f"node {node} is silent: ended its {len(ids)} open call(s) as node-lost"
                     for node, ids in sorted(closed.items()))
