"""Faults under load, scripted: the hotline of bench/load.py (its own ports and data folder,
after hours), SIPp callers arriving, and one part broken while they talk.

    .venv/bin/python bench/faults.py ami-cut            # AMI cut for 30 s
    .venv/bin/python bench/faults.py asterisk-restart   # `core restart now` under load
    .venv/bin/python bench/faults.py bridge-kill        # kill -9 the bridge under load
    .venv/bin/python bench/faults.py disk-full          # the recordings folder fills up
    .venv/bin/python bench/faults.py db-readonly        # the SQLite file goes read-only
    .venv/bin/python bench/faults.py scheduler-kill     # kill -9 it while it transcodes

ami-cut: 10 s into the load, every AMI connection to Asterisk is killed (ss -K, as a
  firewall or a dead link would) and killed again as soon as it comes back, for 30 s. The
  bridge's tracker misses the events of that time; its reconciler reads them back from
  Asterisk's CDR when the link returns. Checked: every call placed is in the database, with
  its end (ended_at) — what the tracker writes from AMI — once the reconciler ran.
asterisk-restart: two seats signed in (the console puts them in the queue), then 15 s into
  the load Asterisk restarts (`core restart now`: the calls up are cut). Checked: the bridge
  reconnects to AMI, the console puts the seats back in the queue, and calls placed after
  the restart all succeed, hear their first prompt and are in the database.

Not a test: it prints what it saw (and --json writes it); bench/README.md has the results.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import pbx  # noqa: E402
from bench import load  # noqa: E402
from bench.sniff import Sniffer  # noqa: E402
from cli import health  # noqa: E402
from hotline.settings import Settings  # noqa: E402
from pbx.names import QUEUE  # noqa: E402

CUT_AFTER, CUT_SECONDS = 10.0, 30.0
RESTART_AFTER = 15.0
KILL_AFTER, DOWN_SECONDS = 15.0, 10.0
FULL_AFTER, FULL_SECONDS = 10.0, 30.0
READONLY_AFTER, READONLY_SECONDS = 10.0, 30.0
KILL_FOR_AT_MOST = 240.0
SEATS = ("8001", "8002")


def heartbeat(settings: Settings) -> dict[str, Any]:
    try:
        beat: dict[str, Any] = json.loads(settings.bridge_heartbeat_file.read_text())
        return beat
    except (OSError, ValueError):
        return {}


def fresh_bridge(settings: Settings, pid: int) -> bool:
    """The bridge started as pid is up and connected (a killed one leaves its last beat)."""
    beat = heartbeat(settings)
    return beat.get("pid") == pid and bool(beat.get("ami_connected"))


def wait_for(check: Callable[[], bool], timeout: float, step: float = 0.25) -> float | None:
    """Seconds until check() held, None if it never did within timeout."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if check():
            return time.monotonic() - started
        time.sleep(step)
    return None


async def calls_without_end(settings: Settings) -> int:
    from sqlalchemy import func, select

    from hotline.db.base import make_engine, make_sessionmaker, session_scope
    from hotline.db.models import Call

    engine = make_engine(settings.database_url)
    async with session_scope(make_sessionmaker(engine)) as session:
        count = await session.scalar(select(func.count()).select_from(Call)
                                     .where(Call.ended_at.is_(None)))
    await engine.dispose()
    return int(count or 0)


def start_load(rig: load.Rig, script: Path, workdir: Path, name: str,
               shape: tuple[int, float, int]) -> tuple[subprocess.Popen[bytes], Path]:
    stats = workdir / f"stats-{name}.csv"
    argv = load.sipp_argv(rig, script, load.HOTLINE_NUMBER, shape, stats)
    # SIPp's own media port, apart from another bench's run on other ports.
    base = rig.settings.pbx.sip_port // 1000
    argv[argv.index("-mp") + 1] = str(load.RTP_END + 1001 + 40 * (base % 50))
    with (workdir / f"sipp-{name}.out").open("wb") as out:
        return subprocess.Popen(argv, cwd=workdir, stdout=out, stderr=out), stats


def counts_of(stats: Path) -> dict[str, int]:
    """SIPp's totals; a SIPp that placed nothing says why."""
    counts = load.sipp_counts(stats)
    if not sum(counts.values()):
        out = stats.with_name(stats.name.replace("stats-", "sipp-").replace(".csv", ".out"))
        raise SystemExit(f"SIPp placed no call:\n{out.read_text(errors='replace')[-2000:]}")
    return counts


def ami_cut(rig: load.Rig, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    settings = rig.settings
    script = load.scenario(workdir)
    sipp, stats = start_load(rig, script, workdir, "ami-cut", (args.concurrent, args.rate,
                                                               args.calls))
    time.sleep(CUT_AFTER)
    ends = time.monotonic() + CUT_SECONDS
    kills = 0
    port = f":{settings.pbx.ami_port}"
    while time.monotonic() < ends:  # the clients' sockets: their far end is the AMI port
        done = subprocess.run(["ss", "-K", "-t", "dport", "=", port], capture_output=True,
                              text=True)
        kills += max(0, len(done.stdout.strip().splitlines()) - 1)
        time.sleep(0.05)
    back = wait_for(lambda: bool(heartbeat(settings).get("ami_connected")), 60)
    sipp.wait()
    counts = counts_of(stats)
    in_db = asyncio.run(load.wait_calls_in_db(settings, args.calls, args.settle))
    open_calls = asyncio.run(calls_without_end(settings))
    if open_calls:  # the reconciler runs every minute: give it one more round
        time.sleep(65)
        open_calls = asyncio.run(calls_without_end(settings))
    errors, kinds = load.bridge_errors(settings)
    return {"fault": "ami-cut", "placed": args.calls, "sipp": counts,
            "ami_connections_killed": kills, "ami_back_after_cut_s": back,
            "calls_in_db": in_db, "calls_without_end": open_calls,
            "bridge_errors": errors, "error_kinds": kinds}


async def sign_in_seats(settings: Settings) -> None:
    """Two agents signed in at their seats, as the console leaves them in the database."""
    from agent_console import accounts
    from agent_console.texts import AGENT
    from hotline.db import presence
    from hotline.db.base import make_engine, make_sessionmaker, session_scope, utcnow

    engine = make_engine(settings.database_url)
    async with session_scope(make_sessionmaker(engine)) as session:
        for ext in SEATS:
            user = await accounts.add_user(session, f"agent{ext}", "bench-faults", AGENT,
                                           f"座席{ext}", ext)
            await presence.set_presence(session, user.id, ext, presence.READY, "", utcnow())
    await engine.dispose()


def seats_in_queue(settings: Settings) -> set[str]:
    try:
        shown = pbx.cli(settings, f"queue show {QUEUE}")
    except pbx.PbxError:
        return set()
    return {ext for ext in SEATS if f"PJSIP/{ext}" in shown}


def asterisk_restart(rig: load.Rig, args: argparse.Namespace,
                     workdir: Path) -> dict[str, Any]:
    settings = rig.settings
    script = load.scenario(workdir)
    before_seats = wait_for(lambda: seats_in_queue(settings) == set(SEATS), 30)
    sipp, stats = start_load(rig, script, workdir, "restart", (args.concurrent, args.rate,
                                                               args.calls))
    time.sleep(RESTART_AFTER)
    restarted = time.monotonic()
    pbx.cli(settings, "core restart now")
    time.sleep(2)  # let the old AMI session go before asking whether it is back
    booted = wait_for(lambda: pbx.booted(settings, timeout=1.0), 120, step=0.5)
    bridge_back = wait_for(lambda: bool(heartbeat(settings).get("ami_connected")), 60)
    seats_back = wait_for(lambda: seats_in_queue(settings) == set(SEATS), 60)
    sipp.wait()
    during = counts_of(stats)
    # After the restart: calls that must all work.
    sniffer = Sniffer(settings.pbx.sip_port, load.RTP_START, load.RTP_END)
    sniffer.start()
    before_after = asyncio.run(load.count_calls(settings))
    since = time.time()
    after_sipp, after_stats = start_load(rig, script, workdir, "after", (20, 2, args.after))
    after_sipp.wait()
    sniffer.stop()
    delays, silent = sniffer.wire.first_prompt_delays(since, time.time())
    after_in_db = asyncio.run(load.wait_calls_in_db(settings, before_after + args.after,
                                                    args.settle)) - before_after
    errors, kinds = load.bridge_errors(settings)
    try:
        queue_after = pbx.cli(settings, f"queue show {QUEUE}").strip().splitlines()
    except pbx.PbxError as exc:
        queue_after = [f"queue show failed: {exc}"]
    console_out = (settings.log_dir / "bench-console.out").read_text(errors="replace")
    return {"fault": "asterisk-restart", "queue_after": queue_after,
            "console_log": log_tail(settings, "console.log"),
            "console_out": console_out.splitlines()[-12:],
            "seats_in_queue_before_s": before_seats,
            "during": {"placed": args.calls, **during},
            "asterisk_booted_after_s": booted, "bridge_ami_back_s": bridge_back,
            "seats_back_s": seats_back,
            "restart_to_seats_back_s": time.monotonic() - restarted if seats_back else None,
            "after": {"placed": args.after, **counts_of(after_stats),
                      "heard_a_prompt": len(delays), "silent": silent,
                      "prompt_ms": load.percentiles(delays), "calls_in_db": after_in_db},
            "bridge_errors": errors, "error_kinds": kinds}


def log_tail(settings: Settings, name: str, lines: int = 15) -> list[str]:
    """The last warnings, errors and AMI lines of a part's log (what explains a failure)."""
    log = settings.log_dir / name
    text = log.read_text(errors="replace").splitlines() if log.exists() else []
    return [line for line in text if any(w in line for w in ("WARNING", "ERROR", "AMI"))][
        -lines:]


async def db_facts(settings: Settings) -> dict[str, Any]:
    """What the database says after a fault: calls, their ends, events written twice,
    recordings by state, open alerts by kind."""
    from sqlalchemy import func, select

    from hotline.db.base import make_engine, make_sessionmaker, session_scope
    from hotline.db.models import Alert, Call, CallEvent, Recording

    engine = make_engine(settings.database_url)
    async with session_scope(make_sessionmaker(engine)) as session:
        calls = int(await session.scalar(select(func.count()).select_from(Call)) or 0)
        open_calls = int(await session.scalar(select(func.count()).select_from(Call).where(
            Call.ended_at.is_(None))) or 0)
        twice = (select(CallEvent.call_id).group_by(CallEvent.call_id, CallEvent.kind,
                                                     CallEvent.at)
                 .having(func.count() > 1))
        doubled = int(await session.scalar(select(func.count()).select_from(
            twice.subquery())) or 0)
        recordings = dict((await session.execute(
            select(Recording.status, func.count()).group_by(Recording.status))).all())
        # Only whole-call recordings are post-processed (a voice message stays as it was).
        processing = dict((await session.execute(
            select(Recording.process_state, func.count()).where(Recording.kind == "call")
            .group_by(Recording.process_state))).all())
        alerts = dict((await session.execute(
            select(Alert.kind, func.count()).where(Alert.resolved_at.is_(None))
            .group_by(Alert.kind))).all())
        raised = dict((await session.execute(
            select(Alert.kind, func.count()).group_by(Alert.kind))).all())
    await engine.dispose()
    return {"calls": calls, "calls_without_end": open_calls, "events_written_twice": doubled,
            "recordings_by_status": recordings, "call_recordings_by_process_state": processing,
            "alerts_open": alerts, "alerts_raised": raised}


def bridge_kill(rig: load.Rig, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    settings = rig.settings
    script = load.scenario(workdir)
    sniffer = Sniffer(settings.pbx.sip_port, load.RTP_START, load.RTP_END)
    sniffer.start()
    since = time.time()
    sipp, stats = start_load(rig, script, workdir, "bridge-kill",
                             (args.concurrent, args.rate, args.calls))
    time.sleep(KILL_AFTER)
    bridge = rig.procs["bridge"]
    bridge.kill()
    bridge.wait()
    killed_at = time.monotonic()
    time.sleep(DOWN_SECONDS)
    rig.spawn("bridge")
    back = wait_for(lambda: fresh_bridge(settings, rig.procs["bridge"].pid), 60)
    killed_to_back = time.monotonic() - killed_at
    sipp.wait()
    sniffer.stop()
    counts = counts_of(stats)
    delays, silent = sniffer.wire.first_prompt_delays(since, time.time())
    in_db = asyncio.run(load.wait_calls_in_db(settings, args.calls, args.settle))
    facts = asyncio.run(db_facts(settings))
    if facts["calls_without_end"]:  # the reconciler runs every minute: one more round
        time.sleep(65)
        facts = asyncio.run(db_facts(settings))
    errors, kinds = load.bridge_errors(settings)
    return {"fault": "bridge-kill", "placed": args.calls, "sipp": counts,
            "bridge_down_s": DOWN_SECONDS, "bridge_back_after_restart_s": back,
            "killed_to_back_s": killed_to_back if back is not None else None,
            "heard_a_prompt": len(delays), "silent": silent,
            "prompt_ms": load.percentiles(delays),
            "fallbacks": load.fallbacks(settings), "calls_in_db": in_db, **facts,
            "bridge_errors": errors, "error_kinds": kinds}


def _mount_small(folder: Path, size: str) -> None:
    """A filesystem of `size` over folder, owned and moded as the folder was."""
    info = folder.stat()
    subprocess.run(["mount", "-t", "tmpfs", "-o",
                    f"size={size},uid={info.st_uid},gid={info.st_gid},"
                    f"mode={oct(info.st_mode & 0o7777)[2:]}", "tmpfs", str(folder)], check=True)


def disk_full(rig: load.Rig, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    settings = rig.settings
    folder = pbx.instance_for(settings).recordings_dir
    script = load.scenario(workdir)
    sniffer = Sniffer(settings.pbx.sip_port, load.RTP_START, load.RTP_END)
    sniffer.start()
    _mount_small(folder, "64m")
    # Asterisk writes into YYYY/MM/DD folders it makes as needed; the filler takes the rest.
    filler = folder / "filler"
    try:
        since = time.time()
        sipp, stats = start_load(rig, script, workdir, "disk-full",
                                 (args.concurrent, args.rate, args.calls))
        time.sleep(FULL_AFTER)
        subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=1M"],
                       capture_output=True, check=False)
        full_free, filled_at = shutil.disk_usage(folder).free, time.monotonic()
        # The scheduler looks at the disk every minute (recordings-disk).
        alert = wait_for(lambda: "disk" in asyncio.run(db_facts(settings))["alerts_open"],
                         FULL_SECONDS + 90, step=2)
        time.sleep(max(0.0, FULL_SECONDS - (time.monotonic() - filled_at)))
        filler.unlink()
        sipp.wait()
        counts = counts_of(stats)
        # Calls once the space is back: recorded again, and the alert resolves by itself.
        freed_at = time.time()
        after_sipp, after_stats = start_load(rig, script, workdir, "after", (20, 2, args.after))
        after_sipp.wait()
        resolved = wait_for(lambda: "disk" not in asyncio.run(db_facts(settings))[
            "alerts_open"], 90, step=2)
        sniffer.stop()
        delays, silent = sniffer.wire.first_prompt_delays(since, time.time())
        placed = args.calls + args.after
        in_db = asyncio.run(load.wait_calls_in_db(settings, placed, args.settle))
        time.sleep(20)  # the recordings of the last calls are judged after their hang-up
        facts = asyncio.run(db_facts(settings))
        recorded_after = asyncio.run(_recordings_since(settings, freed_at))
    finally:
        sniffer.stop()
        subprocess.run(["umount", "-l", str(folder)], check=False)
    errors, kinds = load.bridge_errors(settings)
    return {"fault": "disk-full", "placed": args.calls, "sipp": counts,
            "after": {"placed": args.after, **counts_of(after_stats)},
            "free_bytes_when_full": full_free, "disk_alert_after_s": alert,
            "disk_alert_resolved_after_s": resolved,
            "heard_a_prompt": len(delays), "silent": silent,
            "prompt_ms": load.percentiles(delays), "calls_in_db": in_db,
            "recordings_of_calls_after_space_back": recorded_after, **facts,
            "bridge_errors": errors, "error_kinds": kinds}


async def _recordings_since(settings: Settings, since: float) -> dict[str, int]:
    """Call recordings of calls that started after `since` (epoch), by status."""
    from datetime import UTC, datetime

    from sqlalchemy import func, select

    from hotline.db.base import make_engine, make_sessionmaker, session_scope
    from hotline.db.models import Call, Recording

    engine = make_engine(settings.database_url)
    async with session_scope(make_sessionmaker(engine)) as session:
        rows = (await session.execute(
            select(Recording.status, func.count()).join(Call, Call.id == Recording.call_id)
            .where(Call.started_at >= datetime.fromtimestamp(since, UTC))
            .group_by(Recording.status))).all()
    await engine.dispose()
    return dict(rows)


def db_readonly(rig: load.Rig, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    settings = rig.settings
    database = Path(settings.database_url.removeprefix("sqlite:///"))
    if not database.is_file():
        raise SystemExit("db-readonly is a SQLite fault (the database file)")
    script = load.scenario(workdir)
    sniffer = Sniffer(settings.pbx.sip_port, load.RTP_START, load.RTP_END)
    sniffer.start()
    since = time.time()
    sipp, stats = start_load(rig, script, workdir, "db-readonly",
                             (args.concurrent, args.rate, args.calls))
    try:
        time.sleep(READONLY_AFTER)
        subprocess.run(["mount", "--bind", str(database), str(database)], check=True)
        subprocess.run(["mount", "-o", "remount,bind,ro", str(database)], check=True)
        rig.restart("bridge")
        back = wait_for(lambda: fresh_bridge(settings, rig.procs["bridge"].pid), 60)
        time.sleep(READONLY_SECONDS)
        queued = heartbeat(settings).get("writes_queued")
    finally:
        # Lazily: the bridge started meanwhile holds the file open through this mount.
        subprocess.run(["umount", "-l", str(database)], check=False)
    sipp.wait()
    sniffer.stop()
    counts = counts_of(stats)
    delays, silent = sniffer.wire.first_prompt_delays(since, time.time())
    in_db = asyncio.run(load.wait_calls_in_db(settings, args.calls, args.settle))
    facts = asyncio.run(db_facts(settings))
    errors, kinds = load.bridge_errors(settings)
    return {"fault": "db-readonly", "placed": args.calls, "sipp": counts,
            "bridge_up_while_readonly_s": back, "writes_queued_while_readonly": queued,
            "heard_a_prompt": len(delays), "silent": silent,
            "prompt_ms": load.percentiles(delays), "fallbacks": load.fallbacks(settings),
            "calls_in_db": in_db, **facts, "bridge_errors": errors, "error_kinds": kinds}


def scheduler_kill(rig: load.Rig, args: argparse.Namespace,
                   workdir: Path) -> dict[str, Any]:
    settings = rig.settings
    script = load.scenario(workdir)
    # The recordings pile up first: the scheduler is down while the calls are made.
    rig.procs["scheduler"].kill()
    rig.procs["scheduler"].wait()
    sipp, stats = start_load(rig, script, workdir, "scheduler-kill",
                             (args.concurrent, args.rate, args.calls))
    sipp.wait()
    counts = counts_of(stats)
    asyncio.run(load.wait_calls_in_db(settings, args.calls, args.settle))
    time.sleep(20)  # the last recordings judged complete after their hang-up
    backlog = asyncio.run(db_facts(settings))["call_recordings_by_process_state"]
    chance = random.Random(args.seed)
    kills, started = 0, time.monotonic()
    while time.monotonic() - started < KILL_FOR_AT_MOST:
        # Killed while it works, not while it starts (imports, migrations: seconds).
        runs = scheduler_starts(settings)
        rig.spawn("scheduler")
        wait_for(lambda: scheduler_starts(settings) > runs, 60)  # noqa: B023
        time.sleep(chance.uniform(0.2, 3.0))
        rig.procs["scheduler"].kill()
        rig.procs["scheduler"].wait()
        kills += 1
        states = asyncio.run(db_facts(settings))["call_recordings_by_process_state"]
        if not states.get("pending"):
            break
    rig.spawn("scheduler")  # and once more in peace, to finish what the last kill cut
    done = wait_for(lambda: not set(asyncio.run(db_facts(settings))[
        "call_recordings_by_process_state"]) - {"done", "failed"}, 300, step=2)
    facts = asyncio.run(db_facts(settings))
    files = asyncio.run(_kept_files_check(settings))
    return {"fault": "scheduler-kill", "placed": args.calls, "sipp": counts,
            "backlog_before": backlog, "scheduler_kills": kills,
            "kill_phase_s": round(time.monotonic() - started, 1), "all_done_after_s": done,
            **facts, **files}


def scheduler_starts(settings: Settings) -> int:
    log = settings.log_dir / "scheduler.log"
    return log.read_text(errors="replace").count("scheduler running") if log.exists() else 0


async def _kept_files_check(settings: Settings) -> dict[str, Any]:
    """Each processed recording: one kept file that exists, its original gone; and what
    lies in the folder that no row names (left-over originals, half-written copies)."""
    from sqlalchemy import select

    from hotline.db.base import make_engine, make_sessionmaker, session_scope
    from hotline.db.models import Recording

    root = pbx.instance_for(settings).recordings_dir
    engine = make_engine(settings.database_url)
    async with session_scope(make_sessionmaker(engine)) as session:
        rows = (await session.scalars(select(Recording))).all()
    await engine.dispose()
    done = [r for r in rows if r.process_state == "done"]
    named = {r.kept_path for r in done} | {r.path for r in rows if r.process_state != "done"}
    on_disk = {str(p.relative_to(root)) for p in root.rglob("*")
               if p.is_file() and not p.name.endswith(".peaks.json")
               and "bench-baseline" not in p.parts}
    return {"done_with_kept_file": sum((root / r.kept_path).is_file() for r in done),
            "done": len(done),
            "done_with_original_left": sum((root / r.path).exists() for r in done),
            "half_written_copies": sorted(p for p in on_disk if p.endswith(".part")),
            "files_no_row_names": sorted(on_disk - named)[:20]}


FAULTS = {"ami-cut": ami_cut, "asterisk-restart": asterisk_restart, "bridge-kill": bridge_kill,
          "db-readonly": db_readonly, "disk-full": disk_full, "scheduler-kill": scheduler_kill}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("fault", choices=sorted(FAULTS))
    parser.add_argument("--concurrent", type=int, default=100)
    parser.add_argument("--rate", type=float, default=10)
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--after", type=int, default=40,
                        help="calls after the fault (asterisk-restart, disk-full)")
    parser.add_argument("--db", default="")
    parser.add_argument("--base", type=int, default=48, help="ports are BASE060, BASE038 ...")
    parser.add_argument("--settle", type=float, default=90.0)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--seed", type=int, default=12368, help="scheduler-kill's moments")
    parser.add_argument("--at", help="run on this commit's code (see bench/load.py)")
    parser.add_argument("--commit", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.at:
        return load.run_at(args.at, "faults.py", load.without_at(sys.argv[1:]))
    with tempfile.TemporaryDirectory(prefix="bench-faults-") as tmp:
        rig = load.Rig(Path(tmp), args.base, args.db)
        try:
            rig.start()
            asyncio.run(load.set_closed(rig.settings))
            if args.fault == "asterisk-restart":
                asyncio.run(sign_in_seats(rig.settings))
                # The console puts signed-in seats in the queue when it (re)connects.
                rig.restart("console")
                health.wait_console_healthy(rig.settings)
            result = FAULTS[args.fault](rig, args, Path(tmp))
        finally:
            rig.stop()
    result["commit"] = args.commit or load._commit()
    print(json.dumps(result, indent=2, ensure_ascii=False))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
