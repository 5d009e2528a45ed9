"""One console, two PBX nodes (issue 17), everything real: two sandboxed Asterisks with the
repo's configuration, each on its own loopback address with its own data folder,
hotline.toml and bridge, the same [cluster] nodes and one PostgreSQL database made for
this module; `hotline console` (node pbx1's configuration) with one AMI link per node; a
SIPp desk phone registered directly to both nodes (no proxy here: the proxy's own tests
cover it); a SIPp caller whose call reaches node 2, as the proxy would hand it over (the
carrier's calls are known there by the proxy's header, pbx/trunks.py).

Proven: a seat signing in at the console is a member of the queue on both nodes; a call on
node 2 rings the seat and pops on its desk (the desk's event stream); with node 1 stopped,
signing out, in and pausing still work on node 2, and node 1, back, gets the seat back as
the console left it (paused)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import pbx
from agent_console.texts import AGENT
from cli import health
from hotline.db.base import make_engine, make_sessionmaker
from hotline.db.migrate import upgrade
from hotline.secrets import load_or_create
from hotline.settings import REPO_ROOT, Settings, load_settings
from ivr.phonesync import PHONES_SYNC_SECONDS
from pbx.trunks import TRUNK_HEADER
from tests.integration import sipp
from tests.integration.conftest import BridgeProcess, phone_password, port
from tests.integration.rtp import CallerMedia
from tests.integration.sipp import SCENARIOS, SippResult
from tests.integration.test_desk import PASSWORD, ensure_user
from tests.integration.test_walking_skeleton import CALLER, set_mode

# Loopback addresses of this module's own (127.0.30.x), one per node.
NODES = {"pbx1": "127.0.30.11", "pbx2": "127.0.30.12"}
# Ports of its own: the module runs on the worker whose session bridge, console and
# Asterisk hold the conftest's (tests/integration/conftest.py PORTS) meanwhile.
SIP, AMI, CONSOLE_PORT = port(25860), port(25838), port(28868)
CONSOLE = f"http://127.0.0.1:{CONSOLE_PORT}"
# Nothing listens there: the nodes' seat contacts at the proxy stay unreachable, and the
# phone's own registration on each node is what rings.
PROXY = f"127.0.0.1:{port(25899)}"
SEAT = "8001"
PG_ADMIN = os.environ.get("HOTLINE_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
DATABASE = f"fo_console_nodes_{port(0)}"  # a run of its own per port offset

CONFIG = """
[paths]
data_dir = "{data}"
[database]
url = "{url}"
[pbx]
sip_bind = "{address}"
sip_port = {sip}
ami_port = {ami}
agi_port = {agi}
rtp_start = {rtp_start}
rtp_end = {rtp_end}
[calls]
queue_max_wait = 30
[console]
port = {console}
wrap_up_seconds = 5
[cluster]
node = "{node}"
nodes = [{nodes}]
proxy = "{proxy}"
"""


@dataclass
class Node:
    name: str
    address: str
    settings: Settings
    env: dict[str, str]
    bridge: BridgeProcess

    def queue(self) -> str:
        """The seats queue as the node's Asterisk has it (its control socket)."""
        return pbx.cli(self.settings, "queue show seats")

    def has_seat(self, paused: bool | None = None) -> bool:
        lines = [line for line in self.queue().splitlines() if f"PJSIP/{SEAT}" in line]
        if not lines:
            return False
        return paused is None or ("paused" in lines[0].lower()) == paused


def _admin(sql: str) -> None:
    with psycopg.connect(make_url(PG_ADMIN).set(drivername="postgresql")
                         .render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(sql.encode())


def _node_settings(tmp: Path, name: str, index: int, url: str) -> tuple[Settings, Path]:
    data = tmp / name
    data.mkdir()
    path = data / "hotline.toml"
    rtp = port(32000) + 500 * index  # a range of its own, half each
    path.write_text(CONFIG.format(
        data=data, url=url, address=NODES[name], sip=SIP, ami=AMI, agi=port(24873) + index,
        rtp_start=rtp, rtp_end=rtp + 499, console=CONSOLE_PORT, node=name, proxy=PROXY,
        nodes=", ".join(f'"{n}={a}"' for n, a in NODES.items())))
    return load_settings(env={}, config_path=path), path


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Node]]:
    _admin(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    _admin(f"CREATE DATABASE {DATABASE}")
    url = make_url(PG_ADMIN).set(database=DATABASE).render_as_string(hide_password=False)
    tmp = tmp_path_factory.mktemp("console-nodes")
    made: dict[str, Node] = {}
    try:
        for index, name in enumerate(NODES):
            settings, path = _node_settings(tmp, name, index, url)
            env = {**os.environ, "HOTLINE_CONFIG": str(path)}
            made[name] = Node(name, NODES[name], settings, env, BridgeProcess(settings, env))
        first, second = made["pbx1"].settings, made["pbx2"].settings
        upgrade(first.database_url)
        # The nodes share secrets.toml (docs/cluster.md): one console password for all.
        load_or_create(first)
        shutil.copy2(first.data_dir / "secrets.toml", second.data_dir / "secrets.toml")
        for node in made.values():
            pbx.start(node.settings)
            node.bridge.start()
        yield made
    finally:
        for node in made.values():
            node.bridge.stop()
            with contextlib.suppress(pbx.PbxError):
                pbx.stop(node.settings)
        _admin(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")


@pytest.fixture(scope="module")
def console(nodes: dict[str, Node]) -> Iterator[Settings]:
    """`hotline console` with node pbx1's configuration: one AMI link per node."""
    settings = nodes["pbx1"].settings
    log = open(settings.log_dir / "console-test.out", "ab")  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, "-m", "cli", "console"], cwd=REPO_ROOT,
                            env=nodes["pbx1"].env, stdout=log, stderr=log)
    log.close()
    try:
        health.wait_console_healthy(settings)
        yield settings
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture
async def sessions(console: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(console.database_url)
    yield make_sessionmaker(engine)
    await engine.dispose()


class DeskEvents:
    """The desk's server-sent events, read as a page reads them."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client, self.seen = client, []  # type: ignore[var-annotated]
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> DeskEvents:
        self._task = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *_exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    async def _read(self) -> None:
        kind = ""
        async with self.client.stream("GET", "/api/desk/events", timeout=None) as reply:
            async for line in reply.aiter_lines():
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: "):
                    self.seen.append((kind, json.loads(line[6:])))

    async def wait(self, kind: str, timeout: float = 60.0) -> dict[str, object]:
        for _ in range(int(timeout / 0.2)):
            found = [data for k, data in self.seen if k == kind]
            if found:
                return found[-1]  # type: ignore[no-any-return]
            await asyncio.sleep(0.2)
        raise AssertionError(f"no {kind!r} event within {timeout} s: {self.seen}")


async def _client() -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=CONSOLE, timeout=30)
    token = (await client.post("/api/login", json={"username": "lisi",
                                                   "password": PASSWORD})).json()
    client.headers["Authorization"] = f"Bearer {token['access_token']}"
    return client


async def _presence(client: httpx.AsyncClient, action: str, reason: str = "") -> str:
    reply = await client.post("/api/desk/presence", json={"action": action, "reason": reason})
    assert reply.status_code == 200, reply.text
    return str(reply.json()["state"])


async def _until(check: object, timeout: float = 30.0) -> None:
    for _ in range(int(timeout / 0.3)):
        if await asyncio.to_thread(check):  # type: ignore[arg-type]
            return
        await asyncio.sleep(0.3)
    raise AssertionError(f"never true within {timeout} s: {check}")


def _call_node(node: Node, steps: str, workdir: Path) -> SippResult:
    """A carrier's call as the proxy hands it to a node: the trunk named in its header."""
    name = f"caller-{node.name}"
    scenario = workdir / f"{name}.xml"
    text = (SCENARIOS / "caller.xml.in").read_text().replace(
        "@STEPS@", sipp._render(steps, CallerMedia(workdir, name)))
    invite_end = text.index("Content-Type: application/sdp")
    text = (text[:invite_end] + f"{TRUNK_HEADER}: carrier\n      " + text[invite_end:])
    scenario.write_text(text)
    argv = ["sipp", f"{node.address}:{SIP}", "-sf", str(scenario), "-m", "1",
            "-i", "127.0.0.1", "-p", str(port(25870)), "-mp", str(port(26950)),
            "-s", "12368", "-key", "caller", CALLER, "-nostdin", "-timeout", "90s",
            "-timeout_error", "-trace_err"]
    done = subprocess.run(argv, cwd=workdir, capture_output=True, text=True, timeout=100)
    return SippResult(done.returncode, 0.0, done.stdout[-3000:])


def _channels(node: Node) -> list[str]:
    return [line.split("!")[0] + " " + line.split("!")[4]
            for line in pbx.cli(node.settings, "core show channels concise").splitlines()
            if "!" in line]


async def test_a_seat_signs_in_on_every_node_and_a_call_on_node_2_pops_on_its_desk(
        nodes: dict[str, Node], console: Settings,
        sessions: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    one, two = nodes["pbx1"], nodes["pbx2"]
    await ensure_user(sessions, "lisi", AGENT, "李四", SEAT)
    await set_mode(sessions, "open")
    password = await phone_password(sessions, SEAT)
    client = await _client()
    phone = sipp.Phone(SEAT, password, target=f"{one.address}:{SIP}", port=port(25881),
                       media_port=port(26881), workdir=tmp_path)
    try:
        with phone:
            phone.target = f"{two.address}:{SIP}"  # the same phone, registered on node 2 too
            phone.register()
            assert await _presence(client, "sign_in") == "ready"
            # A member of the queue on both nodes, ready.
            assert one.has_seat(paused=False) and two.has_seat(paused=False)

            async with DeskEvents(client) as desk:
                await desk.wait("state")
                caller = asyncio.create_task(asyncio.to_thread(
                    _call_node, two, sipp.speak(14), tmp_path))
                ring = await desk.wait("ring", timeout=60)
                assert ring["caller_number"] == CALLER
                connected = await desk.wait("connected", timeout=20)
                # The call is node 2's: the seat talks there, node 1 has no channel at all.
                assert any(c.startswith(f"PJSIP/{SEAT}-") and c.endswith(" Up")
                           for c in _channels(two)), _channels(two)
                assert _channels(one) == []
                assert connected["call_id"] == ring["call_id"]
                result = await caller
                assert result.returncode == 0, result.output
                # Node 2's hang-up reaches the desk too: the call is wrapped up there.
                await desk.wait("wrap_up", timeout=20)

            # Node 1 goes away: the seat is managed on node 2 alone.
            await asyncio.to_thread(pbx.stop, one.settings)
            assert await _presence(client, "sign_out") == "out"
            assert not two.has_seat()
            assert await _presence(client, "sign_in") == "ready"
            assert two.has_seat(paused=False)
            assert await _presence(client, "pause", "meeting") == "paused"
            assert two.has_seat(paused=True)

            # Node 1 comes back with an empty queue; the console puts the seat back as the
            # agent left it: in the queue, paused.
            await asyncio.to_thread(pbx.start, one.settings)
            await _until(lambda: one.has_seat(paused=True))
            assert await _presence(client, "resume") == "ready"
            await _until(lambda: one.has_seat(paused=False) and two.has_seat(paused=False))
            assert await _presence(client, "sign_out") == "out"
            assert not one.has_seat() and not two.has_seat()

            # The CLI's one-off control (`hotline phones disable` takes a seat out) reaches
            # every node as well.
            await asyncio.to_thread(pbx.with_control, two.settings,
                                    lambda control: control.join(SEAT, "李四"))
            assert one.has_seat() and two.has_seat()
            await asyncio.to_thread(pbx.with_control, two.settings,
                                    lambda control: control.leave(SEAT))
            assert not one.has_seat() and not two.has_seat()
    finally:
        await client.aclose()
        await set_mode(sessions, "closed")


def _hotline(node: Node, *args: str) -> subprocess.CompletedProcess[str]:
    """`hotline ...` with the node's configuration, as an administrator runs it there."""
    return subprocess.run([sys.executable, "-m", "cli", *args], cwd=REPO_ROOT, env=node.env,
                          capture_output=True, text=True, timeout=120)


def _knows(node: Node, extension: str) -> bool:
    """The node's Asterisk has the phone's endpoint (its control socket)."""
    out = pbx.cli(node.settings, f"pjsip show endpoint {extension}")
    if "Unable to find object" in out:
        return False
    assert f"Endpoint:  {extension}" in out, out
    return True


def _synced(node: Node) -> list[str]:
    """The node's bridge's log lines saying it rewrote and reloaded its phones."""
    log = node.settings.log_dir / "bridge.log"
    return [line for line in log.read_text().splitlines()
            if "site/pjsip.conf rewritten from the phones table" in line]


async def test_a_phone_changed_with_node_1s_configuration_reaches_node_2_through_its_bridge(
        nodes: dict[str, Node]) -> None:
    """`hotline phones` applies a change to its own node's Asterisk only; node 2's bridge
    renders site/pjsip.conf from the table and reloads PJSIP within PHONES_SYNC_SECONDS.
    Node 1's bridge finds its file already the table's and reloads nothing."""
    one, two = nodes["pbx1"], nodes["pbx2"]
    ext = "8177"
    before_one, before_two = len(_synced(one)), len(_synced(two))
    assert not _knows(one, ext) and not _knows(two, ext)

    started = time.monotonic()
    added = await asyncio.to_thread(_hotline, one, "phones", "add", ext, "--label", "新座席")
    assert added.returncode == 0, added.stdout + added.stderr
    assert _knows(one, ext)  # the CLI's own reload, on its own node
    await _until(lambda: _knows(two, ext))
    print(f"node 2 knew {ext} {time.monotonic() - started:.1f} s after `hotline phones add`"
          " began")
    await _until(lambda: len(_synced(two)) == before_two + 1)  # logged after the reload

    password = added.stdout.split(f"SIP password of {ext}: ")[1].split()[0]
    site_two = pbx.instance_for(two.settings).dir("etc") / "site" / "pjsip.conf"
    assert f"password = {password}" in site_two.read_text()
    reset = await asyncio.to_thread(_hotline, one, "phones", "reset-password", ext)
    assert reset.returncode == 0, reset.stdout + reset.stderr
    new = reset.stdout.split(f"SIP password of {ext}: ")[1].split()[0]
    await _until(lambda: f"password = {new}" in site_two.read_text())
    assert f"password = {password}" not in site_two.read_text()

    started = time.monotonic()
    disabled = await asyncio.to_thread(_hotline, one, "phones", "disable", ext)
    assert disabled.returncode == 0, disabled.stdout + disabled.stderr
    assert not _knows(one, ext)
    await _until(lambda: not _knows(two, ext))
    print(f"node 2 dropped {ext} {time.monotonic() - started:.1f} s after `hotline phones "
          "disable` began")
    await _until(lambda: len(_synced(two)) == before_two + 3)

    # Node 1's file was the CLI's, already the table's: its bridge wrote and reloaded
    # nothing (two of its rounds after node 2's last).
    await asyncio.sleep(2 * PHONES_SYNC_SECONDS + 1)
    assert len(_synced(one)) == before_one
