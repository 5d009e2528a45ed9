"""集群节点 (issue 17): for administrators of a cluster, every node as `hotline status`
shows it: whether its Asterisk answers SIP OPTIONS, its bridge's and scheduler's last
heartbeat, which scheduler runs the timed jobs, and the SIP proxy. Not found on a single
server."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response

from agent_console.auth import Principal, console, require_role
from agent_console.pages import render
from agent_console.texts import ADMIN
from hotline import cluster
from hotline.db.base import session_scope
from hotline.timefmt import local_time

router = APIRouter(include_in_schema=False)
Admin = Annotated[Principal, Depends(require_role(ADMIN))]
# The page waits at most this long for the nodes' answers (all asked at once).
PROBE_TIMEOUT = 1.0


@router.get("/admin/nodes")
async def admin_nodes(request: Request, who: Admin) -> Response:
    c = console(request)
    settings = c.settings
    if not settings.cluster.enabled:
        raise HTTPException(404)
    targets = {name: cluster.node_target(address, settings.pbx.sip_port)
               for name, address in settings.cluster.addresses().items()}
    targets["proxy"] = settings.cluster.proxy_host_port()
    found = await asyncio.to_thread(cluster.probe_all, targets.values(), PROBE_TIMEOUT)
    probes = dict(zip(targets, found, strict=True))
    proxy = probes.pop("proxy")
    async with session_scope(c.sessions) as db:
        rows = await cluster.members(db)
    views = cluster.node_views(settings, rows, probes, c.clock())
    return render(request, "admin_nodes.html", user=who.account, csrf_token=who.csrf_token,
                  views=views, proxy=proxy, active=cluster.active_scheduler(views),
                  timezone=settings.hours.timezone, local_time=local_time)
