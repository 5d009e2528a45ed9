"""The hotline installed as systemd services, under a real systemd: `hotline service install`
writes and enables the units, systemd starts every part as the unprivileged user, and a
bridge killed with SIGKILL during a call is back within seconds by itself: the next call
gets the voice menu.

This machine (a container) has no systemd as PID 1, so the test boots one: Debian's own
/lib/systemd/systemd as PID 1 of a new PID and mount namespace, in a cgroup of its own,
with a private /run and its own /etc/systemd/system (a temporary folder bound over it).
Its unit path is that folder plus a few empty stand-ins for the system's targets
(sysinit.target, ...), so it starts the hotline's units and nothing of the machine's.
The network is the machine's: SIPp calls in from outside the namespace. Booting it takes
about a second.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

import pbx
from cli import service
from hotline import hours
from hotline.db import state
from hotline.db.base import make_engine, make_sessionmaker, run_once
from hotline.db.migrate import upgrade
from hotline.db.models import Call
from hotline.settings import REPO_ROOT, Settings, load_settings
from tests.integration import sipp
from tests.integration.conftest import CONFIG, OFFSET, port, wait_for
from tests.integration.test_bridge_durability import our_calls

SYSTEMD = Path("/lib/systemd/systemd")
# Ports of their own: a session's Asterisk of another module may still hold the usual ones.
PORTS = {name: port(base) for name, base in
         {"sip": 25760, "carrier": 25770, "ami": 25738, "agi": 24773, "console": 28768}.items()}
MEDIA_PORT = port(26760)
STAND_INS = {name: "" for name in ("basic.target", "multi-user.target",
                                     "network-online.target", "shutdown.target")}
# The journal (what the parts print, and the test's evidence when one does not start): the
# machine's journald, on the sockets the services write to, kept in the private /run.
STAND_INS["sysinit.target"] = "Wants=systemd-journald.socket\n"
STAND_INS["systemd-journald.socket"] = """DefaultDependencies=no
[Socket]
ListenDatagram=/run/systemd/journal/socket
ListenStream=/run/systemd/journal/stdout
PassCredentials=yes
SocketMode=0666
Service=systemd-journald.service
"""
STAND_INS["systemd-journald.service"] = """DefaultDependencies=no
[Service]
ExecStart=/lib/systemd/systemd-journald
Type=notify
Sockets=systemd-journald.socket
RuntimeDirectory=systemd/journal
RuntimeDirectoryPreserve=yes
"""
CALLER = "13800000031"
# Booted by boot.sh: the new namespaces, then systemd as their PID 1.
BOOT = """#!/bin/sh
set -e
mount --make-rprivate /
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /var/log/journal
mount --bind {units} /etc/systemd/system
{python_home}export SYSTEMD_UNIT_PATH=/etc/systemd/system:{stand_ins} container=hotline-test
exec {systemd} --system --unit=multi-user.target --log-target=console
"""

pytestmark = pytest.mark.skipif(not SYSTEMD.exists() or not shutil.which("unshare"),
                                reason="needs Debian's systemd and unshare")


class Systemd:
    """A real systemd as PID 1 of its own namespaces; run() runs a command in them."""

    def __init__(self, work: Path) -> None:
        self.work, self.cgroup = work, f"hotline-test-{os.getpid()}"
        for folder in ("units", "stand-ins"):
            (work / folder).mkdir()
        for name, text in STAND_INS.items():
            (work / "stand-ins" / name).write_text(
                f"[Unit]\nDescription={name} (stand-in)\n{text}")
        boot = work / "boot.sh"
        boot.write_text(BOOT.format(units=work / "units", stand_ins=work / "stand-ins",
                                    systemd=SYSTEMD, python_home=_python_home()))
        boot.chmod(0o755)
        log = (work / "systemd.log").open("wb")
        # Into a cgroup of its own first: systemd takes the one it starts in as its root.
        enter = "".join(f"mkdir -p {g} && echo $$ > {g}/cgroup.procs && "
                        for g in self._cgroups())
        self.proc = subprocess.Popen(
            ["sh", "-c", enter + f"exec unshare --pid --fork --mount --mount-proc {boot}"],
            stdout=log, stderr=log)
        log.close()
        wait_for(self._pid1, timeout=20)

    def _cgroups(self) -> list[Path]:
        return [Path("/sys/fs/cgroup") / h / self.cgroup for h in ("systemd", "unified")
                if (Path("/sys/fs/cgroup") / h / "cgroup.procs").exists()]

    def _pid1(self) -> int | None:
        """systemd's pid as this side sees it, once it answers systemctl."""
        found = subprocess.run(["pgrep", "-P", str(self.proc.pid), "-x", "systemd"],
                               capture_output=True, text=True, check=False).stdout.split()
        if not found:
            return None
        self.pid = int(found[0])
        probe = self.run("systemctl", "is-system-running", check=False)
        return self.pid if probe.stdout.strip() in {"running", "degraded"} else None

    def run(self, *argv: str, check: bool = True, env: dict[str, str] | None = None,
            timeout: float = 180) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(["nsenter", "-t", str(self.pid), "-m", "-p", *argv],
                              capture_output=True, text=True, env=env, timeout=timeout,
                              cwd=REPO_ROOT)
        if check and done.returncode != 0:
            raise AssertionError(f"{argv} failed ({done.returncode}):\n{done.stdout}\n"
                                 f"{done.stderr}\njournal: {self.journal()}")
        return done

    def show(self, unit: str, prop: str) -> str:
        return self.run("systemctl", "show", "-p", prop, "--value", unit).stdout.strip()

    def journal(self, unit: str = "hotline-*") -> str:
        return self.run("journalctl", "--no-pager", "-n", "60", "-u", unit, check=False).stdout

    def stop(self) -> None:
        self.run("systemctl", "stop", service.TARGET, check=False)  # Asterisk ends cleanly
        # SIGKILL to a PID namespace's init ends every process in it: Asterisk, the parts.
        subprocess.run(["pkill", "-KILL", "-P", str(self.proc.pid)], check=False)
        self.proc.wait(timeout=20)
        for top in self._cgroups():
            folders = sorted((p for p in top.rglob("*") if p.is_dir()),
                             key=lambda p: -len(p.parts))
            for folder in [*folders, top]:  # emptied by the kernel a moment after the kill
                wait_for(lambda f=folder: _rmdir(f), timeout=10)


def _python_home() -> str:
    """boot.sh's lines that let the hotline user reach this machine's Python when it lives
    in root's home (pyenv's, here; a court's venv uses Debian's /usr/bin/python3): in the
    namespace only, /root becomes an empty passable folder with that one folder in it."""
    python = Path(sys.executable).resolve()
    if Path("/root") not in python.parents:
        return ""
    top = Path("/root") / python.relative_to("/root").parts[0]
    return (f"mkdir /run/python-home && mount --bind {top} /run/python-home\n"
            f"mount -t tmpfs -o mode=0711 tmpfs /root && mkdir {top}\n"
            f"mount --move /run/python-home {top}\n")


def _rmdir(folder: Path) -> bool:
    try:
        folder.rmdir()
    except OSError:
        return False
    return True


@pytest.fixture(scope="module")
def data(settings: Settings) -> Iterator[Path]:
    # Not under pytest's tmp folder: its parents are root's 0700 and the parts run as the
    # hotline user, which must pass through to the data folder.
    folder = Path(tempfile.mkdtemp(prefix="hotline-services-"))
    # The session's spoken prompts when another module has made them (about 20 s saved):
    # they are kept by their sentence's hash, so the PBX's set-up takes them as they are.
    if (settings.data_dir / "prompt-cache").is_dir():
        shutil.copytree(settings.data_dir / "prompt-cache", folder / "prompt-cache")
    (folder / "hotline.toml").write_text(CONFIG.format(
        data=folder, rtp_start=32000 + OFFSET, rtp_end=32199 + OFFSET, **PORTS))
    yield folder
    instance = pbx.instance_for(load_settings(env={}, config_path=folder / "hotline.toml"))
    shutil.rmtree(instance.host_root, ignore_errors=True)  # the sandbox's folder for it
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def svc_settings(data: Path) -> Settings:
    return load_settings(env={}, config_path=data / "hotline.toml")


@pytest.fixture(scope="module")
def systemd(data: Path) -> Iterator[Systemd]:
    work = Path(tempfile.mkdtemp(prefix="hotline-systemd-"))
    booted = Systemd(work)
    try:
        yield booted
    finally:
        booted.stop()
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(scope="module")
def installed(systemd: Systemd, data: Path, svc_settings: Settings) -> Iterator[None]:
    env = {**os.environ, "HOTLINE_CONFIG": str(data / "hotline.toml")}
    hotline = [sys.executable, "-m", "cli"]
    upgrade(svc_settings.database_url)  # closed: every call hears the voice menu
    run_once(svc_settings.database_url, lambda s: state.set_state(s, hours.MODE_KEY, "closed"))
    systemd.run(*hotline, "service", "install", env=env)
    yield
    systemd.run(*hotline, "service", "remove", env=env, check=False)


def test_install_runs_every_part_as_a_service_of_the_hotline_user(
        systemd: Systemd, installed: None, data: Path) -> None:
    for part in service.PARTS:
        assert systemd.show(part.unit, "ActiveState") == "active", part.unit
    assert systemd.show(service.TARGET, "UnitFileState") == "enabled"
    bridge = int(systemd.show("hotline-bridge.service", "MainPID"))
    owner = systemd.run("ps", "-o", "user=", "-p", str(bridge)).stdout.strip()
    assert owner == service.DEFAULT_USER
    assert data.stat().st_uid == int(systemd.run("id", "-u", owner).stdout)
    status = systemd.run(sys.executable, "-m", "cli", "status",
                         env={**os.environ, "HOTLINE_CONFIG": str(data / "hotline.toml")})
    assert "service   hotline-bridge.service     active (running)" in status.stdout
    # What the bridge prints goes to the journal, under its unit's name.
    assert "ivr" in systemd.journal("hotline-bridge.service")


def test_a_bridge_killed_during_a_call_is_back_and_the_next_call_gets_the_menu(
        systemd: Systemd, installed: None, svc_settings: Settings, tmp_path: Path) -> None:
    before = int(systemd.show("hotline-bridge.service", "NRestarts"))
    first = subprocess.Popen(_sipp(tmp_path, 5), cwd=tmp_path, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    wait_for(lambda: [c for c in _calls(svc_settings)
                      if c.route == "menu" and not c.ended_at], timeout=20, interval=0.1)
    killed = int(systemd.show("hotline-bridge.service", "MainPID"))
    systemd.run("kill", "-9", str(killed))
    died = time.monotonic()

    def restarted() -> bool:
        return int(systemd.show("hotline-bridge.service", "MainPID")) not in {0, killed}
    wait_for(restarted, timeout=10, interval=0.1)
    started = time.monotonic() - died
    wait_for(lambda: _heartbeat_since(svc_settings, time.time() - (time.monotonic() - died)),
             timeout=30, interval=0.1)
    healthy = time.monotonic() - died
    assert int(systemd.show("hotline-bridge.service", "NRestarts")) == before + 1
    out, _ = first.communicate(timeout=60)
    assert first.returncode == 0, out  # the caller went on (the dialplan's fallback)

    second = subprocess.run(_sipp(tmp_path, 3), cwd=tmp_path, capture_output=True,
                            text=True, timeout=60)
    assert second.returncode == 0, second.stdout
    wait_for(lambda: len([c for c in _calls(svc_settings) if c.ended_at]) == 2, timeout=20)
    [_, latest] = sorted(_calls(svc_settings), key=lambda c: c.started_at)
    # The new bridge answered it: its own record (not the reconciler's), the welcome spoken.
    assert latest.source == "live" and latest.route == "menu"
    assert [e.detail.get("prompt") for e in latest.events if e.kind == "prompt"][:1] == [
        "welcome"]
    print(f"after kill -9 the bridge was started again in {started:.1f} s, "
          f"back on AMI in {healthy:.1f} s")


def _sipp(workdir: Path, seconds: float) -> list[str]:
    """SIPp's argv for one call that listens `seconds` (tests/integration/sipp.py's
    scenario, built once per call)."""
    name = f"caller-{time.monotonic_ns()}"
    steps = sipp._render(sipp.quiet(seconds), sipp.CallerMedia(workdir, name))
    scenario = workdir / f"{name}.xml"
    scenario.write_text((sipp.SCENARIOS / "caller.xml.in").read_text()
                        .replace("@STEPS@", steps))
    return ["sipp", f"127.0.0.1:{PORTS['sip']}", "-sf", str(scenario), "-m", "1",
            "-i", "127.0.0.1", "-p", str(PORTS["carrier"]), "-mp", str(MEDIA_PORT),
            "-s", "12368", "-key", "caller", CALLER, "-nostdin", "-timeout", "60s",
            "-timeout_error", "-trace_err"]


def _calls(settings: Settings) -> list[Call]:
    """This test's calls as the database has them (the only caller of this data folder)."""
    async def read() -> list[Call]:
        engine = make_engine(settings.database_url)
        try:
            return await our_calls(make_sessionmaker(engine),
                                   datetime(2000, 1, 1, tzinfo=UTC), CALLER)
        finally:
            await engine.dispose()
    return asyncio.run(read())


def _heartbeat_since(settings: Settings, since: float) -> bool:
    """The bridge has said it is up and logged in to AMI since `since` (a Unix time)."""
    try:
        beat = json.loads(settings.bridge_heartbeat_file.read_text())
    except (FileNotFoundError, ValueError):
        return False
    return bool(beat["time"] > since and beat["ami_connected"])


def test_up_and_down_go_through_systemd_and_remove_deletes_the_units(
        systemd: Systemd, installed: None, data: Path) -> None:
    env = {**os.environ, "HOTLINE_CONFIG": str(data / "hotline.toml")}
    hotline = [sys.executable, "-m", "cli"]

    bridge = systemd.show("hotline-bridge.service", "MainPID")
    # systemd read each part's share of the cores (hotline.cpushare): callers first
    assert [systemd.show(p.unit, "CPUWeight") for p in service.PARTS] == [
        "100", "1000", "100", "10"]
    up = systemd.run(*hotline, "up", env=env)  # systemd's, not a second bridge by hand
    assert "The 12368 hotline is up" in up.stdout
    assert systemd.show("hotline-bridge.service", "MainPID") == bridge

    systemd.run(*hotline, "down", env=env)
    assert {systemd.show(u, "ActiveState") for u in service.UNITS} == {"inactive"}
    assert systemd.show(service.TARGET, "UnitFileState") == "enabled"  # back at boot

    systemd.run(*hotline, "service", "remove", env=env)
    assert list((systemd.work / "units").glob("hotline*")) == []
    assert systemd.run(*hotline, "service", "status", env=env, check=False).returncode == 1
