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

Needs root (namespaces), Kamailio and socat:

    .venv/bin/python bench/cluster.py --rates 5,10,15,20 --window 8 --seconds 12 [--json out.json]

All on one machine: two nodes share its cores, so the ratio says what the proxy's spreading
costs and gains here, not what two servers carry.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.integration import test_cluster as rig  # noqa: E402
from tests.integration.conftest import wait_for  # noqa: E402


def folders(root: Path) -> Callable[[str], Path]:
    count = iter(range(1000))

    def mktemp(name: str) -> Path:
        path = root / f"{name}{next(count)}"
        path.mkdir(parents=True)
        return path
    return mktemp


def step(cluster: rig.Cluster, rate: float, calls: int, seconds: float, caller: str
         ) -> dict[str, Any]:
    """One rung of the ladder: `calls` callers at `rate` a second."""
    result = cluster.call(caller, seconds=seconds, count=calls, every_ms=int(1000 / rate))
    time.sleep(2.0)  # the bridges' last writes
    delays = [float(str(d)) for (d,) in rig._rows(cluster.db_url, _FIRST_PROMPT.format(caller))
              if d is not None]
    [(recorded,)] = rig._rows(cluster.db_url, "SELECT count(*) FROM calls WHERE "
                                             f"caller_number = '{caller}'")
    p95 = statistics.quantiles(delays, n=20)[18] if len(delays) >= 2 else float("nan")
    return {"rate": rate, "placed": calls, "failed": _failed_calls(result.output),
            "recorded": recorded, "with_prompt": len(delays), "first_prompt_p95": p95,
            "first_prompt_p50": statistics.median(delays) if delays else float("nan"),
            "wall_seconds": round(result.seconds, 1)}


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
              f"{row['first_prompt_p50']:.2f} s p95 {row['first_prompt_p95']:.2f} s",
              flush=True)
        out.append(row)
    return out


def carried(rows: list[dict[str, Any]], p95_limit: float) -> float:
    """The highest rate whose every call got its first prompt within the p95 limit."""
    ok = [r["rate"] for r in rows
          if r["with_prompt"] == r["placed"] and r["first_prompt_p95"] <= p95_limit]
    return max(ok, default=0.0)


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
    wait_for(lambda: cluster.dispatcher_flags("pbx2").startswith("A"), 30)
    two, one = (carried(results[k], args.p95) for k in ("two_nodes", "one_node"))
    results["carried_rate"] = {"two_nodes": two, "one_node": one,
                               "ratio": round(two / one, 2) if one else None}


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


def _failed_calls(output: str) -> int | None:
    for line in output.splitlines():
        if line.strip().startswith("Failed call"):
            return int(line.split("|")[-1].strip().split()[0])
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rates", type=lambda s: [float(x) for x in s.split(",")],
                        default=[5.0, 10.0, 15.0, 20.0])
    parser.add_argument("--window", type=float, default=8.0,
                        help="seconds of arrivals at each rate")
    parser.add_argument("--seconds", type=float, default=12.0, help="each call's length")
    parser.add_argument("--p95", type=float, default=1.0, help="first-prompt p95 limit (s)")
    parser.add_argument("--failover-only", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    started = time.monotonic()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as tmp, rig.network_up(), \
            rig.database_up() as database, \
            rig.cluster_up(database, folders(Path(tmp))) as cluster:
        if not args.failover_only:
            capacity(cluster, args, results)
        print("failover", flush=True)
        results["failover"] = failover(cluster)
    results["wall_seconds"] = round(time.monotonic() - started)
    print(json.dumps({k: v for k, v in results.items() if k in (
        "carried_rate", "failover", "wall_seconds")}, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
