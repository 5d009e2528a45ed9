"""Load: many callers at once through the real after-hours menu, against a route that only
answers and plays (the box's ceiling), in the same run.

The whole hotline on its own ports and data folder (Asterisk with the repo's configuration,
the bridge, the console, the scheduler), after hours (mode forced closed). One SIPp
process is the carrier trunk: callers arrive at --rate a second, at most --concurrent at
once, --calls in all. Each caller is one of four kinds, at random in equal shares:

  talk       talks 12 s over the menu, then listens (the menu falls to a voice message)
  case       keys 1 (case query), then a query code and #, then talks 10 s
  knowledge  keys 2 (the knowledge base), then 1 (its first topic), then talks 12 s
  message    keys 0 (a voice message), then talks 12 s into the recording

and hangs up at 20 s (earlier if the hotline hangs up first). Keys go at fixed times, as
impatient callers send them: a menu that is late may miss them, as it would a real caller's.

The baseline is the same SIPp scenario to a number that a bench-only dialplan context
answers, records (MixMonitor, as every hotline call is) and plays the welcome prompts in a
loop: no bridge, no database. It runs first, so nothing the hotline's phase leaves behind
(the scheduler transcoding its recordings) runs during it.

Then the null bridge (bench/null_bridge.py; --no-null skips it): the same calls through the
same dialplan steps and the bridge's own FastAGI server, whose one route only plays the
welcome prompts: the yardstick for the bridge's CPU per call and for what the AGI path
itself adds to the first prompt.

    .venv/bin/python bench/load.py --concurrent 300 --rate 20 --calls 600
    .venv/bin/python bench/load.py --concurrent 100 --rate 10 --calls 200 \\
        --db postgresql://postgres@127.0.0.1:5432/test

Measured (see bench/README.md for how to read them):
  SIPp failed calls (its own count), calls in the database / placed (after the reconciler
  had a minute to fill gaps from the CDR), answer → first prompt p50/p95/p99 (on the wire,
  bench/sniff.py: Asterisk's 200 OK to the first RTP packet it sends the call; "silent" is a
  call that got no audio within 30 s), bridge CPU per call and Asterisk CPU per call
  (utime + stime from /proc/<pid>/stat over the phase), bridge ERROR lines in its log,
  fallbacks (CDR rows routed by [hotline-fallback]).

Needs root (the wire capture). --db postgresql://... runs the migrations on that database
and writes calls into it: give it a database of its own (createdb bench_load). Not a test:
it prints the numbers (and --json writes them).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import pbx  # noqa: E402
from bench.sniff import Sniffer  # noqa: E402
from cli import health  # noqa: E402
from hotline import hours  # noqa: E402
from hotline.db import state  # noqa: E402
from hotline.db.base import make_engine, make_sessionmaker, session_scope  # noqa: E402
from hotline.db.migrate import upgrade  # noqa: E402
from hotline.settings import Settings, load_settings  # noqa: E402
from tests.integration import sipp  # noqa: E402
from tests.integration.rtp import CallerMedia  # noqa: E402

HOTLINE_NUMBER = "12368"
BASELINE_NUMBER = "19999"
NULL_NUMBER = "19998"
CALLER = "13800001234"
HOLD_SECONDS = 20.0
CONFIG = """
[paths]
data_dir = "{data}"
[database]
url = "{db}"
[pbx]
sip_port = {base}060
carrier_match = "127.0.0.1:{base}070"
ami_port = {base}038
agi_port = {base}573
rtp_start = {rtp_start}
rtp_end = {rtp_end}
[console]
port = {base}368
"""
RTP_START, RTP_END = 50000, 53999
PARTS = {"bridge": ["-m", "ivr"], "console": ["-m", "cli", "console"],
         "scheduler": ["-m", "scheduler"]}
# what run_at copies into the old tree
OWN_FILES = ("load.py", "sniff.py", "faults.py", "null_bridge.py", "cpu_sampler.py")

# Bench-only dialplan, added to the running instance's configuration (never to dialplan/).
# [from-carrier] is extended, not replaced: an exact number wins over its _X. pattern.
BASELINE_DIALPLAN = """
[from-carrier]
exten => {number},1,Goto(bench-baseline,s,1)
exten => {null_number},1,Goto(bench-null,s,1)

; [bench-baseline]: bench/load.py's ceiling. Answer, record, play; no bridge, no database.
[bench-baseline]
exten => s,1,Answer()
 same => n,MixMonitor(${{HOTLINE_RECORDINGS}}/bench-baseline/${{UNIQUEID}}.wav)
 same => n(play),Playback({sounds}/welcome&{sounds}/main-menu)
 same => n,Goto(play)

; [bench-null]: the null bridge's (bench/null_bridge.py): as a hotline call, but the AGI only
; plays the welcome prompts in a loop.
[bench-null]
exten => s,1,Answer()
 same => n,MixMonitor(${{HOTLINE_RECORDINGS}}/bench-baseline/${{UNIQUEID}}.wav)
 same => n,AGI(agi://127.0.0.1:{null_port}/null)
 same => n,Hangup()
"""

# The caller's kinds: (name, steps). Each lasts HOLD_SECONDS, then the caller hangs up.
KINDS = {
    "talk": [sipp.speak(12), sipp.quiet(8)],
    "case": [sipp.quiet(3), sipp.key("1", 3), *[sipp.key(d, 0.2) for d in "20260001"],
             sipp.key("#", 0.5), sipp.speak(10)],
    "knowledge": [sipp.quiet(3), sipp.key("2", 4), sipp.key("1", 0.5), sipp.speak(12)],
    "message": [sipp.quiet(3), sipp.key("0", 4), sipp.speak(12)],
}


def scenario(workdir: Path) -> Path:
    """One SIPp scenario: each call draws its kind, plays that kind's steps, hangs up."""
    media = CallerMedia(workdir, "load")
    draw = ['  <nop><action>\n    <sample assign_to="kind" distribution="uniform" min="0" '
            f'max="{len(KINDS)}"/>\n']
    for n, name in enumerate(list(KINDS)[:-1]):
        draw.append(f'    <test assign_to="is_{name}" variable="kind" compare="less_than" '
                    f'value="{n + 1}"/>\n')
    draw.append("  </action></nop>\n")
    branches = [f'  <nop test="is_{name}" next="{name}"/>\n' for name in list(KINDS)[:-1]]
    branches.append(f'  <nop next="{list(KINDS)[-1]}"/>\n')
    for name, steps in KINDS.items():
        total = sum(_seconds(step) for step in steps)
        tail = [sipp.quiet(HOLD_SECONDS - total)] if total < HOLD_SECONDS - 0.1 else []
        branches.append(f'  <label id="{name}"/>\n')
        branches.append(_render("".join(steps + tail), media))
        branches.append('  <nop next="hangup"/>\n')
    branches.append('  <label id="hangup"/>\n')
    text = (REPO / "tests/integration/scenarios/caller.xml.in").read_text()
    path = workdir / "load-caller.xml"
    path.write_text(text.replace("@STEPS@", "".join(draw + branches)))
    return path


def _seconds(step: str) -> float:
    """How long a step lasts (sipp markers: @SPEAK:s@, @QUIET:s@, @KEY:d@ a 160 ms press)."""
    total = sum(float(s) for s in re.findall(r"@(?:SPEAK|QUIET):([^@]+)@", step))
    return total + step.count("@KEY:") * sipp.PRESS_SECONDS


def _render(steps: str, media: CallerMedia) -> str:
    return sipp._render(steps, media)  # the integration tests' own rendering of the markers


@dataclass
class Phase:
    name: str
    placed: int
    sipp_failed: int
    sipp_seconds: float
    answered_on_wire: int
    silent: int
    prompt_ms: dict[str, float]
    capture_drops: int
    asterisk_cpu_ms_per_call: float
    bridge_cpu_ms_per_call: float | None = None
    bridge_loop_cpu_ms_per_call: float | None = None  # its main thread: the event loop
    bridge_kernel_cpu_ms_per_call: float | None = None  # its system calls, all its threads'
    # how long that thread waited for a core, runnable but not running, in seconds a second
    bridge_loop_waited: float | None = None
    sipp_cpu_ms_per_call: float | None = None  # the load generator's (not the box's work)
    cores_busy: float | None = None  # the machine's cores busy over the phase, 0-1
    others_cpu_ms_per_call: float | None = None
    calls_in_db: int | None = None
    calls_with_prompt_in_db: int | None = None
    bridge_errors: int | None = None
    error_kinds: dict[str, int] | None = None
    fallbacks: int | None = None


def cpu_seconds(pid: int, thread: bool = False, kernel: bool = False) -> float:
    """The process's CPU (thread: only its main thread's, the one whose id is the pid;
    kernel: only the time the kernel spent for it, in its system calls)."""
    stat = f"/proc/{pid}/task/{pid}/stat" if thread else f"/proc/{pid}/stat"
    fields = Path(stat).read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[12]) if kernel else int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def run_delay(pid: int) -> float:
    """Seconds the process's main thread has waited for a core while runnable."""
    return int(Path(f"/proc/{pid}/task/{pid}/schedstat").read_text().split()[1]) / 1e9


def busy_ticks() -> tuple[int, int]:
    """(busy, all) jiffies of every core so far, from /proc/stat."""
    fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)

    def at(share: float) -> float:
        return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))] * 1000

    return {"p50": at(0.5), "p95": at(0.95), "p99": at(0.99), "max": ordered[-1] * 1000,
            "mean": statistics.fmean(values) * 1000}


class Rig:
    """The whole hotline on its own ports and data folder, started and stopped here."""

    def __init__(self, data: Path, base: int, db: str, profile: Path | None = None) -> None:
        config = data / "hotline.toml"
        config.write_text(CONFIG.format(data=data, base=base, db=db, rtp_start=RTP_START,
                                        rtp_end=RTP_END))
        self.env = {**os.environ, "HOTLINE_CONFIG": str(config)}
        self.settings: Settings = load_settings(env={}, config_path=config)
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        # --profile: the bridge under bench/cpu_sampler.py (profile_bridge starts and stops it)
        self.parts = dict(PARTS)
        if profile is not None:
            self.parts["bridge"] = ["-m", "bench.cpu_sampler", "--out", str(profile.resolve()),
                                    "ivr"]

    def start(self) -> None:
        upgrade(self.settings.database_url)
        inst = pbx.start(self.settings)
        self._install_baseline(inst)
        for name in self.parts:
            self.spawn(name)
        self.spawn_null(inst)
        health.wait_bridge_healthy(self.settings)
        health.wait_console_healthy(self.settings)

    def spawn(self, name: str) -> None:
        log = open(self.settings.log_dir / f"bench-{name}.out", "ab")  # noqa: SIM115
        # Each in a session of its own, as `hotline up` starts them (setsid) and systemd
        # does: the kernel shares the cores between sessions (autogroups) before threads.
        self.procs[name] = subprocess.Popen([sys.executable, *self.parts[name]], cwd=REPO,
                                            env=self.env, stdout=log, stderr=log,
                                            start_new_session=True)
        log.close()

    @property
    def null_port(self) -> int:
        return self.settings.pbx.agi_port + 1

    def spawn_null(self, inst: Any) -> None:
        """The null bridge (bench/null_bridge.py), in a session of its own as the bridge."""
        log = open(self.settings.log_dir / "bench-null.out", "ab")  # noqa: SIM115
        sounds = inst.pbx_root / "sounds" / "zh"
        self.procs["null"] = subprocess.Popen(
            [sys.executable, "-m", "bench.null_bridge", "--port", str(self.null_port),
             "--sounds", str(sounds)], cwd=REPO, stdout=log, stderr=log,
            start_new_session=True)
        log.close()

    def restart(self, name: str) -> None:
        self.procs[name].terminate()
        self.procs[name].wait(timeout=30)
        self.spawn(name)

    def _install_baseline(self, inst: Any) -> None:
        etc = inst.dir("etc")
        sounds = inst.pbx_root / "sounds" / "zh"
        (etc / "bench-baseline.conf").write_text(
            BASELINE_DIALPLAN.format(number=BASELINE_NUMBER, sounds=sounds,
                                     null_number=NULL_NUMBER, null_port=self.null_port))
        (etc / "bench-baseline.conf").chmod(0o644)
        with (etc / "extensions.conf").open("a") as conf:
            conf.write('\n#include "bench-baseline.conf"\n')
        pbx.make_pbx_dirs(inst, inst.recordings_dir / "bench-baseline")
        print(pbx.cli(self.settings, "dialplan reload").strip())

    def asterisk_pid(self) -> int:
        pid = pbx.running_pid(self.settings)
        assert pid is not None, "Asterisk is not running"
        return pid

    def stop(self) -> None:
        for proc in self.procs.values():
            proc.terminate()
            proc.wait(timeout=30)
        pbx.stop(self.settings)


async def set_closed(settings: Settings) -> None:
    engine = make_engine(settings.database_url)
    async with session_scope(make_sessionmaker(engine)) as session:
        await state.set_state(session, hours.MODE_KEY, "closed")
    await engine.dispose()


async def count_calls(settings: Settings, prompted: bool = False) -> int:
    """Calls in the database (prompted: those whose log says the bridge started a prompt)."""
    from sqlalchemy import distinct, func, select

    from hotline.db.models import Call, CallEvent

    query = (select(func.count(distinct(CallEvent.call_id))).where(CallEvent.kind == "prompt")
             if prompted else select(func.count()).select_from(Call))
    engine = make_engine(settings.database_url)
    async with session_scope(make_sessionmaker(engine)) as session:
        count = int((await session.scalar(query)) or 0)
    await engine.dispose()
    return count


def sipp_argv(rig: Rig, script: Path, number: str, load: tuple[int, float, int],
              stats: Path) -> list[str]:
    """SIPp as the carrier trunk: `load` is (at most concurrent, calls a second, calls)."""
    settings = rig.settings
    concurrent, rate, calls = load
    ip, port = settings.pbx.carrier_match.rsplit(":", 1)
    return ["sipp", f"127.0.0.1:{settings.pbx.sip_port}", "-sf", str(script),
            "-m", str(calls), "-l", str(concurrent), "-r", str(rate),
            "-i", ip, "-p", port, "-mp", str(RTP_END + 1001), "-s", number,
            "-key", "caller", CALLER, "-nostdin", "-timeout", f"{int(calls / rate + 300)}s",
            "-trace_stat", "-stf", str(stats), "-fd", "5", "-trace_err"]


def sipp_counts(stats: Path) -> dict[str, int]:
    """SIPp's own totals at the end of a run (its -trace_stat file)."""
    rows = stats.read_text().splitlines()
    header, last = rows[0].split(";"), rows[-1].split(";")
    return {name: int(last[header.index(f"{name}(C)")])
            for name in ("SuccessfulCall", "FailedCall")}


def run_sipp(rig: Rig, script: Path, number: str, args: argparse.Namespace,
             workdir: Path) -> tuple[int, float, str, float]:
    """(failed calls, seconds, SIPp's last output, SIPp's CPU seconds) for one phase."""
    stats = workdir / f"stats-{number}.csv"
    argv = sipp_argv(rig, script, number, (args.concurrent, args.rate, args.calls), stats)
    started = time.monotonic()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    # The load generator in a session of its own, as if on another machine: its RTP threads
    # (one per caller) must not share the bridge's autogroup (bench/README.md, 2026-12-01).
    done = subprocess.run(argv, cwd=workdir, capture_output=True, text=True,
                          start_new_session=True)
    seconds = time.monotonic() - started
    if not stats.exists():
        raise SystemExit(f"SIPp did not run ({done.returncode}):\n{done.stdout[-1500:]}"
                         f"{done.stderr[-1500:]}")
    output = done.stdout[-2000:] + done.stderr[-1000:]
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime)
    return sipp_counts(stats)["FailedCall"], seconds, output, cpu


def phase(rig: Rig, sniffer: Sniffer, script: Path, number: str, name: str,
          args: argparse.Namespace, workdir: Path) -> Phase:
    pids = {"asterisk": rig.asterisk_pid(), **{k: p.pid for k, p in rig.procs.items()}}
    before = {k: cpu_seconds(pid) for k, pid in pids.items()}
    agi = pids["null"] if name == "null" else pids["bridge"]  # the phase's FastAGI server
    loop_before = cpu_seconds(agi, thread=True)
    kernel_before = cpu_seconds(agi, kernel=True)
    waited_before = run_delay(agi)
    since, drops = time.time(), sniffer.dropped()
    profiling = args.profile is not None and name == "hotline"
    if profiling:
        os.kill(pids["bridge"], signal.SIGUSR1)  # bench/cpu_sampler.py: start sampling
    ticks = busy_ticks()
    failed, seconds, output, sipp_cpu = run_sipp(rig, script, number, args, workdir)
    until = time.time()
    busy = busy_ticks()
    cores_busy = (busy[0] - ticks[0]) / max(busy[1] - ticks[1], 1)
    if profiling:
        args.profile.unlink(missing_ok=True)
        os.kill(pids["bridge"], signal.SIGUSR2)  # stop sampling, write the stacks
        deadline = time.monotonic() + 30
        while not args.profile.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
    after = {k: cpu_seconds(pid) for k, pid in pids.items()}
    loop_cpu = (cpu_seconds(agi, thread=True) - loop_before) * 1000 / args.calls
    kernel_cpu = (cpu_seconds(agi, kernel=True) - kernel_before) * 1000 / args.calls
    loop_waited = (run_delay(agi) - waited_before) / max(until - since, 1e-9)
    cpu = {k: (after[k] - before[k]) * 1000 / args.calls for k in pids}
    delays, silent = sniffer.wire.first_prompt_delays(since, until)
    if failed:
        print(f"{name}: {failed} SIPp calls failed:\n{output}")
    result = Phase(name, args.calls, failed, seconds, sniffer.wire.answered(since, until),
                   silent, percentiles(delays), sniffer.dropped() - drops,
                   cpu["asterisk"])
    result.sipp_cpu_ms_per_call = sipp_cpu * 1000 / args.calls
    result.cores_busy = cores_busy
    if name in ("hotline", "null"):
        result.bridge_cpu_ms_per_call = cpu["null" if name == "null" else "bridge"]
        result.bridge_loop_cpu_ms_per_call = loop_cpu
        result.bridge_kernel_cpu_ms_per_call = kernel_cpu
        result.bridge_loop_waited = loop_waited
    if name == "hotline":
        result.others_cpu_ms_per_call = cpu["console"] + cpu["scheduler"]
    return result


def bridge_errors(settings: Settings) -> tuple[int, dict[str, int]]:
    """ERROR lines in the bridge's log, and the commonest reasons (the exception's last
    line in bench-bridge.out, where tracebacks go)."""
    log = settings.log_dir / "bridge.log"
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    errors = [line for line in lines if " ERROR " in line]
    kinds: collections.Counter[str] = collections.Counter()
    for line in lines:
        match = re.match(r"^(\w+(?:\.\w+)*(?:Error|Exception)): (.{0,60})", line)
        if match:
            kinds[f"{match.group(1)}: {match.group(2)}"] += 1
    return len(errors), dict(kinds.most_common(5))


def fallbacks(settings: Settings) -> int:
    """Calls of the hotline's number that [hotline-fallback] routed (Asterisk's CDR)."""
    cdr = pbx.instance_for(settings).cdr_file
    seen = set()
    for line in cdr.read_text(errors="replace").splitlines() if cdr.exists() else []:
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if row.get("hotline_route") == "fallback":
            seen.add(row.get("linkedid"))
    return len(seen)


async def wait_calls_in_db(settings: Settings, placed: int, timeout: float) -> int:
    """The calls in the database once they stop coming (the reconciler runs every minute)."""
    deadline, count = time.monotonic() + timeout, 0
    while time.monotonic() < deadline:
        count = await count_calls(settings)
        if count >= placed:
            break
        await asyncio.sleep(5)
    return count


def measure(rig: Rig, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    settings = rig.settings
    asyncio.run(set_closed(settings))
    load_before = os.getloadavg()[0]
    script = scenario(workdir)
    sniffer = Sniffer(settings.pbx.sip_port, RTP_START, RTP_END)
    sniffer.start()
    try:
        baseline = (phase(rig, sniffer, script, BASELINE_NUMBER, "baseline", args, workdir)
                    if not args.no_baseline else None)
        time.sleep(5)
        null = (phase(rig, sniffer, script, NULL_NUMBER, "null", args, workdir)
                if not args.no_null else None)
        time.sleep(5)
        calls_before = asyncio.run(count_calls(settings))
        prompted_before = asyncio.run(count_calls(settings, prompted=True))
        hotline = phase(rig, sniffer, script, HOTLINE_NUMBER, "hotline", args, workdir)
    finally:
        sniffer.stop()
    hotline.calls_in_db = asyncio.run(wait_calls_in_db(settings, calls_before + args.calls,
                                                       args.settle)) - calls_before
    hotline.calls_with_prompt_in_db = (asyncio.run(count_calls(settings, prompted=True))
                                       - prompted_before)
    hotline.bridge_errors, hotline.error_kinds = bridge_errors(settings)
    hotline.fallbacks = fallbacks(settings)
    return {"concurrent": args.concurrent, "rate": args.rate, "calls": args.calls,
            "db": "postgresql" if settings.database_url.startswith("postgresql")
            else "sqlite", "commit": args.commit or _commit(), "cores": os.cpu_count(),
            "load_average_before": load_before, "load_average_after": os.getloadavg()[0],
            "baseline": asdict(baseline) if baseline else None,
            "null": asdict(null) if null else None, "hotline": asdict(hotline)}


def _commit() -> str:
    """HEAD of the tree this runs from, with "+changes" when the tree differs from it."""
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                          capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                           capture_output=True, text=True).stdout.strip()
    return f"{head}+changes" if head and dirty else head or "unknown"


def run_at(commit: str, script: str, argv: list[str]) -> int:
    """Run bench/`script` on the code of `commit` (git archive into a temporary folder, the
    benchmarks' own files copied in): others' unfinished edits in the checkout stay out."""
    sha = subprocess.run(["git", "rev-parse", "--short", commit], cwd=REPO, check=True,
                         capture_output=True, text=True).stdout.strip()
    with tempfile.TemporaryDirectory(prefix=f"bench-{sha}-") as tree:
        archive = subprocess.run(["git", "archive", sha], cwd=REPO, check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", tree], input=archive, check=True)
        for name in OWN_FILES:
            shutil.copy2(REPO / "bench" / name, Path(tree) / "bench" / name)
        return subprocess.call([sys.executable, str(Path(tree) / "bench" / script),
                                *argv, "--commit", f"{sha} (bench from {_commit()})"])


def without_at(argv: list[str]) -> list[str]:
    at = argv.index("--at")
    return argv[:at] + argv[at + 2:]


def _sipp_share(phase: dict[str, Any]) -> float | None:
    """The bridge's CPU per call against SIPp's in the same phase. SIPp's work per call is
    the same whichever bridge answers, so it measures how fast the machine ran during the
    phase: two runs of the same code within the hour cost the bridge 8.2 and 11.8 ms a
    call, and 25.7 and 27.3 % of SIPp's (issue 12)."""
    sipp = phase.get("sipp_cpu_ms_per_call")
    bridge = phase.get("bridge_cpu_ms_per_call")
    return bridge / sipp if sipp and bridge else None


def _of_sipp(phase: dict[str, Any]) -> str:
    share = _sipp_share(phase)
    return f" = {100 * share:.1f} % of SIPp's" if share else ""


def report(result: dict[str, Any]) -> None:
    print(f"\n{result['concurrent']} concurrent, {result['rate']}/s, {result['calls']} calls,"
          f" {result['db']}, commit {result['commit']}, load average"
          f" {result['load_average_before']:.1f} before, {result['load_average_after']:.1f} after")
    for name in ("baseline", "null", "hotline"):
        p = result.get(name)
        if p is None:
            continue
        prompt = p["prompt_ms"]
        times = " / ".join(f"{prompt.get(k, float('nan')):.0f}" for k in ("p50", "p95", "p99"))
        line = (f"  {name:9} SIPp failed {p['sipp_failed']:4}  answered {p['answered_on_wire']}"
                f"  silent {p['silent']}  capture drops {p['capture_drops']}"
                f"  answer→prompt p50/p95/p99 {times} ms"
                f"  Asterisk CPU {p['asterisk_cpu_ms_per_call']:.1f} ms/call"
                f"  SIPp CPU {p.get('sipp_cpu_ms_per_call') or 0:.1f} ms/call"
                f"  cores busy {100 * (p.get('cores_busy') or 0):.0f}%")
        if name == "null":
            line += (f"\n            null bridge CPU {p['bridge_cpu_ms_per_call']:.1f} ms/call"
                     f"{_of_sipp(p)}"
                     f" ({p.get('bridge_loop_cpu_ms_per_call') or 0:.1f} in its loop,"
                     f" {p.get('bridge_kernel_cpu_ms_per_call') or 0:.1f} in the kernel,"
                     f" which waited for a core {p.get('bridge_loop_waited') or 0:.2f} s/s)")
        if name == "hotline":
            line += (f"\n            calls in DB {p['calls_in_db']}/{p['placed']}"
                     f" (with a prompt in their log: {p['calls_with_prompt_in_db']})"
                     f"  bridge CPU {p['bridge_cpu_ms_per_call']:.1f} ms/call{_of_sipp(p)}"
                     f" ({p.get('bridge_loop_cpu_ms_per_call') or 0:.1f} in its loop,"
                     f" {p.get('bridge_kernel_cpu_ms_per_call') or 0:.1f} in the kernel,"
                     f" which waited for a core {p.get('bridge_loop_waited') or 0:.2f} s/s)"
                     f"  console+scheduler {p['others_cpu_ms_per_call']:.1f} ms/call"
                     f"  bridge ERRORs {p['bridge_errors']}  fallbacks {p['fallbacks']}"
                     f"\n            {p['error_kinds']}")
            null = result.get("null")
            if null and null.get("bridge_cpu_ms_per_call"):
                line += (f"\n            the bridge's CPU per call is"
                         f" {p['bridge_cpu_ms_per_call'] / null['bridge_cpu_ms_per_call']:.1f}×"
                         " the null bridge's")
                if _sipp_share(p) and _sipp_share(null):
                    line += (f" ({_sipp_share(p) / _sipp_share(null):.1f}× measured against"
                             " SIPp's CPU in each phase)")
        print(line)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrent", type=int, default=300)
    parser.add_argument("--rate", type=float, default=20)
    parser.add_argument("--calls", type=int, default=600)
    parser.add_argument("--db", default="", help="database URL (default: SQLite in the "
                        "benchmark's data folder)")
    parser.add_argument("--base", type=int, default=47, help="ports are BASE060, BASE038 ...")
    parser.add_argument("--settle", type=float, default=90.0,
                        help="seconds to wait for every call to reach the database")
    parser.add_argument("--keep", action="store_true", help="keep the data folder")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--at", help="measure this commit's code (see run_at)")
    parser.add_argument("--commit", help=argparse.SUPPRESS)
    parser.add_argument("--no-baseline", action="store_true",
                        help="the hotline only (e.g. comparing the bridge's CPU per call)")
    parser.add_argument("--no-null", action="store_true",
                        help="skip the null bridge's phase (bench/null_bridge.py)")
    parser.add_argument("--profile", type=Path, help="sample the bridge's CPU during the "
                        "hotline phase (bench/cpu_sampler.py); collapsed stacks written here")
    args = parser.parse_args()
    if args.at:
        return run_at(args.at, "load.py", without_at(sys.argv[1:]))
    tmp = Path(tempfile.mkdtemp(prefix="bench-load-"))
    rig = Rig(tmp, args.base, args.db, args.profile)
    try:
        rig.start()
        result = measure(rig, args, tmp)
    finally:
        rig.stop()
        if not args.keep:
            subprocess.run(["rm", "-rf", str(tmp)], check=False)
        else:
            print(f"data kept in {tmp}")
    report(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
