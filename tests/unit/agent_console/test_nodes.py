"""集群节点 (issue 17): an administrator of a cluster sees every node — its Asterisk's answer
to SIP OPTIONS, its bridge's and scheduler's last heartbeat — the proxy and which scheduler
is active; the page and its menu entry do not exist on a single server."""

from __future__ import annotations

import dataclasses
import socket
from datetime import timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agent_console.app import create_app
from hotline import cluster
from hotline.db.base import session_scope
from hotline.settings import ClusterSettings, Settings
from tests.unit.hotline.test_cluster import sip_responder  # noqa: F401 - the fixture

from .conftest import ADMIN_NAME, Clock, log_in


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_an_administrator_sees_each_node_and_the_active_scheduler(
        settings: Settings, sessions: async_sessionmaker[AsyncSession], clock: Clock,
        staff: None, sip_responder: tuple[str, int]) -> None:  # noqa: F811
    host, sip_port = sip_responder
    on_cluster = dataclasses.replace(settings, cluster=ClusterSettings(
        node="pbx1", nodes=(f"pbx1={host}:{sip_port}", f"pbx2=127.0.0.1:{_closed_port()}"),
        proxy=f"{host}:{sip_port}"))
    async with session_scope(sessions) as db:
        for node, role, state, age in (("pbx1", "bridge", "up", 1),
                                       ("pbx1", "scheduler", "active", 1),
                                       ("pbx2", "bridge", "up", 40),
                                       ("pbx2", "scheduler", "standby", 40)):
            await cluster.beat(db, node=node, role=role, state=state, detail={"calls": 2}
                               if role == "bridge" else {}, started_at=clock.now,
                               now=clock.now - timedelta(seconds=age))
    app = create_app(on_cluster, sessions, clock=clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://testserver") as client:
        assert (await client.get("/admin/nodes")).status_code in (303, 401)
        await log_in(client)  # an agent
        assert (await client.get("/admin/nodes")).status_code == 403
        await client.post("/logout", data={})
        client.cookies.clear()
        await log_in(client, ADMIN_NAME)
        page = await client.get("/admin/nodes")
        home = await client.get("/")
    assert page.status_code == 200, page.text
    html = page.text
    pbx1 = html[html.index('id="node-pbx1"'):html.index('id="node-pbx2"')]
    pbx2 = html[html.index('id="node-pbx2"'):html.index('id="node-proxy"')]
    assert 'class="node-up"' in pbx1 and "应答" in pbx1 and "主用（运行定时任务）" in pbx1
    assert "通话 2 路" in pbx1 and "1 秒前上报" in pbx1
    assert 'class="node-down"' in pbx2 and "无应答（故障）" in pbx2 and "已停止" in pbx2
    assert "定时任务主用节点：<strong>pbx1</strong>" in html
    assert 'href="/admin/nodes"' in home.text


async def test_no_such_page_on_a_single_server(settings: Settings,
                                               sessions: async_sessionmaker[AsyncSession],
                                               clock: Clock, staff: None) -> None:
    app = create_app(settings, sessions, clock=clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://testserver") as client:
        await log_in(client, ADMIN_NAME)
        assert (await client.get("/admin/nodes")).status_code == 404
        assert 'href="/admin/nodes"' not in (await client.get("/")).text
