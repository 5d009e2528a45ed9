"""The inbound API for the court's systems on each database (issue 19), the console served
over real HTTP by uvicorn: a system's token with each scope, a refused one, and what the
system did reaching a court system's receiver through the outbox, in order."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import uvicorn
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agent_console.app import create_app
from hotline import integrations, system_tokens
from hotline.db import outbox
from hotline.db.base import session_scope, utcnow
from hotline.secrets import endpoint_secret
from hotline.settings import IntegrationsSettings, Settings
from tests.local_http import serving
from tests.unit.hotline.test_integrations import Receiver

Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver(fail=0)
    with serving(found.server):
        yield found


@pytest.fixture
async def console(settings: Settings, sessions: Sessions, receiver: Receiver
                  ) -> AsyncIterator[tuple[str, Settings]]:
    wired = dataclasses.replace(settings, integrations=IntegrationsSettings(
        endpoints=(f"ssfw = {receiver.url}",)))
    receiver.secret = endpoint_secret(wired, "ssfw")
    outbox.configure(("ssfw",))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_app(wired, sessions), log_level="warning",
                                           lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    for _ in range(500):
        if server.started or task.done():
            break
        await asyncio.sleep(0.02)
    assert server.started, "the console did not start"
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}", wired
    finally:
        server.should_exit = True
        await task
        sock.close()
        outbox.configure(())


async def test_each_scope_its_route_and_the_events_reach_the_system(
        console: tuple[str, Settings], sessions: Sessions, receiver: Receiver) -> None:
    base, settings = console
    async with session_scope(sessions) as db:
        tokens = {scope: await system_tokens.create(db, "ssfw", (scope,))
                  for scope in system_tokens.SCOPES}
    auth = {scope: {"Authorization": f"Bearer {t}"} for scope, t in tokens.items()}
    async with httpx.AsyncClient(base_url=base, timeout=30, trust_env=False) as client:
        body = {"type": "complaint", "caller_number": "13812340031", "text": "网上留言：立案推诿"}
        assert (await client.post("/api/systems/matters", json=body,
                                  headers=auth["matters:read"])).status_code == 403
        bad = await client.post("/api/systems/matters", json={**body, "type": "x"},
                                headers=auth["matters:create"])
        assert bad.status_code == 422 and "type" in bad.json()["detail"]["errors"]
        made = await client.post("/api/systems/matters", json=body,
                                 headers=auth["matters:create"])
        assert made.status_code == 201, made.text
        path = f"/api/systems/matters/{made.json()['reference']}"
        answered = await client.post(path + "/answer", headers=auth["matters:answer"],
                                     json={"reference": "CALL-7", "channel": "call"})
        assert answered.json()["closing"] == "proof", answered.text
        state = await client.get(path, headers=auth["matters:read"])
        assert (state.json()["status"], state.json()["source"]) == ("closed", "ssfw")
        assert (await client.get(path, headers=auth["matters:create"])).status_code == 403

    assert await integrations.deliver(sessions, settings, utcnow) == "ssfw: 3 sent"
    assert [(e["type"], e["detail"]) for e in receiver.accepted] == [
        ("matter.created", {}),
        ("matter.answered", {"channel": "call", "system": "ssfw", "reference": "CALL-7"}),
        ("matter.closed", {"proof": "system"})]
