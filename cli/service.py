"""`hotline service install | remove | status`: the hotline as systemd services.

One target, hotline.target, wants one service per part: hotline-pbx (Asterisk, started as
root and dropping to its own user as asterisk.conf's runuser says; root is needed for the
sandbox's chroot and to give Asterisk its folders), hotline-bridge, hotline-console and
hotline-scheduler (as the unprivileged user that owns the data folder, in Asterisk's group
for the recordings and the CDR). Each restarts by itself within seconds when it dies, logs
to the journal, and starts at boot. `hotline up`, `down` and `status` go through systemd
once the units are installed (see installed()).

The units are rendered from this module, with this checkout's paths and the HOTLINE_*
variables the installer ran with (those go into a drop-in readable by root only: they may
hold the SMS gateway's password).
"""

from __future__ import annotations

import argparse
import os
import pwd
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from hotline.settings import REPO_ROOT, Settings

UNIT_DIR = Path("/etc/systemd/system")
TARGET = "hotline.target"
# A drop-in for every unit named hotline-*.service (systemd's prefix drop-ins).
ENV_DROP_IN = Path("hotline-.service.d") / "10-environment.conf"
DEFAULT_USER = "hotline"
RESTART_SEC = 2
_TMP = (Path("/tmp"), Path("/var/tmp"))


@dataclass(frozen=True)
class Part:
    name: str
    description: str
    argv: tuple[str, ...]  # after the Python interpreter (the PBX's: before Asterisk starts)
    staff: bool  # runs as the unprivileged user (the PBX part starts as root)
    # its share of the cores when all are busy (systemd's default 100; hotline.cpushare):
    # callers wait on the bridge; the scheduler's batch work takes what calls leave over
    cpu_weight: int = 100

    @property
    def unit(self) -> str:
        return f"hotline-{self.name}.service"


PARTS = (
    Part("pbx", "the Asterisk PBX", ("-m", "cli", "pbx", "prepare"), staff=False),
    Part("bridge", "the bridge (voice menus, call records)", ("-m", "ivr"), staff=True,
         cpu_weight=1000),
    Part("console", "the web console", ("-m", "cli", "console"), staff=True),
    Part("scheduler", "the timed jobs", ("-m", "scheduler"), staff=True, cpu_weight=10),
)
UNITS = (TARGET, *(p.unit for p in PARTS))


@dataclass(frozen=True)
class Site:
    """What the units name: who runs the parts, with which Python, on which folders."""

    user: str
    pbx_gid: int  # Asterisk's group: recordings, the CDR file
    data_dir: Path
    pbx_dir: Path  # the PBX instance's folder as this host sees it
    asterisk: tuple[str, ...]  # Asterisk in the foreground (the sandbox's through chroot)
    python: Path = Path(sys.executable)
    repo: Path = REPO_ROOT
    env: dict[str, str] = field(default_factory=dict)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `service` to the `hotline` command's subparsers."""
    p = sub.add_parser("service", help="run the hotline as systemd services: install, "
                                       "remove, status")
    p.add_argument("action", choices=["install", "remove", "status"])
    p.add_argument("--user", default=DEFAULT_USER,
                   help=f"the unprivileged user the parts run as (default {DEFAULT_USER})")
    p.add_argument("--no-start", action="store_true", help="install and enable, start later")
    p.set_defaults(func=cmd_service)


def cmd_service(settings: Settings, args: argparse.Namespace) -> int:
    if args.action == "status":
        lines = status_lines()
        print("\n".join(lines) if lines else "the hotline's services are not installed")
        return 0 if lines else 1
    if os.geteuid() != 0:
        print(f"hotline service {args.action}: run it as root", file=sys.stderr)
        return 2
    if args.action == "install":
        return install(settings, args.user, start=not args.no_start)
    return remove()


# --- the units -----------------------------------------------------------------------------

def render_units(site: Site) -> dict[Path, str]:
    """Every file `install` writes, relative to the unit folder, with its text."""
    files = {Path(TARGET): _target()}
    files.update({Path(p.unit): _service(p, site) for p in PARTS})
    files[ENV_DROP_IN] = "[Service]\n" + "".join(
        f"Environment={_quote(f'{k}={v}')}\n" for k, v in sorted(site.env.items()))
    return files


def _target() -> str:
    wants = " ".join(p.unit for p in PARTS)
    return f"""[Unit]
Description=12368 court hotline (PBX, bridge, console, scheduler)
Wants={wants}
After=network-online.target
Wants=network-online.target

[Install]
WantedBy=multi-user.target
"""


def _service(part: Part, site: Site) -> str:
    start = " ".join(_quote(str(a)) for a in (site.python, *part.argv))
    if part.name == "pbx":  # prepared as root; Asterisk drops root itself (runuser)
        start = " ".join(map(_quote, site.asterisk)) + f"\nExecStartPre={start}"
    who = (f"User={site.user}\nGroup={site.user}\nSupplementaryGroups={site.pbx_gid}\n"
           if part.staff else "")
    protect = _protection(part, site)
    after = "network-online.target postgresql.service"
    if part.name != "pbx":
        after += " hotline-pbx.service"  # the bridge logs in to AMI; all read its folders
    return f"""[Unit]
Description=12368 hotline: {part.description}
PartOf={TARGET}
After={after}
StartLimitIntervalSec=0

[Service]
Type=simple
{who}WorkingDirectory={_quote(str(site.repo))}
ExecStart={start}
CPUWeight={part.cpu_weight}
Restart=always
RestartSec={RESTART_SEC}
TimeoutStopSec=30
UMask=0027
NoNewPrivileges=yes
{protect}ProtectHome=read-only
PrivateTmp={_yes(not _under_tmp(site))}
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectControlGroups=yes
"""


def _protection(part: Part, site: Site) -> str:
    """The parts write only in the data folder and the PBX instance's folder (recordings,
    etc/site). Asterisk's chroot needs its own writes, so the PBX keeps ProtectSystem=full,
    and its set-up as root writes in the data folder (which may be under /usr/local)."""
    tmp = list(_TMP) if _under_tmp(site) else []
    if not part.staff:
        return f"ProtectSystem=full\nReadWritePaths={_words([site.data_dir, *tmp])}\n"
    return (f"ProtectSystem=strict\nReadWritePaths={_words([site.data_dir, site.pbx_dir, *tmp])}"
            "\nPrivateDevices=yes\n")


def _words(paths: list[Path]) -> str:
    return " ".join(_quote(str(p)) for p in paths)


def _under_tmp(site: Site) -> bool:
    """A data folder or checkout in /tmp (a trial, a test): a private /tmp would hide it."""
    return any(t == p or t in p.parents for t in _TMP for p in (site.data_dir, site.repo))


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _quote(word: str) -> str:
    """A word as a unit file reads it: % is systemd's specifier sign, quotes around spaces."""
    word = word.replace("%", "%%")
    if any(c in word for c in ' "\\\'$'):
        return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return word


def hotline_env(environ: dict[str, str] | os._Environ[str]) -> dict[str, str]:
    """The HOTLINE_* settings the installer runs with: the services get the same."""
    return {k: v for k, v in environ.items() if k.startswith("HOTLINE_")}


# --- install / remove ------------------------------------------------------------------------

def installed(unit_dir: Path = UNIT_DIR) -> bool:
    """True when systemd runs this machine and the hotline's units are installed: then
    `hotline up/down/status` ask systemd."""
    return Path("/run/systemd/system").is_dir() and (unit_dir / TARGET).is_file()


def install(settings: Settings, user: str, start: bool = True) -> int:
    from cli import system

    if not shutil.which("systemctl"):
        print("hotline service install: systemctl is not installed", file=sys.stderr)
        return 2
    system.cmd_down(settings, argparse.Namespace())  # what `hotline up` started by hand
    write_units(render_units(prepare_site(settings, user)))
    _systemctl("daemon-reload")
    _systemctl("enable", *(["--now"] if start else []), TARGET)
    print(f"installed {', '.join(UNITS)} in {UNIT_DIR}; the parts run as {user!r}")
    if start:
        wait_healthy(settings)
        print("the hotline is up as services: hotline service status, "
              "journalctl -u 'hotline-*'")
    return 0


def prepare_site(settings: Settings, user: str) -> Site:
    """Everything the services need before they start: the schema, the secrets, the
    sandbox, the user owning the data folder; returns what the units name."""
    import pbx
    from hotline.db.migrate import upgrade
    from hotline.secrets import load_or_create

    upgrade(settings.database_url, court_name=settings.court.name)
    load_or_create(settings)
    pbx.setup(settings)  # the sandbox, before a service needs it (about a minute, once)
    uid, gid = ensure_user(user)
    can_run_python(user)
    give_data_folder(settings.data_dir, uid, gid)
    inst = pbx.instance_for(settings)
    let_through(inst.host_root)
    owner = pbx.pbx_owner(inst)
    if owner is None:
        raise pbx.PbxError(f"no {pbx.PBX_USER!r} group for Asterisk (Debian's asterisk "
                           "package creates it)")
    return Site(user=user, pbx_gid=owner[1], data_dir=settings.data_dir,
                pbx_dir=inst.host_root, asterisk=_absolute(inst.command("-f")),
                env=hotline_env(os.environ))


def _absolute(argv: list[str]) -> tuple[str, ...]:
    return (shutil.which(argv[0]) or argv[0], *argv[1:])


def ensure_user(name: str) -> tuple[int, int]:
    """The unprivileged system user (and its group) the parts run as, created if missing."""
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--system", "--user-group", "--no-create-home",
                        "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", name],
                       check=True)
        entry = pwd.getpwnam(name)
    return entry.pw_uid, entry.pw_gid


def can_run_python(user: str, python: Path = Path(sys.executable)) -> None:
    """The parts' user must be able to start this checkout's Python (a virtualenv made from
    a Python in root's home cannot be: make it from Debian's /usr/bin/python3)."""
    probe = subprocess.run(["runuser", "-u", user, "--", str(python), "-c", "import hotline"],
                           cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        raise SystemExit(f"hotline service install: user {user!r} cannot run {python} "
                         f"(it is {python.resolve()}): {probe.stderr.strip()[-300:]}")


def give_data_folder(data_dir: Path, uid: int, gid: int) -> None:
    """The data folder becomes the parts' user's. Its parents must let that user through."""
    blocked = [p for p in data_dir.parents if not os.stat(p).st_mode & 0o001]
    if blocked:
        raise SystemExit(f"hotline service install: {blocked[0]} does not let other users "
                         f"through (chmod o+x it, or move [paths] data_dir)")
    own_tree(data_dir, uid, gid)


def let_through(folder: Path) -> None:
    """The folders above the PBX instance's (the sandbox's, root's 0750) let the parts' user
    pass to the recordings, never list them; the instance folder itself is its group's."""
    for parent in folder.parents:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            parent.chmod(stat.S_IMODE(mode) | stat.S_IXOTH)


def own_tree(data_dir: Path, uid: int, gid: int) -> None:
    for folder, dirs, files in os.walk(data_dir):
        dirs[:] = [d for d in dirs if d != "pbx"]  # an installed Asterisk's: grant_pbx's
        os.chown(folder, uid, gid)
        for name in files:
            os.lchown(os.path.join(folder, name), uid, gid)


def write_units(files: dict[Path, str], unit_dir: Path = UNIT_DIR) -> None:
    for relative, text in files.items():
        path = unit_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        path.chmod(0o600 if relative == ENV_DROP_IN else 0o644)


def remove(unit_dir: Path = UNIT_DIR) -> int:
    """Stop and disable the services and delete their units; the data folder and the
    user stay (a later install or `hotline up` finds everything as it was)."""
    if (unit_dir / TARGET).exists():
        _systemctl("disable", "--now", TARGET)
        _systemctl("stop", *(p.unit for p in PARTS))
    for name in UNITS:
        (unit_dir / name).unlink(missing_ok=True)
    shutil.rmtree(unit_dir / ENV_DROP_IN.parent, ignore_errors=True)
    _systemctl("daemon-reload")
    print("the hotline's services are removed (the data folder and its user stay)")
    return 0


def _systemctl(*args: str) -> str:
    done = subprocess.run(["systemctl", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"systemctl {' '.join(args)} failed: "
                         f"{(done.stderr or done.stdout).strip()}")
    return done.stdout


# --- running ---------------------------------------------------------------------------------

def start_all(settings: Settings) -> None:
    """`hotline up` once installed: systemd starts the target, we wait for health."""
    _systemctl("start", TARGET)
    wait_healthy(settings)


def stop_all() -> None:
    # Every unit named: systemctl then waits for each to have stopped, not the target alone.
    _systemctl("stop", *UNITS)


def wait_healthy(settings: Settings) -> None:
    import pbx
    from cli import health

    pbx.wait_booted(settings, 60)
    health.wait_bridge_healthy(settings)
    health.wait_console_healthy(settings)
    health.wait_scheduler_healthy(settings)


def unit_state(unit: str) -> dict[str, str]:
    """systemd's view of one unit: ActiveState, SubState, NRestarts, MainPID, ..."""
    out = _systemctl("show", "-p", "ActiveState,SubState,NRestarts,MainPID,UnitFileState",
                     unit)
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def status_lines() -> list[str]:
    """One line per unit as systemd sees it; none when the units are not installed."""
    if not installed():
        return []
    lines = []
    for unit in UNITS:
        s = unit_state(unit)
        restarts = f", restarted {s['NRestarts']} times" if s.get("NRestarts", "0") != "0" else ""
        lines.append(f"{unit:26} {s.get('ActiveState')} ({s.get('SubState')}), "
                     f"{s.get('UnitFileState')}{restarts}")
    return lines


def prepare_pbx(settings: Settings) -> int:
    """hotline-pbx's ExecStartPre, as root: the sandbox, the configuration, the folders;
    then Asterisk starts in the foreground, and the other parts (ordered after it)."""
    import pbx

    pbx.prepare(settings)
    data = settings.data_dir.stat()
    if data.st_uid:  # what root just made there (run/, the prompts) is the parts' user's
        own_tree(settings.data_dir, data.st_uid, data.st_gid)
    return 0
