"""Two nodes, one system (issue 17), with real processes on one PostgreSQL database made
for this module (nd_cluster_*): each node has its own data folder and hotline.toml, the
same [cluster] nodes (pbx1 on 127.0.0.11, pbx2 on 127.0.0.12, the proxy on 127.0.0.10).

* Two schedulers (scheduler.main.main, as `python -m scheduler` runs it, with a probe job
  that writes a row per run): exactly one is active; kill -9 of the active one and the
  other takes over; the killed one, restarted, stands by; no probe run of one node
  overlapped a run of the other.
* Two bridges (`python -m ivr`) write their rows; `hotline status` lists both nodes, each
  answering SIP OPTIONS (SIPp stands in for each node's Asterisk and for the proxy: the
  probe is what is tested here; tests/integration/test_cluster.py runs the real ones), and
  the active scheduler; the node killed (its SIP, bridge and scheduler, kill -9) is DOWN and
  status exits non-zero."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy.engine import make_url

from hotline.db.migrate import upgrade
from hotline.settings import REPO_ROOT
from scheduler.main import TAKEOVER_GRACE_SECONDS
from tests.integration.conftest import port

pytestmark = pytest.mark.postgres

PG_ADMIN = os.environ.get("HOTLINE_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
ADDRESSES = {"pbx1": "127.0.0.11", "pbx2": "127.0.0.12"}
PROXY = "127.0.0.10"
SIP, PROXY_PORT, AMI = port(25160), port(25161), port(25138)
AGI = {"pbx1": port(24673), "pbx2": port(24674)}
LOCK_SECONDS = 1
# What a loaded machine (2 cores, other engineers' tests) may add to a takeover.
MARGIN_SECONDS = 20.0

CONFIG = """
[paths]
data_dir = "{data}"
[database]
url = "{url}"
[pbx]
sip_port = {sip}
ami_port = {ami}
agi_port = {agi}
[console]
port = {console}
[cluster]
node = "{node}"
nodes = ["pbx1={pbx1}", "pbx2={pbx2}"]
proxy = "{proxy}:{proxy_port}"
lock_seconds = {lock}
"""


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    admin_url = make_url(PG_ADMIN)
    name = f"nd_cluster_{secrets.token_hex(4)}"
    try:
        admin = psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError:
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)  # once, before the nodes' processes start
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE nd_probe_runs (id serial PRIMARY KEY, node text, "
                          "started_at timestamptz, ended_at timestamptz)")
        yield url
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def nodes(tmp_path: Path, database: str) -> dict[str, Path]:
    """Each node's hotline.toml."""
    configs = {}
    for node in ADDRESSES:
        data = tmp_path / node
        data.mkdir()
        config = data / "hotline.toml"
        config.write_text(CONFIG.format(
            data=data, url=database, sip=SIP, ami=AMI, agi=AGI[node], console=port(28468),
            node=node, lock=LOCK_SECONDS, proxy=PROXY, proxy_port=PROXY_PORT, **ADDRESSES))
        configs[node] = config
    return configs


class Processes:
    """Processes this test starts, each stopped (or killed) by its own id at the end."""

    def __init__(self) -> None:
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, key: str, argv: list[str], config: Path | None = None) -> None:
        env = {**os.environ, **({"HOTLINE_CONFIG": str(config)} if config else {})}
        log = open(Path(os.environ.get("TMPDIR", "/tmp")) / f"nd-{key}.out", "ab")  # noqa: SIM115
        self.procs[key] = subprocess.Popen(argv, cwd=REPO_ROOT, env=env, stdout=log,
                                           stderr=subprocess.STDOUT)
        log.close()

    def kill(self, key: str) -> None:
        proc = self.procs.pop(key)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs.clear()


@pytest.fixture
def processes() -> Iterator[Processes]:
    procs = Processes()
    try:
        yield procs
    finally:
        procs.stop_all()


def _rows(url: str, role: str) -> dict[str, dict[str, Any]]:
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute("SELECT node, state, pid, last_seen, detail FROM cluster_nodes "
                            "WHERE role = %s", (role,)).fetchall()
    now = datetime.now(UTC)
    return {r[0]: {"state": r[1], "pid": r[2], "age": (now - r[3]).total_seconds(),
                   "detail": r[4]} for r in rows}


def _active(url: str, processes: Processes) -> list[str]:
    """The nodes whose scheduler, one this test started and has not killed, says active and
    wrote in the last 5 s (the database is the module's: an earlier test's scheduler, stopped
    a moment ago, left its row saying active)."""
    ours = {p.pid for key, p in processes.procs.items() if key.startswith("scheduler-")}
    return [n for n, r in _rows(url, "scheduler").items()
            if r["state"] == "active" and r["age"] < 5 and r["pid"] in ours]


def _wait(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := predicate():
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _scheduler(processes: Processes, nodes: dict[str, Path], node: str) -> None:
    processes.start(f"scheduler-{node}",
                    [sys.executable, "-m", "tests.integration.cluster_scheduler"], nodes[node])


def test_one_scheduler_is_active_and_a_killed_one_is_replaced(
        database: str, nodes: dict[str, Path], processes: Processes) -> None:
    for node in ADDRESSES:
        _scheduler(processes, nodes, node)
    _wait(lambda: len(_rows(database, "scheduler")) == 2 and _active(database, processes), 60,
          "both schedulers' rows and one active")
    for _ in range(10):  # a few seconds: never two, never none
        schedulers = _rows(database, "scheduler")
        assert sorted(r["state"] for r in schedulers.values()) == ["active", "standby"]
        time.sleep(0.5)
    [first] = _active(database, processes)
    other = "pbx2" if first == "pbx1" else "pbx1"
    _wait(lambda: _probe_runs(database, first), 30, "a probe run on the active node")
    assert not _probe_runs(database, other), "the standby ran no job"

    processes.kill(f"scheduler-{first}")
    killed, killed_at = time.monotonic(), datetime.now(UTC)
    _wait(lambda: _active(database, processes) == [other], LOCK_SECONDS + TAKEOVER_GRACE_SECONDS
          + MARGIN_SECONDS, f"{other}'s scheduler to take over")
    took = time.monotonic() - killed
    print(f"\nscheduler failover: {took:.1f} s from kill -9 to the standby active "
          f"(lock_seconds {LOCK_SECONDS}, takeover grace {TAKEOVER_GRACE_SECONDS} s)")
    _wait(lambda: _probe_runs(database, other), 30, "a probe run on the node that took over")

    _scheduler(processes, nodes, first)  # back: it stands by
    _wait(lambda: _rows(database, "scheduler")[first]["age"] < 2
          and _rows(database, "scheduler")[first]["state"] == "standby", 60,
          f"{first}'s restarted scheduler to stand by")
    time.sleep(2 * LOCK_SECONDS + 1)
    assert _active(database, processes) == [other]
    processes.stop_all()

    runs = _all_runs(database)
    # A run the kill cut short has no end: it ended at the kill.
    ends_of_first = [end or killed_at for node, _, end in runs if node == first]
    starts_of_other = [start for node, start, _ in runs if node == other]
    assert ends_of_first and starts_of_other
    assert min(starts_of_other) >= max(ends_of_first), "a job ran on both nodes at once"


def _probe_runs(url: str, node: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        return int(conn.execute("SELECT count(*) FROM nd_probe_runs WHERE node = %s",
                                (node,)).fetchone()[0])  # type: ignore[index]


def _all_runs(url: str) -> list[tuple[str, datetime, datetime | None]]:
    with psycopg.connect(url, autocommit=True) as conn:
        return [(r[0], r[1], r[2]) for r in conn.execute(
            "SELECT node, started_at, ended_at FROM nd_probe_runs ORDER BY started_at")]


def _sip_answerer(processes: Processes, key: str, ip: str, sip_port: int) -> None:
    processes.start(key, ["sipp", "-sf", str(REPO_ROOT / "tests" / "integration" / "scenarios"
                                             / "options_uas.xml"),
                          "-i", ip, "-p", str(sip_port), "-nostdin", "-m", "1000"])


def _status(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cli", "status"], cwd=REPO_ROOT,
                          env={**os.environ, "HOTLINE_CONFIG": str(config)},
                          capture_output=True, text=True, timeout=120, check=False)


def _line(out: str, start: str) -> str:
    return next((line for line in out.splitlines() if line.startswith(start)), "")


def test_bridges_write_their_rows_and_status_marks_a_killed_node_down(
        database: str, nodes: dict[str, Path], processes: Processes) -> None:
    for node, ip in ADDRESSES.items():
        _sip_answerer(processes, f"sip-{node}", ip, SIP)
        processes.start(f"bridge-{node}", [sys.executable, "-m", "ivr"], nodes[node])
        processes.start(f"scheduler-{node}", [sys.executable, "-m", "scheduler"], nodes[node])
    _sip_answerer(processes, "sip-proxy", PROXY, PROXY_PORT)
    bridges = _wait(lambda: (rows := _rows(database, "bridge")) and len(rows) == 2
                    and all(r["age"] < 5 for r in rows.values()) and rows, 60,
                    "both bridges' rows")
    # No Asterisk runs here: each bridge says so, and that it carries no call.
    assert {n: (r["state"], r["detail"]["calls"]) for n, r in bridges.items()} == {
        "pbx1": ("no-ami", 0), "pbx2": ("no-ami", 0)}
    assert bridges["pbx1"]["pid"] == processes.procs["bridge-pbx1"].pid
    _wait(lambda: _active(database, processes), 60, "an active scheduler")

    both = _status(nodes["pbx1"])
    print(both.stdout)
    assert _line(both.stdout, "nodes ") == "nodes     ok"
    for node, ip in ADDRESSES.items():
        line = _line(both.stdout, f"node      {node} {ip}: ")
        assert "SIP 200 OK" in line and "bridge no-ami (" in line, both.stdout
        assert "scheduler active" in line or "scheduler standby" in line
    assert _line(both.stdout, "proxy ").startswith(f"proxy     {PROXY}:{PROXY_PORT}: SIP 200")
    assert _line(both.stdout, "scheduler active on node ")

    for part in ("sip", "bridge", "scheduler"):  # node pbx2 dies
        processes.kill(f"{part}-pbx2")
    down = _status(nodes["pbx1"])
    print(down.stdout)
    assert down.returncode != 0
    assert _line(down.stdout, "nodes ") == "nodes     UNHEALTHY: node pbx2 DOWN"
    assert "DOWN: " in _line(down.stdout, "node      pbx2 ")
    assert "SIP 200 OK" in _line(down.stdout, "node      pbx1 ")
    # pbx2's scheduler may have been the active one: pbx1's is now, whichever it was.
    _wait(lambda: _active(database, processes) == ["pbx1"], LOCK_SECONDS + TAKEOVER_GRACE_SECONDS
          + MARGIN_SECONDS, "pbx1's scheduler active")
