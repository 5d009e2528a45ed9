"""Two PBX nodes behind one SIP proxy (issue 17), in network namespaces on one machine,
joined by a Linux bridge on a /24 of this run's own:

    carrier (SIPp callers) ─┐                   ┌─ pbx1: Asterisk + bridge
                            ├─ proxy (Kamailio) ┤
    lan (SIPp seat 8001) ───┘                   └─ pbx2: Asterisk + bridge
                      one PostgreSQL database (unix socket; TCP for Kamailio, through socat)

Each node is a data folder and a hotline.toml of its own with the same [cluster] (node
pbx1 or pbx2): its own sandboxed Asterisk (`hotline pbx up` run inside its namespace, so
its AMI and AGI are its own) and its own bridge; the proxy is `hotline proxy up` inside
its namespace. Which node carried a call: each node's CDR file, by the caller's number.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

import pbx
from hotline.db.migrate import upgrade
from hotline.settings import REPO_ROOT, Settings, load_settings
from pbx import proxy
from tests.integration import sipp
from tests.integration.conftest import OFFSET, BridgeProcess, wait_for
from tests.integration.sipp import in_netns

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("kamailio") is None or shutil.which("socat") is None,
    reason="needs root (network namespaces), Kamailio and socat")

# Names and a network of this run's own (the port offset), so runs side by side never
# share a namespace, a link or an address.
_RUN = OFFSET // 100 % 120
NET = f"10.91.{_RUN}"
BRIDGE = f"cl{_RUN}br0"
HOSTS = {"car": f"{NET}.2", "prx": f"{NET}.10", "pbx1": f"{NET}.11", "pbx2": f"{NET}.12",
         "lan": f"{NET}.20"}
NS = {name: f"cl{_RUN}-{name}" for name in HOSTS}
DATABASE = f"cl{_RUN}_cluster"
PG_SOCKET = "/var/run/postgresql"
PROBE_SECONDS = 2
SIP = 5060  # every host is a namespace of its own: the standard port everywhere

NODE_CONFIG = """
[paths]
data_dir = "{data}"
[database]
url = "{db_url}"
[pbx]
sip_bind = "{address}"
sip_port = {sip}
carrier_match = "{carrier}"
rtp_start = 31000
rtp_end = 31999
seats = ["8001"]
judges = []
[calls]
queue_max_wait = 15
message_max_seconds = 10
closing_check_seconds = 2
transfer_ring_seconds = 6
[cluster]
node = "{node}"
nodes = ["pbx1={pbx1}", "pbx2={pbx2}"]
proxy = "{proxy}"
probe_seconds = {probe}
"""


def _run(*argv: str, netns: str = "", check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([*in_netns(netns), *argv], capture_output=True, text=True,
                          timeout=120, check=False)
    if check and done.returncode != 0:
        raise AssertionError(f"{' '.join(argv)}: {done.stdout[-1500:]}{done.stderr[-1500:]}")
    return done


# --- the network -----------------------------------------------------------------------------

def _remove_network() -> None:
    for ns in NS.values():
        subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)
    for ns in NS.values():
        subprocess.run(["ip", "link", "del", ns], capture_output=True, check=False)
    subprocess.run(["ip", "link", "del", BRIDGE], capture_output=True, check=False)


@contextlib.contextmanager
def network_up() -> Iterator[None]:
    """The namespaces, their links and the bridge; removed on the way out."""
    _remove_network()  # a run killed half-way left them
    try:
        _run("ip", "link", "add", BRIDGE, "type", "bridge")
        _run("ip", "link", "set", BRIDGE, "up")
        for name, address in HOSTS.items():
            ns, inner = NS[name], f"{NS[name]}-i"
            _run("ip", "netns", "add", ns)
            _run("ip", "link", "add", ns, "type", "veth", "peer", "name", inner, "netns", ns)
            _run("ip", "link", "set", ns, "master", BRIDGE, "up")
            _run("ip", "addr", "add", f"{address}/24", "dev", inner, netns=ns)
            _run("ip", "link", "set", inner, "up", netns=ns)
            _run("ip", "link", "set", "lo", "up", netns=ns)
        yield
    finally:
        _remove_network()


# --- the database ------------------------------------------------------------------------------

def _admin(sql: str) -> None:
    with psycopg.connect(f"host={PG_SOCKET} user=postgres dbname=postgres",
                         autocommit=True) as db:
        db.execute(sql)


@contextlib.contextmanager
def database_up() -> Iterator[str]:
    """A PostgreSQL database of this run's own (its URL through the unix socket)."""
    _admin(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    _admin(f"CREATE DATABASE {DATABASE}")
    try:
        yield f"postgresql+psycopg://postgres@/{DATABASE}?host={PG_SOCKET}"
    finally:
        _admin(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")


def _rows(db_url: str, sql: str) -> list[tuple[object, ...]]:
    with psycopg.connect(f"host={PG_SOCKET} user=postgres dbname={DATABASE}") as db:
        return db.execute(sql).fetchall()


# --- the nodes and the proxy -------------------------------------------------------------------

@dataclass
class Node:
    name: str
    settings: Settings
    env: dict[str, str]
    bridge: BridgeProcess

    @property
    def ns(self) -> str:
        return NS[self.name]

    def up(self) -> None:
        done = subprocess.run([*in_netns(self.ns), sys.executable, "-m", "cli", "pbx", "up"],
                              cwd=REPO_ROOT, env=self.env, capture_output=True, text=True,
                              timeout=180, check=False)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        self.bridge.start()

    def kill(self) -> None:
        """kill -9 of its Asterisk and its bridge, as a node losing power."""
        pid = pbx.running_pid(self.settings)
        assert pid is not None and self.bridge.proc is not None
        os.kill(pid, signal.SIGKILL)
        self.bridge.proc.send_signal(signal.SIGKILL)
        self.bridge.proc.wait(timeout=10)
        self.bridge.proc = None

    def down(self) -> None:
        self.bridge.stop()
        pbx.stop(self.settings)

    def cdr_sources(self) -> list[str]:
        """The caller of every call leg its Asterisk ended (CDR file)."""
        path = pbx.instance_for(self.settings).cdr_file
        if not path.exists():
            return []
        return [json.loads(line)["src"] for line in path.read_text().splitlines() if line]

    def cdr_callers(self) -> set[str]:
        return set(self.cdr_sources())

    def seat_reachable(self, extension: str) -> bool:
        listing = pbx.cli(self.settings, "pjsip show contacts")
        return any(f"{extension}/sip:{extension}@" in line and "Avail" in line
                   for line in listing.splitlines())


@dataclass
class Cluster:
    nodes: dict[str, Node]
    proxy_settings: Settings
    proxy_env: dict[str, str]
    db_url: str
    workdir: Path

    def hotline(self, *args: str) -> str:
        node = self.nodes["pbx1"]
        done = subprocess.run([sys.executable, "-m", "cli", *args], cwd=REPO_ROOT,
                              env=node.env, capture_output=True, text=True, timeout=60,
                              check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def carried(self, caller: str) -> dict[str, int]:
        """Node → how many of this caller's calls its Asterisk carried (its CDR)."""
        return {n.name: sum(1 for src in n.cdr_sources() if src == caller)
                for n in self.nodes.values()}

    def node_of(self, caller: str) -> str | None:
        found = [n.name for n in self.nodes.values() if caller in n.cdr_callers()]
        assert len(found) <= 1, f"{caller} on two nodes: {found}"
        return found[0] if found else None

    def proxy_status(self) -> subprocess.CompletedProcess[str]:
        """`hotline proxy status` on the proxy's host."""
        return subprocess.run([*in_netns(NS["prx"]), sys.executable, "-m", "cli", "proxy",
                               "status"], cwd=REPO_ROOT, env=self.proxy_env,
                              capture_output=True, text=True, timeout=60, check=False)

    def dispatcher_flags(self, node: str) -> str:
        uri = proxy.node_uris(self.proxy_settings)[node]
        done = _run("kamcmd", "-s", f"unix:{proxy.paths(self.proxy_settings).control}",
                    "dispatcher.list", netns=NS["prx"])
        lines = [line.strip() for line in done.stdout.splitlines()]
        at = lines.index(f"URI: {uri}")
        return next(line.split(":", 1)[1].strip() for line in lines[at:]
                    if line.startswith("FLAGS:"))

    def call(self, caller: str, seconds: float = 3, count: int = 1,
             every_ms: int = 1000) -> sipp.SippResult:
        """The carrier's call(s) to 12368."""
        return sipp.call(sipp.quiet(seconds), target=f"{HOSTS['prx']}:{SIP}",
                         local=f"{HOSTS['car']}:{SIP}", caller=caller, media_port=26000,
                         workdir=self.workdir, timeout=60, count=count, every_ms=every_ms,
                         netns=NS["car"], routed=True)

    def phone_password(self, extension: str) -> str:
        [(password,)] = _rows(self.db_url, "SELECT password FROM phones WHERE extension = "
                                           f"'{extension}'")
        return str(password)

    def call_rows(self) -> dict[str, tuple[object, ...]]:
        return {str(row[0]): row for row in _rows(
            self.db_url, "SELECT caller_number, route, ended_at FROM calls")}


def _write_config(data: Path, node: str, db_url: str) -> Path:
    config = data / "hotline.toml"
    config.write_text(NODE_CONFIG.format(
        data=data, db_url=db_url, address=HOSTS.get(node, HOSTS["prx"]), sip=SIP,
        carrier=HOSTS["car"], node=node if node in ("pbx1", "pbx2") else "",
        pbx1=HOSTS["pbx1"], pbx2=HOSTS["pbx2"], proxy=HOSTS["prx"], probe=PROBE_SECONDS))
    return config


def _settings(config: Path) -> tuple[Settings, dict[str, str]]:
    env = {**os.environ, "HOTLINE_CONFIG": str(config)}
    return load_settings(env=env, config_path=config), env


@pytest.fixture(scope="module")
def network() -> Iterator[None]:
    with network_up():
        yield


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    with database_up() as url:
        yield url


@pytest.fixture(scope="module")
def cluster(network: None, database: str,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with cluster_up(database, tmp_path_factory.mktemp) as built:
        yield built


@contextlib.contextmanager
def cluster_up(database: str, mktemp: Callable[[str], Path]) -> Iterator[Cluster]:
    """Both nodes and the proxy running, after hours (the voice menu answers); mktemp
    gives a new folder for a name (pytest's tmp_path_factory.mktemp, or bench's)."""
    upgrade(database)
    nodes = {}
    # The prompts are synthesized once (the first node) and copied by the second.
    prompts = mktemp("prompt-cache")
    for name in ("pbx1", "pbx2"):
        data = mktemp(name)
        (data / "prompt-cache").symlink_to(prompts)
        settings, env = _settings(_write_config(data, name, database))
        # the instance folder is named after the data folder: a run before left its CDR
        pbx.instance_for(settings).cdr_file.unlink(missing_ok=True)
        nodes[name] = Node(name, settings, env, BridgeProcess(settings, env, netns=NS[name]))
    # Kamailio reaches PostgreSQL over TCP: 127.0.0.1:5432 inside the proxy's namespace is
    # forwarded to the server's unix socket.
    forward = subprocess.Popen(
        [*in_netns(NS["prx"]), "socat", "TCP-LISTEN:5432,bind=127.0.0.1,reuseaddr,fork",
         f"UNIX-CONNECT:{PG_SOCKET}/.s.PGSQL.5432"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    proxy_data = mktemp("proxy")
    proxy_data.chmod(0o755)  # Kamailio runs as its own user
    proxy_settings, proxy_env = _settings(_write_config(
        proxy_data, "proxy", f"postgresql+psycopg://postgres@127.0.0.1:5432/{DATABASE}"))
    workdir = mktemp("cluster-sipp")
    built = Cluster(nodes, proxy_settings, proxy_env, database, workdir)
    try:
        for node in nodes.values():  # one after the other: each seeds the phones table
            started = time.monotonic()
            node.up()
            print(f"{node.name} up in {time.monotonic() - started:.0f} s")
        done = subprocess.run([*in_netns(NS["prx"]), sys.executable, "-m", "cli", "proxy",
                               "up"], cwd=REPO_ROOT, env=proxy_env, capture_output=True,
                              text=True, timeout=60, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        built.hotline("mode", "closed")  # after hours: the voice menu answers
        yield built
    finally:
        subprocess.run([*in_netns(NS["prx"]), sys.executable, "-m", "cli", "proxy", "down"],
                       cwd=REPO_ROOT, env=proxy_env, capture_output=True, timeout=60,
                       check=False)
        for node in nodes.values():
            node.down()
        forward.terminate()
        forward.wait(timeout=10)


def _seat(cluster: Cluster) -> sipp.Phone:
    return sipp.Phone("8001", cluster.phone_password("8001"), target=f"{HOSTS['prx']}:{SIP}",
                      port=SIP, media_port=26100, workdir=cluster.workdir, netns=NS["lan"],
                      ip=HOSTS["lan"])


def _queue_call_reaches_the_seat(cluster: Cluster, caller: str) -> str:
    """An office-hours call answered by seat 8001, registered at the proxy only; the node
    that carried it."""
    for node in cluster.nodes.values():
        if node.bridge.running:
            pbx.cli(node.settings, "queue add member PJSIP/8001 to seats penalty 0 as 8001")
    result = cluster.call(caller, seconds=16)
    assert result.returncode == 0, result.output
    row = wait_for(lambda: cluster.call_rows().get(caller), 30)
    wait_for(lambda: cluster.node_of(caller), 20)
    agent = _rows(cluster.db_url, f"SELECT agent, route FROM calls WHERE caller_number = "
                                  f"'{caller}'")
    assert agent == [("8001", "queue")], (agent, row)
    return str(cluster.node_of(caller))


def _watch_down(cluster: Cluster, node: str, noticed: list[float], limit: float = 30) -> None:
    """Note when the proxy's dispatcher first shows `node` inactive."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if cluster.dispatcher_flags(node).startswith("I"):
            noticed.append(time.monotonic())
            return
        time.sleep(0.2)


# --- the tests, in order: both nodes, one killed, back again -----------------------------------

def test_calls_spread_over_both_nodes_and_a_seat_registered_at_the_proxy_answers(
        cluster: Cluster) -> None:
    caller, count = "13800001000", 8
    # the carrier's calls, each with a Call-ID of its own (hashed afresh), 3 at a time
    result = cluster.call(caller, seconds=3, count=count, every_ms=400)
    assert result.returncode == 0, result.output
    wait_for(lambda: sum(cluster.carried(caller).values()) == count, 20)
    carried = cluster.carried(caller)
    assert all(carried.values()), carried  # both nodes took calls: {"pbx1": 5, "pbx2": 3}
    # every call reached the voice menu on its node and was written to the one database
    sql = f"SELECT route FROM calls WHERE caller_number = '{caller}' AND ended_at IS NOT NULL"
    rows = wait_for(lambda: len(r := _rows(cluster.db_url, sql)) >= count and r, 20)
    assert rows == [("menu",)] * count
    status = cluster.proxy_status()
    assert status.returncode == 0, status.stdout + status.stderr
    assert f"node      pbx1 sip:{HOSTS['pbx1']}:{SIP}: takes calls" in status.stdout
    assert f"node      pbx2 sip:{HOSTS['pbx2']}:{SIP}: takes calls" in status.stdout

    cluster.hotline("mode", "open")
    try:
        with _seat(cluster):
            for node in cluster.nodes.values():
                wait_for(lambda n=node: n.seat_reachable("8001"), 20)
            _queue_call_reaches_the_seat(cluster, "13900000001")
        # switched off: no registration at the proxy, so the nodes see the seat unreachable
        for node in cluster.nodes.values():
            wait_for(lambda n=node: not n.seat_reachable("8001"), 20)
    finally:
        cluster.hotline("mode", "closed")


def test_a_killed_node_gets_no_new_calls_and_loses_no_record(cluster: Cluster) -> None:
    before = set(cluster.call_rows())
    survivor, victim = cluster.nodes["pbx1"], cluster.nodes["pbx2"]
    noticed: list[float] = []
    watcher = threading.Thread(target=_watch_down, args=(cluster, "pbx2", noticed))
    killed = time.monotonic()
    victim.kill()
    watcher.start()

    answered_at: float | None = None
    for i in range(4):
        caller = f"1370000{OFFSET % 1000:03d}{i}"
        result = cluster.call(caller, seconds=2)
        # no new call fails: one offered to the dead node before the probe noticed gets
        # no answer and is sent on to the other (failure_route)
        assert result.returncode == 0, result.output
        answered_at = answered_at or time.monotonic() - 2  # its 2 s of talk, then BYE
        assert wait_for(lambda c=caller: cluster.node_of(c), 20) == "pbx1"
    watcher.join(timeout=4 * PROBE_SECONDS + 15)
    assert noticed, "the proxy never marked the killed node down"
    assert answered_at is not None
    print(f"failover: the first new call answered {answered_at - killed:.1f} s after the "
          f"kill; the proxy marked pbx2 down {noticed[0] - killed:.1f} s after it (probe "
          f"every {PROBE_SECONDS} s)")

    # no call record made before the kill is missing
    assert before <= set(cluster.call_rows())
    status = cluster.proxy_status().stdout
    assert f"WARNING   pbx2 sip:{HOSTS['pbx2']}:{SIP}: no new calls" in status, status

    cluster.hotline("mode", "open")
    try:
        with _seat(cluster):
            wait_for(lambda: survivor.seat_reachable("8001"), 20)
            assert _queue_call_reaches_the_seat(cluster, "13900000002") == "pbx1"
    finally:
        cluster.hotline("mode", "closed")


def test_the_node_started_again_takes_calls_again(cluster: Cluster) -> None:
    victim = cluster.nodes["pbx2"]
    victim.up()
    wait_for(lambda: cluster.dispatcher_flags("pbx2").startswith("A"), 4 * PROBE_SECONDS + 10)
    carried = []
    for i in range(10):
        caller = f"1360000{OFFSET % 1000:03d}{i}"
        result = cluster.call(caller, seconds=2)
        assert result.returncode == 0, result.output
        carried.append(wait_for(lambda c=caller: cluster.node_of(c), 20))
        if "pbx2" in carried:
            break
    assert "pbx2" in carried, carried
