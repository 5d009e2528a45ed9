"""`hotline`: the command an administrator runs the hotline with."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import text

from agent_console import cli as console_cli
from hotline import cli_calendar, cli_cases, cli_escalate, cli_phones, hours, pbx
from hotline.db import alerts as alerts_db
from hotline.db import calls as calls_db
from hotline.db import state
from hotline.db.base import run_once
from hotline.db.migrate import upgrade
from hotline.privacy import mask_phone
from hotline.secrets import load_or_create, use_private_umask
from hotline.settings import REPO_ROOT, Settings, SettingsError, load_settings
from recordings import cli as recordings_cli

HEARTBEAT_STALE_SECONDS = 10.0
BRIDGE_PROCESS = "python"
# 128 + SIGPIPE: what `yes | head -1` leaves in PIPESTATUS for the writer.
SIGPIPE_EXIT = 141


def main(argv: Sequence[str] | None = None) -> int:
    use_private_umask()  # before anything is written; what we start inherits it
    try:
        try:
            return _run(argv)
        finally:
            # Output still buffered (argparse's --help too) is written here, where a
            # closed pipe can still be caught.
            sys.stdout.flush()
    except BrokenPipeError:
        return _reader_gone()


def _run(argv: Sequence[str] | None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
        return int(args.func(settings, args) or 0)
    except (SettingsError, pbx.PbxError) as exc:
        print(f"hotline: {exc}", file=sys.stderr)
        return 2


def _reader_gone() -> int:
    """Whatever reads our output stopped (`hotline status | head -5`): end quietly with
    the status a shell gives a command killed by SIGPIPE. stdout is pointed at /dev/null
    first, or Python's own flush at exit would fail again and print a traceback."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return SIGPIPE_EXIT


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hotline", description="The 12368 court hotline.")
    sub = parser.add_subparsers(required=True, metavar="COMMAND")
    for name, func, help_text in (
        ("up", cmd_up, "start the PBX and the bridge; wait until healthy"),
        ("down", cmd_down, "stop everything `up` started"),
        ("status", cmd_status, "health of every part (exit 1 if one is unhealthy)"),
        ("bridge", cmd_bridge, "run the bridge in the foreground"),
    ):
        sub.add_parser(name, help=help_text).set_defaults(func=func)
    p = sub.add_parser("pbx", help="the Asterisk PBX alone")
    p.add_argument("action", choices=["setup", "up", "down", "status", "cli"])
    p.add_argument("command", nargs="?", default="", help="for `cli`: an Asterisk CLI command")
    p.set_defaults(func=cmd_pbx)
    p = sub.add_parser("db", help="the database")
    p.add_argument("action", choices=["upgrade"])
    p.set_defaults(func=cmd_db)
    p = sub.add_parser("calls", help="recent call records")
    p.add_argument("--last", type=int, default=20, metavar="N")
    p.add_argument("--json", action="store_true")
    p.add_argument("--unmask", action="store_true", help="show callers' full numbers")
    p.set_defaults(func=cmd_calls)
    p = sub.add_parser("mode", help="show or set the manual mode: auto, open, closed")
    p.add_argument("mode", nargs="?", choices=hours.MODES)
    p.set_defaults(func=cmd_mode)
    cli_calendar.register(sub)
    cli_cases.register(sub)
    cli_escalate.register(sub)
    cli_phones.register(sub)
    console_cli.register(sub)
    recordings_cli.register(sub)
    return parser


# --- up / down / status ---------------------------------------------------------------

def cmd_up(settings: Settings, _args: argparse.Namespace) -> int:
    upgrade(settings.database_url)
    print("starting the PBX ...", flush=True)
    inst = pbx.start(settings)
    print("starting the bridge, the console and the scheduler ...", flush=True)
    start_bridge(settings)
    start_console(settings)
    start_scheduler(settings)
    wait_bridge_healthy(settings)
    wait_console_healthy(settings)
    wait_scheduler_healthy(settings)
    _print_welcome(settings, inst)
    return 0


def start_bridge(settings: Settings) -> None:
    if not _bridge_pid(settings):
        pbx.spawn_detached([sys.executable, "-m", "ivr"], settings.log_dir / "bridge.out",
                           cwd=REPO_ROOT)


def start_console(settings: Settings) -> None:
    if not pbx.live_pid(settings.console_pid_file, BRIDGE_PROCESS):
        pbx.spawn_detached([sys.executable, "-m", "hotline.cli", "console"],
                           settings.log_dir / "console.out", cwd=REPO_ROOT)


def start_scheduler(settings: Settings) -> None:
    if not pbx.live_pid(settings.scheduler_pid_file, BRIDGE_PROCESS):
        pbx.spawn_detached([sys.executable, "-m", "scheduler"],
                           settings.log_dir / "scheduler.out", cwd=REPO_ROOT)


def wait_scheduler_healthy(settings: Settings, timeout: float = 30.0) -> None:
    _wait_healthy("scheduler", lambda: scheduler_problems(settings),
                  settings.log_dir / "scheduler.out", timeout)


def scheduler_problems(settings: Settings) -> list[str]:
    if not pbx.live_pid(settings.scheduler_pid_file, BRIDGE_PROCESS):
        return ["the scheduler is not running (hotline up)"]
    try:
        beat = json.loads(settings.scheduler_heartbeat_file.read_text())
    except (FileNotFoundError, ValueError):
        return ["the scheduler has not reported yet"]
    problems = []
    if time.time() - beat["time"] > HEARTBEAT_STALE_SECONDS:
        problems.append(f"no heartbeat for {time.time() - beat['time']:.0f} s")
    problems += [f"job {name} failed: {last.get('error', '')}"
                 for name, last in sorted(beat.get("jobs", {}).items()) if not last.get("ok")]
    return problems


def wait_console_healthy(settings: Settings, timeout: float = 30.0) -> None:
    _wait_healthy("console", lambda: console_problems(settings),
                  settings.log_dir / "console.out", timeout)


def _wait_healthy(part: str, problems: Callable[[], list[str]], log: Path,
                  timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not problems():
            return
        time.sleep(0.3)
    raise pbx.PbxError(f"the {part} did not become healthy: {'; '.join(problems())}"
                       f" (see {log})")


def console_problems(settings: Settings) -> list[str]:
    if not pbx.live_pid(settings.console_pid_file, BRIDGE_PROCESS):
        return ["the console is not running (hotline up)"]
    url = f"http://{settings.console.host}:{settings.console.port}/login"
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return [] if response.status == 200 else [f"{url} answered {response.status}"]
    except OSError as exc:
        return [f"{url} does not answer: {exc}"]


def wait_bridge_healthy(settings: Settings, timeout: float = 30.0) -> None:
    _wait_healthy("bridge", lambda: bridge_problems(settings), settings.log_dir / "bridge.log",
                  timeout)


def cmd_down(settings: Settings, _args: argparse.Namespace) -> int:
    if pbx.terminate(settings.bridge_pid_file, BRIDGE_PROCESS, 15.0):
        print("bridge stopped")
    if pbx.terminate(settings.console_pid_file, BRIDGE_PROCESS, 15.0):
        print("console stopped")
    if pbx.terminate(settings.scheduler_pid_file, BRIDGE_PROCESS, 15.0):
        print("scheduler stopped")
    if pbx.stop(settings):
        print("PBX stopped")
    return 0


def cmd_status(settings: Settings, _args: argparse.Namespace) -> int:
    parts = {"pbx": pbx_problems(settings), "bridge": bridge_problems(settings),
             "console": console_problems(settings),
             "scheduler": scheduler_problems(settings), "database": database_problems(settings)}
    for name, problems in parts.items():
        print(f"{name:9} {'ok' if not problems else 'UNHEALTHY: ' + '; '.join(problems)}")
    for warning in calendar_warnings(settings):
        print(f"WARNING   {warning}")
    for line in alert_lines(settings):
        print(line)
    return 1 if any(parts.values()) else 0


def alert_lines(settings: Settings, limit: int = 10) -> list[str]:
    """Open alerts (recordings missing, orphan files, disk, ...): shown, not a failure."""
    try:
        open_alerts = run_once(settings.database_url, alerts_db.list_open_alerts)
    except Exception:  # the database part already reports an unreadable database
        return []
    lines = [f"{'alerts':9} {len(open_alerts)} open" if open_alerts else f"{'alerts':9} none"]
    lines += [f"  {a.kind}: {a.message}" for a in open_alerts[:limit]]
    if len(open_alerts) > limit:
        lines.append(f"  ... and {len(open_alerts) - limit} more")
    return lines


def calendar_warnings(settings: Settings) -> list[str]:
    """Days ahead the calendar has no data for: a warning, not a failure (routing falls
    back to Monday to Friday)."""
    today = hours.court_today(settings)
    try:
        result: list[str] = run_once(
            settings.database_url, lambda s: hours.calendar_warnings(s, settings, today))
    except Exception:  # the database part already reports an unreadable database
        return []
    return result


def pbx_problems(settings: Settings) -> list[str]:
    pid = pbx.running_pid(settings)
    if pid is None:
        return ["Asterisk is not running (hotline up)"]
    if pbx.process_uid(pid) == 0:  # started by a version before runuser: a restart drops root
        return ["Asterisk runs as root: restart it (hotline down, then hotline up)"]
    try:
        if not pbx.ami_fully_booted(settings.pbx.ami_port, load_or_create(settings).ami_secret):
            return ["Asterisk has not finished booting"]
    except OSError as exc:
        return [f"AMI does not answer: {exc}"]
    return []


def bridge_problems(settings: Settings) -> list[str]:
    if not _bridge_pid(settings):
        return ["the bridge is not running (hotline up)"]
    try:
        beat = json.loads(settings.bridge_heartbeat_file.read_text())
    except (FileNotFoundError, ValueError):
        return ["the bridge has not reported yet"]
    problems = []
    if time.time() - beat["time"] > HEARTBEAT_STALE_SECONDS:
        problems.append(f"no heartbeat for {time.time() - beat['time']:.0f} s")
    if not beat["ami_connected"]:
        problems.append("not connected to AMI")
    return problems


def database_problems(settings: Settings) -> list[str]:
    async def check(session: Any) -> list[str]:
        version = (await session.execute(text("SELECT version_num FROM alembic_version"))).scalar()
        return [] if version else ["no schema (hotline db upgrade)"]
    try:
        result: list[str] = run_once(settings.database_url, check)
        return result
    except Exception as exc:  # any driver's error means the same to the operator
        return [f"cannot read the database: {exc.__class__.__name__}: {exc}"]


def _bridge_pid(settings: Settings) -> int | None:
    return pbx.live_pid(settings.bridge_pid_file, BRIDGE_PROCESS)


def _print_welcome(settings: Settings, inst: pbx.PbxInstance) -> None:
    p = settings.pbx
    host, _, port = p.carrier_match.rpartition(":")
    secrets = load_or_create(settings)
    print(f"""
The 12368 hotline is up ({'sandbox Asterisk' if inst.chroot else 'installed Asterisk'}).

Call in as the public network: send an INVITE for sip:12368@{p.sip_bind}:{p.sip_port}
from {p.carrier_match} (the carrier's address), e.g. with SIPp:
  sipp -sn uac -s 12368 -i {host} -p {port} {p.sip_bind}:{p.sip_port} -m 1

Register a softphone (server {p.sip_bind}:{p.sip_port}, UDP) with one of:""")
    for phone in pbx.seed_phones(settings, secrets):
        if phone.enabled:
            role = "seat" if phone.kind == "seat" else "duty judge"
            print(f"  {phone.extension:6} password {phone.password:20} ({role})")
    print(f"\nThe console: http://{settings.console.host}:{settings.console.port}/"
          "  (add people with `hotline user add NAME --role agent|admin|...`)")
    print("Recent calls: hotline calls   Health: hotline status   Stop: hotline down")


def cmd_bridge(settings: Settings, _args: argparse.Namespace) -> int:
    # The bridge is a part of its own: its public entry point, nothing deeper.
    from ivr.main import main as bridge_main

    return bridge_main()


def cmd_pbx(settings: Settings, args: argparse.Namespace) -> int:
    if args.action == "setup":
        print(pbx.setup(settings))
    elif args.action == "up":
        inst = pbx.start(settings)
        print(f"PBX up ({inst.host_root})")
    elif args.action == "down":
        print("PBX stopped" if pbx.stop(settings) else "PBX was not running")
    elif args.action == "status":
        problems = pbx_problems(settings)
        print("pbx ok" if not problems else "pbx UNHEALTHY: " + "; ".join(problems))
        return 1 if problems else 0
    else:
        print(pbx.cli(settings, args.command), end="")
    return 0


def cmd_db(settings: Settings, _args: argparse.Namespace) -> int:
    upgrade(settings.database_url)
    phones = pbx.seed_phones(settings, load_or_create(settings))  # hotline.toml's seeds
    print(f"database is up to date ({len(phones)} phones)")
    return 0


def cmd_calls(settings: Settings, args: argparse.Namespace) -> int:
    inst = pbx.instance_for(settings)
    rows = run_once(settings.database_url, lambda s: calls_db.recent_calls(s, args.last))
    records = [_call_record(call, inst, args.unmask) for call in rows]
    if args.json:
        print(json.dumps(records, ensure_ascii=False, indent=2))
        return 0
    for r in records:
        rec = r["recordings"][0] if r["recordings"] else {}
        print(f"{r['id']:18} {r['caller']:14} {r['started_at'][:19]} {r['disposition']:10} "
              f"{r['route']:8} {rec.get('duration_seconds') or '':>6} {rec.get('path', '')}")
    return 0


def _call_record(call: Any, inst: pbx.PbxInstance, unmask: bool) -> dict[str, Any]:
    def iso(value: Any) -> str | None:
        return value.isoformat() if value else None

    return {
        "id": call.id, "caller": call.caller_number if unmask else mask_phone(call.caller_number),
        "started_at": iso(call.started_at), "answered_at": iso(call.answered_at),
        "ended_at": iso(call.ended_at), "disposition": call.disposition, "route": call.route,
        "menu_path": call.menu_path, "agent": call.agent, "source": call.source,
        "hangup_cause": call.hangup_cause,
        "recordings": [{"kind": r.kind, "path": str(inst.recordings_dir / r.path),
                        "status": r.status, "duration_seconds": r.duration_seconds,
                        "size_bytes": r.size_bytes} for r in call.recordings],
    }


def cmd_mode(settings: Settings, args: argparse.Namespace) -> int:
    if args.mode:
        run_once(settings.database_url, lambda s: state.set_state(s, hours.MODE_KEY, args.mode))
    mode = run_once(settings.database_url, lambda s: state.get_state(s, hours.MODE_KEY, "auto"))
    print(f"mode: {mode}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
