"""`hotline up`, `down`, `bridge`, `pbx`, `db`, `calls` and `mode`: the running hotline."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import pbx
from cli import service
from cli.health import (
    BRIDGE_PROCESS,
    bridge_pid,
    console_url,
    pbx_problems,
    wait_bridge_healthy,
    wait_console_healthy,
    wait_scheduler_healthy,
)
from hotline import hours, tls
from hotline.db import calls as calls_db
from hotline.db import state
from hotline.db.base import run_once
from hotline.db.migrate import upgrade
from hotline.privacy import mask_phone
from hotline.secrets import load_or_create
from hotline.settings import REPO_ROOT, Settings


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add these commands to the `hotline` command's subparsers."""
    for name, func, help_text in (
        ("up", cmd_up, "start the PBX and the bridge; wait until healthy"),
        ("down", cmd_down, "stop everything `up` started"),
        ("bridge", cmd_bridge, "run the bridge in the foreground"),
    ):
        sub.add_parser(name, help=help_text).set_defaults(func=func)
    p = sub.add_parser("pbx", help="the Asterisk PBX alone")
    p.add_argument("action", choices=["setup", "up", "down", "status", "cli",
                                           "prepare"])
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


# --- up / down -------------------------------------------------------------------------

def cmd_up(settings: Settings, _args: argparse.Namespace) -> int:
    if (pair := tls.files(settings)) is not None:
        tls.check_pair(pair)  # before anything starts, not in console.out 30 seconds later
    if (stopped := _migrate_with_backup(settings)) is not None:
        return stopped
    if service.installed():  # systemd runs the parts (hotline service install)
        service.start_all(settings)
        _print_welcome(settings, pbx.instance_for(settings))
        return 0
    upgrade(settings.database_url, court_name=settings.court.name)
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


def _migrate_with_backup(settings: Settings) -> int | None:
    """New code on a database of an older schema: back up first (each part would migrate
    it as it starts, with no way back); 1 when that failed and nothing was started."""
    from cli.backup import backup_before_migrating
    from hotline import backup

    try:
        backup_before_migrating(settings)
    except backup.BackupError as exc:
        print(f"hotline up: {exc}", file=sys.stderr)
        print("Nothing was started. Go back to the version you came from, or see "
              "docs/operations.md, \"Upgrading\".", file=sys.stderr)
        return 1
    return None


def start_bridge(settings: Settings) -> None:
    if not bridge_pid(settings):
        pbx.spawn_detached([sys.executable, "-m", "ivr"], settings.log_dir / "bridge.out",
                           cwd=REPO_ROOT)


def start_console(settings: Settings) -> None:
    if not pbx.live_pid(settings.console_pid_file, BRIDGE_PROCESS):
        pbx.spawn_detached([sys.executable, "-m", "cli", "console"],
                           settings.log_dir / "console.out", cwd=REPO_ROOT)


def start_scheduler(settings: Settings) -> None:
    if not pbx.live_pid(settings.scheduler_pid_file, BRIDGE_PROCESS):
        pbx.spawn_detached([sys.executable, "-m", "scheduler"],
                           settings.log_dir / "scheduler.out", cwd=REPO_ROOT)


def cmd_down(settings: Settings, _args: argparse.Namespace) -> int:
    if service.installed():
        service.stop_all()
        print("the hotline's services are stopped (they start again at boot)")
        return 0
    if pbx.terminate(settings.bridge_pid_file, BRIDGE_PROCESS, 15.0):
        print("bridge stopped")
    if pbx.terminate(settings.console_pid_file, BRIDGE_PROCESS, 15.0):
        print("console stopped")
    if pbx.terminate(settings.scheduler_pid_file, BRIDGE_PROCESS, 15.0):
        print("scheduler stopped")
    if pbx.stop(settings):
        print("PBX stopped")
    return 0


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
    print(f"\nThe console: {console_url(settings)}"
          "  (add people with `hotline user add NAME --role agent|admin|...`)")
    print("Recent calls: hotline calls   Health: hotline status   Stop: hotline down")


def cmd_bridge(settings: Settings, _args: argparse.Namespace) -> int:
    # The bridge is a part of its own: its public entry point, nothing deeper.
    import ivr

    return ivr.run()


def cmd_pbx(settings: Settings, args: argparse.Namespace) -> int:
    if args.action == "setup":
        print(pbx.setup(settings))
    elif args.action == "up":
        inst = pbx.start(settings)
        print(f"PBX up ({inst.host_root})")
    elif args.action == "down":
        print("PBX stopped" if pbx.stop(settings) else "PBX was not running")
    elif args.action == "prepare":  # before Asterisk starts, as hotline-pbx.service does
        return service.prepare_pbx(settings)
    elif args.action == "status":
        problems = pbx_problems(settings)
        print("pbx ok" if not problems else "pbx UNHEALTHY: " + "; ".join(problems))
        return 1 if problems else 0
    else:
        print(pbx.cli(settings, args.command), end="")
    return 0


def cmd_db(settings: Settings, _args: argparse.Namespace) -> int:
    upgrade(settings.database_url, court_name=settings.court.name)
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

