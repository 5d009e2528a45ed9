"""`hotline status`: the health of every part, and the waits `hotline up` makes until each
part is healthy."""

from __future__ import annotations

import argparse
import json
import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pbx
from hotline import backup, clock, health, tls
from hotline.settings import Settings

HEARTBEAT_STALE_SECONDS = 10.0
# How long `hotline status` waits for each node's (and the proxy's) answer to SIP OPTIONS.
PROBE_TIMEOUT = 2.0
BRIDGE_PROCESS = "python"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `status` to the `hotline` command's subparsers."""
    sub.add_parser("status", help="health of every part (exit 1 if one is unhealthy)"
                   ).set_defaults(func=cmd_status)


def wait_scheduler_healthy(settings: Settings, timeout: float = 30.0) -> None:
    _wait_healthy("scheduler", lambda: scheduler_problems(settings),
                  settings.log_dir / "scheduler.log", timeout)


def scheduler_pid(settings: Settings) -> int | None:
    return pbx.live_pid(settings.scheduler_pid_file, BRIDGE_PROCESS)


def scheduler_problems(settings: Settings) -> list[str]:
    if not scheduler_pid(settings):
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
                  settings.log_dir / "console.log", timeout)


def _wait_healthy(part: str, problems: Callable[[], list[str]], log: Path,
                  timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not problems():
            return
        time.sleep(0.3)
    # log: the part's log; what it printed outside it (a crash at start) is in its .out
    raise pbx.PbxError(f"the {part} did not become healthy: {'; '.join(problems())}"
                       f" (see {log} and {log.with_suffix('.out')})")


def console_problems(settings: Settings) -> list[str]:
    if not pbx.live_pid(settings.console_pid_file, BRIDGE_PROCESS):
        return ["the console is not running (hotline up)"]
    url = console_url(settings, "/login", dial=True)
    pair = tls.files(settings)
    try:
        # Over HTTPS the console must show the configured certificate, self-signed or not.
        context = tls.client_context(pair) if pair else None
        with urllib.request.urlopen(url, timeout=3, context=context) as response:
            return [] if response.status == 200 else [f"{url} answered {response.status}"]
    except OSError as exc:  # ssl.SSLError (a certificate that is not ours) is one
        return [f"{url} does not answer: {exc}"]


def console_url(settings: Settings, path: str = "/", *, dial: bool = False) -> str:
    """The console's address, https:// when it serves TLS itself; dial: one this machine
    can connect to (a console listening on every address is dialled on loopback)."""
    c = settings.console
    host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(c.host, c.host) if dial else c.host
    host = f"[{host}]" if ":" in host else host
    return f"{'https' if tls.enabled(c) else 'http'}://{host}:{c.port}{path}"


def wait_bridge_healthy(settings: Settings, timeout: float = 30.0) -> None:
    _wait_healthy("bridge", lambda: bridge_problems(settings), settings.log_dir / "bridge.log",
                  timeout)


def cmd_status(settings: Settings, _args: argparse.Namespace) -> int:
    site = site_report(settings)
    parts = {"pbx": pbx_problems(settings), "bridge": bridge_problems(settings),
             "console": console_problems(settings),
             "scheduler": scheduler_problems(settings), "database": site.database}
    node_lines: list[str] = []
    if settings.cluster.enabled:  # issue 17: every node, its bridge and scheduler
        node_lines, parts["nodes"] = cluster_report(settings)
    for name, problems in parts.items():
        print(f"{name:9} {'ok' if not problems else 'UNHEALTHY: ' + '; '.join(problems)}"
              f"{scheduler_role(settings) if name == 'scheduler' else ''}")
    for line in node_lines:
        print(line)
    from cli import service  # systemd's view, once the parts run as services

    for line in service.status_lines():
        print(f"service   {line}")
    print(clock_line(clock.clock_state()))
    if (pair := tls.files(settings)) is not None:
        print(tls.expiry_line(pair.cert, datetime.now(UTC)))
    print(backup.status_line(settings, datetime.now(UTC)))  # the last successful backup's age
    # Days the calendar only guesses (routing falls back to Monday to Friday) and open
    # alerts (recordings missing, orphan files, disk, ...): shown, not a failure.
    for warning in site.calendar:
        print(f"WARNING   {warning}")
    if not site.database:
        for line in alert_lines(site):
            print(line)
    for line in pbx.sip_security.status_lines(settings, datetime.now(UTC)):
        print(line)
    for line in pbx.trunks.status_lines(settings):  # each register trunk's registration
        print(line)
    return 1 if any(parts.values()) else 0


def scheduler_role(settings: Settings) -> str:
    """" (active)" or " (standby)": on a cluster, whether this node's scheduler runs the jobs."""
    try:
        state = json.loads(settings.scheduler_heartbeat_file.read_text())["cluster"]["state"]
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return ""
    return f" ({state})"


def cluster_report(settings: Settings) -> tuple[list[str], list[str]]:
    """Every node as the database knows it (each bridge's and scheduler's last heartbeat)
    and as a SIP OPTIONS finds it, and the proxy: the lines to print, and the problems (a
    node or the proxy down, no scheduler active)."""
    from hotline import cluster  # the database layer, only on a cluster
    from hotline.db.base import run_once, utcnow

    targets = {name: cluster.node_target(address, settings.pbx.sip_port)
               for name, address in settings.cluster.addresses().items()}
    targets["proxy"] = settings.cluster.proxy_host_port()
    found = cluster.probe_all(targets.values(), timeout=PROBE_TIMEOUT)
    probes = dict(zip(targets, found, strict=True))
    proxy = probes.pop("proxy")
    try:
        rows = run_once(settings.database_url, cluster.members)
    except Exception as exc:  # the database away: the probes still tell what answers
        rows, problems = [], [f"the nodes' heartbeats cannot be read: {exc}"]
    else:
        problems = []
    views = cluster.node_views(settings, rows, probes, utcnow())
    lines = [f"{'node':9} {view.line()}" for view in views]
    lines.append(f"{'proxy':9} {proxy.target}: " + (f"SIP {proxy.status} {proxy.millis:.0f} ms"
                                                   if proxy.answered else f"DOWN: {proxy.status}"))
    problems += [f"node {view.name} DOWN" for view in views if view.down]
    if not proxy.answered:
        problems.append("the SIP proxy DOWN")
    active = cluster.active_scheduler(views)
    lines.append(f"{'scheduler':9} active on node {active}" if active
                 else f"{'scheduler':9} NONE ACTIVE: no node's scheduler holds the lock")
    if not active and rows:
        problems.append("no scheduler active")
    return lines, problems


def clock_line(state: clock.ClockState) -> str:
    """A clock NOT synchronised is a warning, not a failure: every part still runs, only
    its times drift."""
    return f"{'WARNING' if state.synchronised is False else 'clock':9} {state.line()}"


def site_report(settings: Settings) -> health.SiteReport:
    """The scheduler's latest report on the database, calendar and alerts when it is fresh;
    otherwise (the scheduler is down or stuck) asked of the database now."""
    try:
        beat = json.loads(settings.scheduler_heartbeat_file.read_text())
    except (FileNotFoundError, ValueError):
        beat = {}
    report = health.SiteReport.from_json(beat.get("site"))
    if report is not None and report.fresh() and scheduler_pid(settings):
        return report
    return database_report(settings)


def database_report(settings: Settings) -> health.SiteReport:
    from hotline.db.base import run_once, utcnow  # the database layer, only on this path

    try:
        return run_once(settings.database_url,
                        lambda session: health.site_report(session, settings, utcnow()))
    except Exception as exc:  # any driver's error means the same to the operator
        return health.database_down(exc)


def alert_lines(site: health.SiteReport) -> list[str]:
    if not site.alerts_open:
        return [f"{'alerts':9} none"]
    lines = [f"{'alerts':9} {site.alerts_open} open", *(f"  {a}" for a in site.alerts)]
    if site.alerts_open > len(site.alerts):
        lines.append(f"  ... and {site.alerts_open - len(site.alerts)} more")
    return lines


def pbx_problems(settings: Settings) -> list[str]:
    pid = pbx.running_pid(settings)
    if pid is None:
        return ["Asterisk is not running (hotline up)"]
    if pbx.process_uid(pid) == 0:  # started by a version before runuser: a restart drops root
        return ["Asterisk runs as root: restart it (hotline down, then hotline up)"]
    try:
        if not pbx.booted(settings):
            return ["Asterisk has not finished booting"]
    except pbx.PbxError as exc:
        return [f"AMI does not answer: {exc}"]
    return []


def bridge_problems(settings: Settings) -> list[str]:
    if not bridge_pid(settings):
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


def bridge_pid(settings: Settings) -> int | None:
    return pbx.live_pid(settings.bridge_pid_file, BRIDGE_PROCESS)
