"""Two PBX nodes behind the SIP proxy against one, and the failover time (issue 17).

The cluster of tests/integration/test_cluster.py (network namespaces on a bridge: the
carrier's SIPp, Kamailio, two nodes each with its sandboxed Asterisk and bridge, one
PostgreSQL database), after hours: every call is answered by the voice menu.

1. Capacity. A ladder of call rates (--rates, calls a second), each for --window seconds
   of arrivals, each caller listening --seconds to the menu, first with both nodes, then
   with node 2 stopped (the proxy sends everything to node 1). At each step: calls
   failed (SIPp), recorded in the database, and first prompt p50/p95 (the call's start to
   the bridge's first `prompt` event, both as the bridge wrote them in the database). A
   configuration carries a rate when every call got its prompt and the p95 stayed under
   --p95 seconds; the ratio is the highest such rate with two nodes over the highest with
   one.
2. Failover. Node 2 back; calls arriving 1 a second, then kill -9 of node 2's Asterisk
   and bridge while some are on it (those end with it), and at once new calls, 1 a second.
   Measured: kill → the proxy marks node 2 down, kill → the first new call answered (by
   node 1), and how many new calls failed (none should).

One core per node (--core-per-node, the default): as if each node were a one-core
server of its own, node 1's Asterisk and bridge (every thread, and every child) run on
CPU 0 only and node 2's on CPU 1 only (`taskset -a -p`, checked in every thread's
/proc/<pid>/task/<tid>/status Cpus_allowed_list, and again after node 2 is started
again); with node 2 stopped, node 1 still has only CPU 0. The carrier's SIPp, Kamailio
and PostgreSQL are not pinned: they share both cores with the nodes, so their work (the
bridges' writes to PostgreSQL above all) counts against the nodes' cores. At each rung
the CPU each part used (from /proc, in cores: 1.0 = one core busy the whole rung) and
each core's busy share are recorded, to tell what saturates. --no-core-per-node: both
nodes share both cores (the first measurement, ratio 1.0: no ceiling reached).

A configuration's ladder stops at its first rung that fails (a call failed or got no
prompt, or the p95 over --p95): its ceiling is the rung below.

Needs root (namespaces), Kamailio and socat:

    .venv/bin/python bench/cluster.py --rates 12,16,20,22,24,28,32,36,40,44,48 \
        --window 10 --seconds 8 [--json out.json]     (the defaults)

All on one machine: the ratio says what two one-core nodes behind the proxy carry against
one, with the proxy, the carrier's SIPp and the database on the same two cores.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import pbx  # noqa: E402
from pbx import proxy  # noqa: E402
from tests.integration import test_cluster as rig  # noqa: E402
from tests.integration.conftest import wait_for  # noqa: E402

NODE_CPU = {"pbx1": 0, "pbx2": 1}


def folders(root: Path) -> Callable[[str], Path]:
    count = iter(range(1000))

    def mktemp(name: str) -> Path:
        path = root / f"{name}{next(count)}"
        path.mkdir(parents=True)
        return path
    return mktemp


def descendants(pid: int) -> list[int]:
    """pid and every process under it (each thread's children)."""
    found, todo = [], [pid]
    while todo:
        now = todo.pop()
        found.append(now)
        for task in Path(f"/proc/{now}/task").glob("*"):
            with contextlib.suppress(FileNotFoundError, ProcessLookupError):
                todo += [int(c) for c in (task / "children").read_text().split()]
    return found


def node_pids(node: rig.Node) -> dict[str, int]:
    asterisk = pbx.running_pid(node.settings)
    assert asterisk is not None and node.bridge.proc is not None, f"{node.name} not running"
    # `ip netns exec` execs the command: the Popen's pid is the bridge's python itself
    return {"asterisk": asterisk, "bridge": node.bridge.proc.pid}


def allowed_cpus(pid: int) -> set[str]:
    """Cpus_allowed_list of every thread of pid."""
    out = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            status = (task / "status").read_text()
        except (FileNotFoundError, ProcessLookupError):
            continue
        out |= {line.split(":", 1)[1].strip() for line in status.splitlines()
                if line.startswith("Cpus_allowed_list:")}
    return out


def pin(node: rig.Node, cpu: int) -> str:
    """Node's Asterisk and bridge, every thread and child, on `cpu` only; checked."""
    said = []
    for part, pid in node_pids(node).items():
        pids = descendants(pid)
        for each in pids:
            subprocess.run(["taskset", "-a", "-p", "-c", str(cpu), str(each)],
                           capture_output=True, check=True)
        threads = sum(len(list(Path(f"/proc/{p}/task").glob("*"))) for p in pids)
        seen = set().union(*(allowed_cpus(p) for p in pids))
        assert seen == {str(cpu)}, f"{node.name} {part} {pid}: Cpus_allowed_list {seen}"
        said.append(f"{part} pid {pid} ({len(pids)} process(es), {threads} threads)")
    return f"{node.name} on CPU {cpu}: " + ", ".join(said)


def _ticks(pid: int) -> int | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None
    return int(fields[11]) + int(fields[12])  # utime + stime (the process's every thread)


def _waited(pid: int, main_only: bool) -> dict[str, int]:
    """Thread → nanoseconds it spent runnable but not running (/proc/.../schedstat's
    run_delay): time lost waiting for a core; pid's main thread only, or all its threads."""
    tasks = [Path(f"/proc/{pid}")] if main_only else list(Path(f"/proc/{pid}/task").glob("*"))
    out = {}
    for task in tasks:
        with contextlib.suppress(FileNotFoundError, ProcessLookupError, IndexError):
            out[f"{pid}/{task.name}"] = int((task / "schedstat").read_text().split()[1])
    return out


def _cpu_busy() -> dict[str, tuple[int, int]]:
    """Per core: (busy, total) jiffies since boot."""
    out = {}
    for line in Path("/proc/stat").read_text().splitlines():
        name, *values = line.split()
        if name.startswith("cpu") and name != "cpu":
            v = [int(x) for x in values]
            idle = v[3] + v[4]
            out[name] = (sum(v[:8]) - idle, sum(v[:8]))
    return out


class Usage:
    """CPU time of the cluster's parts over a rung, sampled from /proc twice a second (a
    process that ends counts up to its last sample)."""

    HZ = os.sysconf("SC_CLK_TCK")

    def __init__(self, cluster: rig.Cluster) -> None:
        self.cluster = cluster
        self.first: dict[int, int] = {}
        self.last: dict[int, int] = {}
        self.group: dict[int, str] = {}
        self.wait_first: dict[tuple[str, str], int] = {}
        self.wait_last: dict[tuple[str, str], int] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _groups(self) -> dict[int, str]:
        out: dict[int, str] = {}
        for node in self.cluster.nodes.values():
            if node.bridge.running and pbx.running_pid(node.settings):
                for part, pid in node_pids(node).items():
                    out |= {p: f"{part} {node.name}" for p in descendants(pid)}
        if kamailio := proxy.running_pid(self.cluster.proxy_settings):
            out |= {p: "kamailio" for p in descendants(kamailio)}
        out |= {p: "sipp (carrier)" for p in descendants(os.getpid())[1:]
                if Path(f"/proc/{p}/comm").exists()
                and Path(f"/proc/{p}/comm").read_text().strip() == "sipp"}
        # one connection of its own for the whole rung (its backend left out)
        backends = self.db.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s "
                                   "AND pid <> pg_backend_pid()", (rig.DATABASE,)).fetchall()
        out |= {int(p): "postgresql (this database's backends)" for (p,) in backends}
        return out

    def _sample(self) -> None:
        self.group |= self._groups()
        for node in self.cluster.nodes.values():
            if node.bridge.running and pbx.running_pid(node.settings):
                pids = node_pids(node)
                for key, waited in ((f"bridge {node.name} (its loop)",
                                     _waited(pids["bridge"], main_only=True)),
                                    (f"asterisk {node.name} (all threads)",
                                     _waited(pids["asterisk"], main_only=False))):
                    for tid, ns in waited.items():  # each thread's own, while it lives
                        self.wait_first.setdefault((key, tid), ns)
                        self.wait_last[key, tid] = ns
        for pid in self.group:
            if (t := _ticks(pid)) is not None:
                self.first.setdefault(pid, t)
                self.last[pid] = t

    def _run(self) -> None:
        while not self.stop.wait(0.5):
            self._sample()

    def __enter__(self) -> Usage:
        self.db = psycopg.connect(f"host={rig.PG_SOCKET} user=postgres dbname={rig.DATABASE}",
                                  autocommit=True)
        self.started, self.busy = time.monotonic(), _cpu_busy()
        self._sample()
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()
        self._sample()
        self.db.close()
        self.wall = time.monotonic() - self.started
        busy = _cpu_busy()
        self.cores = {name: round((b - self.busy[name][0]) / max(1, t - self.busy[name][1]), 2)
                      for name, (b, t) in busy.items()}

    def report(self) -> dict[str, float]:
        """Part → cores used over the rung (CPU seconds / wall seconds)."""
        out: dict[str, float] = {}
        for pid, name in self.group.items():
            if pid in self.first:
                out[name] = out.get(name, 0.0) + (self.last[pid] - self.first[pid]) / self.HZ
        return {k: round(v / self.wall, 2) for k, v in sorted(out.items())}

    def waits(self) -> dict[str, float]:
        """Seconds spent waiting for a core, per second of the rung."""
        out: dict[str, float] = {}
        for (key, tid), first in self.wait_first.items():
            out[key] = out.get(key, 0.0) + (self.wait_last[key, tid] - first) / 1e9
        return {k: round(v / self.wall, 2) for k, v in sorted(out.items())}


def pinned(cluster: rig.Cluster) -> dict[str, str]:
    """Running node → the CPUs every thread of its Asterisk and bridge may use (threads
    and children made after the pinning included)."""
    out = {}
    for node in cluster.nodes.values():
        if node.bridge.running and pbx.running_pid(node.settings):
            pids = [p for pid in node_pids(node).values() for p in descendants(pid)]
            out[node.name] = ",".join(sorted(set().union(*(allowed_cpus(p) for p in pids))))
    return out


def step(cluster: rig.Cluster, rate: float, calls: int, seconds: float, caller: str
         ) -> dict[str, Any]:
    """One rung of the ladder: `calls` callers at `rate` a second."""
    with Usage(cluster) as usage:
        result = cluster.call(caller, seconds=seconds, count=calls,
                              every_ms=int(1000 / rate))
    time.sleep(2.0)  # the bridges' last writes
    delays = [float(str(d)) for (d,) in rig._rows(cluster.db_url, _FIRST_PROMPT.format(caller))
              if d is not None]
    [(recorded,)] = rig._rows(cluster.db_url, "SELECT count(*) FROM calls WHERE "
                                             f"caller_number = '{caller}'")
    p95 = statistics.quantiles(delays, n=20)[18] if len(delays) >= 2 else float("nan")
    return {"rate": rate, "placed": calls, "failed": _failed_calls(result.output),
            "recorded": recorded, "with_prompt": len(delays), "first_prompt_p95": p95,
            "first_prompt_p50": statistics.median(delays) if delays else float("nan"),
            "wall_seconds": round(result.seconds, 1), "cpu_cores_used": usage.report(),
            "core_busy": usage.cores, "loadavg": os.getloadavg()[0],
            "cpus_allowed": pinned(cluster), "waited_for_a_core": usage.waits(),
            "carried_by": cluster.carried(caller)}  # each node's CDR: the proxy's spread


# The call's start as the bridge recorded it (calls.started_at) → the bridge asking
# Asterisk for the call's first prompt (its first `prompt` event): what a caller waits.
# On the wire it cannot be told apart: with transmit_silence Asterisk sends silence from
# the answer on.
_FIRST_PROMPT = """SELECT EXTRACT(EPOCH FROM (min(e.at) - c.started_at))
FROM calls c JOIN call_events e ON e.call_id = c.id AND e.kind = 'prompt'
WHERE c.caller_number = '{}' GROUP BY c.id, c.started_at"""


def ladder(cluster: rig.Cluster, nodes: int, args: argparse.Namespace
           ) -> list[dict[str, Any]]:
    out = []
    for n, rate in enumerate(args.rates):
        row = step(cluster, rate, int(rate * args.window), args.seconds,
                   caller=f"135{nodes}{n:02d}000000")
        print(f"  {nodes} node(s) {rate:4.1f}/s: {row['placed']} placed, {row['failed']} "
              f"failed, {row['with_prompt']} with a prompt; first prompt p50 "
              f"{row['first_prompt_p50']:.2f} s p95 {row['first_prompt_p95']:.2f} s; "
              f"carried by {row['carried_by']}", flush=True)
        print(f"      cores used: {row['cpu_cores_used']}; each core busy: "
              f"{row['core_busy']}; load {row['loadavg']:.1f}; CPUs allowed (every thread): "
              f"{row['cpus_allowed']}\n      waited for a core (s per s): "
              f"{row['waited_for_a_core']}", flush=True)
        out.append(row)
        if not passes(row, args.p95):
            print(f"  {nodes} node(s): {rate:.1f}/s fails: the ceiling is below it", flush=True)
            break
    return out


def passes(row: dict[str, Any], p95_limit: float) -> bool:
    """Every call placed got its first prompt, none failed, the p95 within the limit."""
    return bool(row["failed"] == 0 and row["with_prompt"] == row["placed"]
            and row["first_prompt_p95"] <= p95_limit)


def carried(rows: list[dict[str, Any]], p95_limit: float) -> float:
    """The ceiling: the highest rate of the rungs that pass before the first that fails."""
    best = 0.0
    for row in rows:
        if not passes(row, p95_limit):
            break
        best = row["rate"]
    return best


def reached(rows: list[dict[str, Any]], p95_limit: float) -> bool:
    return any(not passes(r, p95_limit) for r in rows)


def capacity(cluster: rig.Cluster, args: argparse.Namespace,
             results: dict[str, Any]) -> None:
    """The ladder with both nodes, then with node 2 stopped; node 2 started again."""
    print("two nodes", flush=True)
    results["two_nodes"] = ladder(cluster, 2, args)
    cluster.nodes["pbx2"].down()
    wait_for(lambda: cluster.dispatcher_flags("pbx2").startswith("I"), 30)
    print("one node (pbx2 stopped)", flush=True)
    results["one_node"] = ladder(cluster, 1, args)
    cluster.nodes["pbx2"].up()
    if args.core_per_node:
        print("  " + pin(cluster.nodes["pbx2"], NODE_CPU["pbx2"]), flush=True)
    wait_for(lambda: cluster.dispatcher_flags("pbx2").startswith("A"), 30)
    two, one = (carried(results[k], args.p95) for k in ("two_nodes", "one_node"))
    results["carried_rate"] = {
        "two_nodes": two, "one_node": one, "ratio": round(two / one, 2) if one else None,
        # False: the ladder's top rung passed, the ceiling is that rate or above
        "two_nodes_ceiling_reached": reached(results["two_nodes"], args.p95),
        "one_node_ceiling_reached": reached(results["one_node"], args.p95)}


def failover(cluster: rig.Cluster) -> dict[str, Any]:
    """One stream of calls, 1 a second, 4 s each, node 2 killed in its middle: the calls
    started before the kill that node 2 carried end with it; every call started after it
    must be answered (by node 1)."""
    victim, calls, kill_at = cluster.nodes["pbx2"], 20, 8.5
    caller = "13400000001"
    done: dict[str, Any] = {}
    stream = threading.Thread(target=lambda: done.update(sipp=cluster.call(
        caller, seconds=4, count=calls, every_ms=1000)))
    started = time.time()
    stream.start()
    time.sleep(kill_at)
    killed_wall, killed = time.time(), time.monotonic()
    victim.kill()
    noticed: list[float] = []
    rig._watch_down(cluster, "pbx2", noticed)
    stream.join(timeout=120)
    time.sleep(2.0)  # the bridge's last writes
    # calls the bridge saw start after the kill (the database's clock is this one's)
    after = sorted(t.timestamp() for (t,) in rig._rows(
        cluster.db_url, f"SELECT started_at FROM calls WHERE caller_number = '{caller}'")
        if isinstance(t, datetime) and t.timestamp() > killed_wall)
    placed_after = calls - int(killed_wall - started) - 1
    return {"kill_to_marked_down": round(noticed[0] - killed, 2) if noticed else None,
            "kill_to_first_new_call_answered": round(after[0] - killed_wall, 2)
            if after else None,
            "calls": calls, "sipp_failed": _failed_calls(done["sipp"].output),
            "placed_after_kill": placed_after, "answered_after_kill": len(after)}


def markdown(results: dict[str, Any]) -> str:
    """The ladders as Markdown tables (bench/README.md's): calls, then CPU."""
    rows = {k: {r["rate"]: r for r in results.get(k, [])} for k in ("two_nodes", "one_node")}
    rates = sorted(set(rows["two_nodes"]) | set(rows["one_node"]))

    def calls(r: dict[str, Any] | None) -> str:
        if r is None:
            return "— | —"
        return (f"{r['failed']} / {r['with_prompt']} of {r['placed']} | "
                f"{r['first_prompt_p50'] * 1000:.0f} ms / {r['first_prompt_p95'] * 1000:.0f} ms")

    out = ["| rate (calls/s) | two nodes: failed / with prompt | p50 / p95 | one node: "
           "failed / with prompt | p50 / p95 |", "| ---: | --- | --- | --- | --- |"]
    out += [f"| {rate:g} | {calls(rows['two_nodes'].get(rate))} | "
            f"{calls(rows['one_node'].get(rate))} |" for rate in rates]
    parts = sorted({part for k in rows for r in rows[k].values() for part in r["cpu_cores_used"]})
    waits = sorted({w for k in rows for r in rows[k].values()
                    for w in r.get("waited_for_a_core", {})})
    out += ["", "| nodes | rate | " + " | ".join(parts) + " | cpu0 busy | cpu1 busy | "
            + " | ".join(f"{w} waited for a core (s/s)" for w in waits) + " |",
            "| ---: | ---: | " + " | ".join("---:" for _ in [*parts, "", "", *waits]) + " |"]
    for key, n in (("two_nodes", 2), ("one_node", 1)):
        for rate, r in sorted(rows[key].items()):
            used = r["cpu_cores_used"]
            out.append(f"| {n} | {rate:g} | " + " | ".join(
                f"{used[p]:.2f}" if p in used else "—" for p in parts)
                + f" | {r['core_busy'].get('cpu0', 0):.0%} | {r['core_busy'].get('cpu1', 0):.0%} | "
                + " | ".join(f"{r['waited_for_a_core'][w]:.2f}"
                             if w in r.get("waited_for_a_core", {}) else "—" for w in waits)
                + " |")
    return "\n".join(out)


def _failed_calls(output: str) -> int | None:
    for line in output.splitlines():
        if line.strip().startswith("Failed call"):
            return int(line.split("|")[-1].strip().split()[0])
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rates", type=lambda s: [float(x) for x in s.split(",")],
                        default=[12.0, 16.0, 20.0, 22.0, 24.0, 28.0, 32.0, 36.0, 40.0, 44.0,
                                 48.0])
    parser.add_argument("--window", type=float, default=10.0,
                        help="seconds of arrivals at each rate")
    parser.add_argument("--seconds", type=float, default=8.0, help="each call's length")
    parser.add_argument("--p95", type=float, default=1.0, help="first-prompt p95 limit (s)")
    parser.add_argument("--failover-only", action="store_true")
    parser.add_argument("--core-per-node", action=argparse.BooleanOptionalAction,
                        default=True, help="node 1 on CPU 0 only, node 2 on CPU 1 only "
                        "(default); SIPp, Kamailio and PostgreSQL unpinned")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    started = time.monotonic()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as tmp, rig.network_up(), \
            rig.database_up() as database, \
            rig.cluster_up(database, folders(Path(tmp))) as cluster:
        results["core_per_node"] = args.core_per_node
        results["cpus"] = os.cpu_count()
        results["loadavg_at_start"] = os.getloadavg()
        if args.core_per_node:
            print("one core per node, as if each were a one-core server:", flush=True)
            for name, cpu in NODE_CPU.items():
                print("  " + pin(cluster.nodes[name], cpu), flush=True)
            print("  not pinned, sharing both cores with the nodes: the carrier's SIPp, "
                  "Kamailio, PostgreSQL\n  (the bridges' database work counts against "
                  "the nodes' cores)", flush=True)
        else:
            print("both nodes share all the machine's cores (--no-core-per-node)", flush=True)
        print(f"load average at start: {os.getloadavg()}", flush=True)
        try:
            if not args.failover_only:
                capacity(cluster, args, results)
            print("failover", flush=True)
            results["failover"] = failover(cluster)
        finally:  # what was measured, even when a later part fails
            if args.json:
                args.json.write_text(json.dumps(results, indent=2))
    results["wall_seconds"] = round(time.monotonic() - started)
    print(json.dumps({k: v for k, v in results.items() if k in (
        "core_per_node", "carried_rate", "failover", "wall_seconds")}, indent=2))
    if not args.failover_only:
        print(markdown(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
