"""The PBX: find or provision Asterisk, render its configuration, start, stop, check it.

An installed Asterisk (>= 20) is preferred. Otherwise the sandbox is used: Debian unstable's
``asterisk`` package in an mmdebstrap chroot, built once per machine and shared by every
instance. Each instance (the demo, a test run, production) has its own folder of etc, run,
log, spool and recordings; inside the sandbox that folder is /srv/hotline/<name>, so the
same path differs between what Asterisk sees and what the host sees (see PbxInstance).
"""

from __future__ import annotations

import grp
import hashlib
import hmac
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from hotline import waiting
from hotline.calendar import SEASONS, WEEKDAY_KEYS, season_month_range, weekday_spans
from hotline.secrets import PRIVATE_UMASK, Secrets, keep_private, load_or_create
from hotline.settings import REPO_ROOT, PbxSettings, Settings

# The database layer and the prompt builder (pypinyin) take ~0.5 s to import: only the
# functions that need them import them, so `hotline status` and `--help` start quickly.
if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from hotline.db.models import Phone

CONF_DIR = REPO_ROOT / "asterisk-conf"
DIALPLAN_DIR = REPO_ROOT / "dialplan"
MIN_ASTERISK_MAJOR = 20
AMI_USER = "hotline"
# The web console's own AMI user (manager.conf console-user), with fewer rights.
CONSOLE_AMI_USER = "console"
# Asterisk runs as this user and group, never as root: Debian's asterisk package creates
# both, in the sandbox and on a server with an installed Asterisk.
PBX_USER = "asterisk"
# Asterisk writes in these instance folders: they are its own. It only reads the others.
_PBX_WRITES = ("run", "log", "spool", "lib", "cache")
_PBX_READS = ("etc", "sounds", "astdata")
_MODULE_DIRS = ("usr/lib/x86_64-linux-gnu/asterisk/modules",
                "usr/lib/aarch64-linux-gnu/asterisk/modules",
                "usr/lib/asterisk/modules", "usr/lib64/asterisk/modules")
_DATA_DIRS = ("usr/share/asterisk", "var/lib/asterisk")


class PbxError(RuntimeError):
    """The PBX could not be provisioned, started or reached; the message says why."""


@dataclass(frozen=True)
class PbxInstance:
    """Where one Asterisk instance lives, as the host sees it and as Asterisk sees it."""

    chroot: Path | None  # None: an installed Asterisk, paths are the same on both sides
    pbx_root: Path  # the instance folder as Asterisk sees it

    @property
    def host_root(self) -> Path:
        return self.to_host(self.pbx_root)

    def to_host(self, pbx_path: Path | str) -> Path:
        path = Path(pbx_path)
        return self.chroot / path.relative_to("/") if self.chroot else path

    def to_pbx(self, host_path: Path | str) -> Path:
        path = Path(host_path)
        return Path("/") / path.relative_to(self.chroot) if self.chroot else path

    def dir(self, name: str) -> Path:
        """Host path of one of the instance's folders: etc, run, log, spool, lib, ..."""
        return self.host_root / name

    @property
    def recordings_dir(self) -> Path:
        return self.dir("recordings")

    @property
    def sounds_dir(self) -> Path:
        return self.dir("sounds")

    @property
    def cdr_file(self) -> Path:
        return self.dir("log") / "cdr-custom" / "hotline-cdr.json"

    def command(self, *args: str) -> list[str]:
        """argv that runs the instance's asterisk binary with its own asterisk.conf."""
        conf = str(self.pbx_root / "etc" / "asterisk.conf")
        base = ["chroot", str(self.chroot), "/usr/sbin/asterisk"] if self.chroot else ["asterisk"]
        return [*base, "-C", conf, *args]


def installed_asterisk_major() -> int | None:
    """Major version of an Asterisk on PATH, or None when there is none."""
    binary = shutil.which("asterisk")
    if not binary:
        return None
    out = subprocess.run([binary, "-V"], capture_output=True, text=True, check=False).stdout
    match = re.search(r"Asterisk (\d+)", out)
    return int(match.group(1)) if match else None


def instance_for(settings: Settings) -> PbxInstance:
    """The instance this configuration runs (deterministic: every process computes the same)."""
    mode = settings.pbx.mode
    if mode not in {"auto", "installed", "sandbox"}:
        raise PbxError(f"[pbx] mode must be auto, installed or sandbox, not {mode!r}")
    major = installed_asterisk_major() if mode != "sandbox" else None
    if mode == "installed" and (major is None or major < MIN_ASTERISK_MAJOR):
        raise PbxError(f"[pbx] mode=installed but no Asterisk >= {MIN_ASTERISK_MAJOR} is on PATH")
    if major is not None and major >= MIN_ASTERISK_MAJOR:
        return PbxInstance(chroot=None, pbx_root=settings.data_dir / "pbx")
    name = hashlib.sha1(str(settings.data_dir).encode()).hexdigest()[:12]
    return PbxInstance(chroot=settings.pbx.sandbox_dir, pbx_root=Path("/srv/hotline") / name)


# --- the sandbox -------------------------------------------------------------------------

def sandbox_ready(root: Path) -> bool:
    if not (root / "usr/sbin/asterisk").exists():
        return False
    probe = subprocess.run(["chroot", str(root), "/usr/sbin/asterisk", "-V"],
                           capture_output=True, text=True, check=False)
    return probe.returncode == 0 and "Asterisk" in probe.stdout


def ensure_sandbox(root: Path, log: Path | None = None) -> None:
    """Build the sandbox chroot unless a working one is already there (about a minute)."""
    if sandbox_ready(root):
        return
    if not shutil.which("mmdebstrap"):
        raise PbxError("mmdebstrap is not installed; run `make setup` (apt-get install mmdebstrap)")
    building = root.with_name(root.name + ".building")
    shutil.rmtree(building, ignore_errors=True)
    shutil.rmtree(root, ignore_errors=True)
    building.parent.mkdir(parents=True, exist_ok=True)
    argv = ["mmdebstrap", "--variant=apt", "--aptopt=Acquire::Check-Valid-Until \"false\"",
            "--include=asterisk,tzdata", "sid", str(building)]
    with open(log or os.devnull, "ab") as out:
        if subprocess.run(argv, stdout=out, stderr=out, check=False).returncode != 0:
            raise PbxError(f"building the Asterisk sandbox failed; see {log}")
    building.rename(root)


def setup(settings: Settings) -> str:
    """Make sure an Asterisk can run: the installed one, or the sandbox (built if needed)."""
    inst = instance_for(settings)
    if inst.chroot is None:
        return f"using the installed Asterisk {installed_asterisk_major()}"
    settings.log_dir.mkdir(parents=True, exist_ok=True)
    ensure_sandbox(inst.chroot, settings.log_dir / "sandbox-build.log")
    return f"using the sandboxed Asterisk in {inst.chroot}"


def _prepare_chroot(root: Path) -> None:
    # Asterisk and PJSIP resolve the host name at start and on every call; without an
    # answer from /etc/hosts each look-up waits for DNS this machine may not have.
    host = socket.gethostname()
    (root / "etc/hosts").write_text(f"127.0.0.1 localhost {host}\n::1 localhost ip6-localhost\n")
    for sub in ("dev/null", "dev/urandom", "dev/random", "dev/zero"):
        if not (root / sub).exists():
            raise PbxError(f"the sandbox lacks /{sub}; delete {root} and run `hotline pbx up`")


def pbx_owner(inst: PbxInstance) -> tuple[int, int] | None:
    """(uid, gid) of PBX_USER as Asterisk's system knows it: the sandbox's own /etc/passwd
    and /etc/group, or this machine's. None when there is no such user."""
    if inst.chroot is None:
        try:
            return pwd.getpwnam(PBX_USER).pw_uid, grp.getgrnam(PBX_USER).gr_gid
        except KeyError:
            return None
    uid, gid = (_id_in(inst.chroot / "etc" / name) for name in ("passwd", "group"))
    return (uid, gid) if uid is not None and gid is not None else None


def _id_in(table: Path) -> int | None:
    """PBX_USER's id in an /etc/passwd or /etc/group file (the third field)."""
    for line in table.read_text().splitlines() if table.exists() else []:
        fields = line.split(":")
        if fields[0] == PBX_USER and len(fields) > 2 and fields[2].isdigit():
            return int(fields[2])
    return None


def _require_owner(inst: PbxInstance) -> tuple[int, int]:
    owner = pbx_owner(inst)
    if owner is None:
        where = f"the sandbox {inst.chroot}" if inst.chroot else "this machine"
        raise PbxError(f"{where} has no {PBX_USER!r} user and group for Asterisk to run as "
                       f"(Debian's asterisk package creates them; or: adduser --system "
                       f"--group {PBX_USER})")
    return owner


def grant_pbx(inst: PbxInstance) -> None:
    """Give the instance's folders to Asterisk's user: what it writes it owns, what it
    reads (configuration with the AMI and SIP secrets, sounds) stays root's, readable by its
    group only. Folders are set-group-id, so files the hotline adds later (a phone change's
    pjsip.conf, a synthesized sentence, a recording's folder) get the group too."""
    uid, gid = _require_owner(inst)
    _let_through(inst, gid)
    for name in _PBX_READS:
        _own_tree(inst.dir(name), (0, gid), 0o2750, 0o640)
    for name in _PBX_WRITES:
        _own_tree(inst.dir(name), (uid, gid), 0o750, 0o640)
    # Recordings: folders only (there are many files; a folder 0750 already keeps them in).
    _own_tree(inst.recordings_dir, (uid, gid), 0o2750, None)


def _let_through(inst: PbxInstance, gid: int) -> None:
    """The instance folder is root's and the PBX group's; the folders above it let
    Asterisk's user pass (never list: they keep other instances and the data folder)."""
    root = inst.host_root
    os.chown(root, 0, gid)
    root.chmod(0o2750)
    top = inst.chroot or Path("/")
    for parent in root.parents:
        if parent == top or top not in parent.parents:
            break
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            parent.chmod(stat.S_IMODE(mode) | stat.S_IXOTH)


def _own_tree(top: Path, owner: tuple[int, int], dir_mode: int, file_mode: int | None) -> None:
    """chown and chmod a folder tree; files too unless file_mode is None. Only folders
    and regular files: not the control socket, not the links to the system's data."""
    for folder, _dirs, files in os.walk(top):
        os.chown(folder, *owner)
        os.chmod(folder, dir_mode)
        paths = [os.path.join(folder, name) for name in files] if file_mode is not None else []
        for path in paths:
            if stat.S_ISREG(os.lstat(path).st_mode):
                os.chown(path, *owner)
                os.chmod(path, file_mode or 0)


def make_pbx_dirs(inst: PbxInstance, folder: Path) -> None:
    """mkdir -p of a folder Asterisk will write into (a recording's), owned by its user."""
    missing = [p for p in (folder, *folder.parents) if not p.exists()]
    folder.mkdir(parents=True, exist_ok=True)
    owner = pbx_owner(inst) if os.geteuid() == 0 else None
    if owner is not None:
        for path in missing:
            os.chown(path, *owner)


# --- configuration ---------------------------------------------------------------------

def render_config(settings: Settings, inst: PbxInstance, secrets: Secrets,
                  phones: Sequence[Phone] | None = None) -> None:
    """Copy the repo's asterisk-conf/ and dialplan/ into the instance and render site/
    (the phones from the phones table; without them, hotline.toml's seeds)."""
    etc = inst.dir("etc")
    for sub in ("etc/site", "etc/dialplan", "run", "log/cdr-custom", "spool", "lib", "cache",
                "recordings", "sounds"):
        (inst.host_root / sub).mkdir(parents=True, exist_ok=True)
    for conf in CONF_DIR.glob("*.conf"):
        shutil.copy2(conf, etc / conf.name)
    for stale in (etc / "dialplan").glob("*.conf"):
        stale.unlink()
    for conf in DIALPLAN_DIR.glob("*.conf"):
        shutil.copy2(conf, etc / "dialplan" / conf.name)
    (etc / "asterisk.conf").write_text(_asterisk_conf(inst))
    _link_data_dir(inst)
    for name, text in site_files(settings, inst, secrets, phones).items():
        write_atomic(etc / "site" / name, text)


def install_sounds(settings: Settings, inst: PbxInstance) -> None:
    """Mandarin prompts and hold music, where the dialplan and the bridge expect them."""
    from hotline import prompts

    prompts.build(settings.data_dir / "prompt-cache", settings.data_dir / "prompts" / "zh",
                  inst.sounds_dir / "zh")
    prompts.build_tones(inst.sounds_dir / "tones")
    prompts.build_hold_music(inst.sounds_dir / "moh")
    # What app_queue says to waiting callers names these files by path: rendered here.
    waiting.write_site_files(settings, inst.dir("etc") / "site", inst.pbx_root / "sounds" / "zh")


def _system_data_dir(inst: PbxInstance) -> str:
    host_base = inst.chroot or Path("/")
    return "/" + next((d for d in _DATA_DIRS if (host_base / d).is_dir()), _DATA_DIRS[0])


def _link_data_dir(inst: PbxInstance) -> None:
    """The instance's own Asterisk data folder: the system's, except sounds/, which is
    ours. Asterisk finds a few sounds only by name in sounds/<language>/ (the attended
    transfer's "pbx-transfer"), and no core sounds are installed; ours are in Mandarin."""
    data, system = inst.dir("astdata"), _system_data_dir(inst)
    data.mkdir(parents=True, exist_ok=True)
    wanted = {"sounds": inst.pbx_root / "sounds"}
    host_system = inst.to_host(system)
    if host_system.is_dir():
        wanted |= {e.name: Path(system) / e.name for e in host_system.iterdir()
                   if e.name != "sounds"}
    for name, target in wanted.items():
        link = data / name
        if link.is_symlink() and Path(os.readlink(link)) == target:
            continue
        if link.is_symlink():
            link.unlink()
        link.symlink_to(target)  # resolved by Asterisk, inside the sandbox when there is one


def _asterisk_conf(inst: PbxInstance) -> str:
    host_base = inst.chroot or Path("/")
    moddir = next((d for d in _MODULE_DIRS if (host_base / d).is_dir()), _MODULE_DIRS[0])
    root = inst.pbx_root
    values = {"ETC": root / "etc", "MODDIR": "/" + moddir, "DATADIR": _system_data_dir(inst),
              "OWNDATA": root / "astdata",
              "LIB": root / "lib", "SPOOL": root / "spool", "RUN": root / "run",
              "LOG": root / "log", "CACHE": root / "cache",
              "RUNUSER": PBX_USER, "RUNGROUP": PBX_USER}
    text = (CONF_DIR / "asterisk.conf.in").read_text()
    for key, value in values.items():
        text = text.replace(f"@{key}@", str(value))
    return text


def site_files(settings: Settings, inst: PbxInstance, secrets: Secrets,
               phones: Sequence[Phone] | None = None) -> dict[str, str]:
    """The few lines of Asterisk configuration that differ per site, from hotline.toml
    and the phones table (None: the phones hotline.toml seeds, with secrets' passwords)."""
    if phones is None:
        from hotline.db import phones as phones_db

        phones = phones_db.seed_rows(settings.pbx, secrets.phone_passwords)
    return {
        "pjsip.conf": render_pjsip(settings.pbx, phones),
        "manager.conf": _site_manager(settings, secrets),
        "extensions.conf": _site_extensions(settings, inst),
        "musiconhold.conf": _site_moh(inst),
        "rtp.conf": f"rtpstart = {settings.pbx.rtp_start}\nrtpend = {settings.pbx.rtp_end}\n",
    }


def _site_moh(inst: PbxInstance) -> str:
    return f"[default]\nmode = files\ndirectory = {inst.pbx_root / 'sounds' / 'moh'}\n"


def render_pjsip(pbx: PbxSettings, phones: Sequence[Phone]) -> str:
    """site/pjsip.conf: the transport, the carrier, and each enabled phone of the table."""
    out = ["; Rendered from hotline.toml and the phones table by `hotline pbx up` and on",
           "; every change of a phone (console, `hotline phones`). Do not edit.",
           "[transport-udp]", "type = transport", "protocol = udp",
           f"bind = {pbx.sip_bind}:{pbx.sip_port}", "",
           *_carrier(pbx.carrier_match)]
    for phone in sorted((p for p in phones if p.enabled), key=lambda p: p.extension):
        ext = phone.extension
        out += [f"[{ext}](staff-endpoint)", f"auth = {ext}", f"aors = {ext}",
                f"callerid = <{ext}>", "",
                f"[{ext}](staff-aor)", "",
                f"[{ext}](staff-auth)", f"username = {ext}",
                f"password = {phone.password}", ""]
    return "\n".join(out)


def _carrier(match: str) -> list[str]:
    """The carrier endpoint, found by its address; when that address is one host (not a
    network), also an AOR there, so Dial(PJSIP/<number>@carrier) reaches callers
    (dialplan/reply.conf)."""
    single_host = "/" not in match and "," not in match
    aor = ["[carrier]", "type = aor", f"contact = sip:{match}", ""] if single_host else []
    return ["[carrier](carrier-endpoint)", *(["aors = carrier"] if single_host else []), "",
            *aor, "[carrier]", "type = identify", "endpoint = carrier", f"match = {match}", ""]


def write_atomic(path: Path, text: str, mode: int = 0o640) -> None:
    """Replace path's content in one step: a reload never reads a half-written file.

    Site files hold the AMI and SIP secrets: root's, 0640, in the folder's group (the
    PBX's, see grant_pbx), so Asterisk reads them and cannot change its own configuration.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as handle:
        os.fchmod(fd, mode)  # O_CREAT's mode is cut by the umask; a left-over keeps its own
        group = path.parent.stat().st_gid
        if os.fstat(fd).st_gid != group:
            os.fchown(fd, -1, group)
        handle.write(text)
    tmp.replace(path)


def _site_manager(settings: Settings, secrets: Secrets) -> str:
    return "\n".join(["; Rendered from hotline.toml by `hotline pbx up`. Do not edit.",
                      "[general](+)", f"port = {settings.pbx.ami_port}", "",
                      f"[{AMI_USER}](bridge-user)", f"secret = {secrets.ami_secret}", "",
                      f"[{CONSOLE_AMI_USER}](console-user)",
                      f"secret = {console_ami_secret(secrets)}", ""])


def console_ami_secret(secrets: Secrets) -> str:
    """The console's AMI password, derived from the site's secret (nothing more to keep)."""
    return hmac.new(secrets.ami_secret.encode(), b"console-ami", hashlib.sha256).hexdigest()[:32]


def _site_extensions(settings: Settings, inst: PbxInstance) -> str:
    pbx, calls = settings.pbx, settings.calls
    lines = ["; Rendered from hotline.toml by `hotline pbx up`. Do not edit.", "[globals]",
             f"HOTLINE_AGI={pbx.agi_host}:{pbx.agi_port}",
             f"HOTLINE_RECORDINGS={inst.pbx_root / 'recordings'}",
             f"HOTLINE_SOUNDS={inst.pbx_root / 'sounds' / 'zh'}",
             f"HOTLINE_QUEUE_MAX_WAIT={calls.queue_max_wait}",
             f"HOTLINE_TRANSFER_RING={calls.transfer_ring_seconds}",
             f"HOTLINE_TWO_CHANNEL={'yes' if settings.recordings.two_channel else 'no'}",
             f"HOTLINE_MESSAGE_MAX_SECONDS={calls.message_max_seconds}", ""]
    return "\n".join(lines + office_hours_context(settings))


def office_hours_context(settings: Settings) -> list[str]:
    """[hotline-office-hours]: returns "open" inside office hours, for the fallback path."""
    tz = settings.hours.timezone
    out = ["; Office hours for the fallback path (no holidays: the bridge knows those).",
           "[hotline-office-hours]", "exten => s,1,NoOp()"]
    for season in SEASONS:
        months = season_month_range(season)
        for days, spans in _weekday_runs(settings, season):
            out += [f" same => n,GotoIfTime({_last_minute(span)},{days},*,{months},{tz}?open)"
                    for span in spans]
    out += [" same => n,Return(closed)", " same => n(open),Return(open)", ""]
    return out


def _weekday_runs(settings: Settings, season: str) -> list[tuple[str, tuple[str, ...]]]:
    """Monday to Friday grouped into runs of days with the same spans ("mon-thu", "fri").
    Weekends stay closed here: only the bridge knows which ones are make-up working days."""
    runs: list[tuple[list[str], tuple[str, ...]]] = []
    for weekday in range(5):
        spans = weekday_spans(settings.hours, season, weekday)
        if runs and runs[-1][1] == spans:
            runs[-1][0].append(WEEKDAY_KEYS[weekday])
        else:
            runs.append(([WEEKDAY_KEYS[weekday]], spans))
    return [(days[0] if len(days) == 1 else f"{days[0]}-{days[-1]}", spans)
            for days, spans in runs]


def _last_minute(span: str) -> str:
    # GotoIfTime ranges include their last minute: 08:00-12:00 would match 12:00:59.
    start, end = span.split("-")
    hours, minutes = (int(x) for x in end.split(":"))
    total = hours * 60 + minutes - 1
    return f"{start}-{total // 60:02d}:{total % 60:02d}"


# --- phones: the table, site/pjsip.conf, and a reload that keeps calls up ---------------

_PJSIP_LOCK = threading.Lock()  # one write-and-reload at a time in a process
SEATS_QUEUE = "seats"


def seed_phones(settings: Settings, secrets: Secrets) -> list[Phone]:
    """Every phone of the table, after adding those hotline.toml names and the table lacks
    (with an older site's passwords from secrets.toml). Migrates the database first."""
    from hotline.db import phones as phones_db
    from hotline.db.base import run_once
    from hotline.db.migrate import upgrade

    upgrade(settings.database_url)

    async def work(session: AsyncSession) -> list[Phone]:
        try:
            await phones_db.seed(session, settings.pbx, secrets.phone_passwords)
        except phones_db.PhoneError as exc:
            raise PbxError(f"hotline.toml {exc}") from None
        return await phones_db.list_phones(session)
    return run_once(settings.database_url, work)


def apply_phones(settings: Settings, phones: Sequence[Phone],
                 leave_queue: Sequence[str] = ()) -> None:
    """Render site/pjsip.conf from `phones` and have the running Asterisk reload PJSIP.

    A PJSIP reload leaves calls in progress up; a phone no longer in the file can place no
    new call, a new password is asked at the phone's next registration. Extensions in
    leave_queue are taken out of the seats queue (a disabled seat must stop ringing).
    Raises PbxError when the file cannot be written or Asterisk does not take it: the
    next `hotline pbx up` renders the same file from the table anyway.
    """
    site = instance_for(settings).dir("etc") / "site"
    if not site.is_dir():
        raise PbxError("the PBX has not been set up yet (hotline pbx up)")
    with _PJSIP_LOCK:
        write_atomic(site / "pjsip.conf", render_pjsip(settings.pbx, phones))
        # Through the control socket, not AMI: a reload is the system class, which no
        # AMI user has (asterisk-conf/manager.conf).
        out = cli(settings, "module reload res_pjsip.so")
        if "reloaded" not in out.lower():
            raise PbxError(f"Asterisk did not reload PJSIP: {out.strip()}")
    secret = console_ami_secret(load_or_create(settings))
    for ext in leave_queue:
        queue_remove(settings, secret, ext)


def queue_remove(settings: Settings, secret: str, extension: str) -> None:
    """Take a seat out of the seats queue; a seat that was not in it is fine."""
    try:
        ami_action(settings.pbx.ami_port, secret, {
            "Action": "QueueRemove", "Queue": SEATS_QUEUE, "Interface": f"PJSIP/{extension}"})
    except AmiRefused as exc:
        if "not there" not in str(exc).lower():
            raise


# `pjsip show contacts` abbreviates the statuses AMI spells out; the console shows these.
_CONTACT_STATUS = {"Avail": "Reachable", "Unavail": "Unreachable", "NonQual": "NonQualified"}
_CONTACT_LINE = re.compile(r"^\s*Contact:\s+([^/<\s]+)/\S+\s+\S+\s+(\S+)", re.M)


def registered_phones(settings: Settings) -> dict[str, str]:
    """Phones with a registered contact, and its status (Reachable, Unknown, ...).

    Asked through the control socket: AMI's PJSIPShowContacts needs the system class,
    and answers an error, not an empty list, when no phone is registered.
    """
    return contact_statuses(cli(settings, "pjsip show contacts"))


def contact_statuses(listing: str) -> dict[str, str]:
    """AOR -> status, from what `pjsip show contacts` prints ("No objects found." too)."""
    return {aor: _CONTACT_STATUS.get(status, status)
            for aor, status in _CONTACT_LINE.findall(listing)}


class AmiRefused(PbxError):
    """Asterisk answered an AMI action with an error; the message is Asterisk's."""


def ami_action(port: int, secret: str, action: dict[str, str],
               timeout: float = 10.0) -> list[dict[str, str]]:
    """One AMI action on loopback as the console's AMI user (secret: console_ami_secret),
    from a synchronous caller (the CLI, or the console through asyncio.to_thread): log in,
    act, log off.

    Returns the response, then the events a list action sends (up to its EventList:
    Complete). Raises AmiRefused for an error response, PbxError when AMI does not answer.
    An Originate must ring a staff phone or a Local channel into one of our own hotline-*
    contexts and continue there, never in an application (see check_originate).
    """
    check_originate(action)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            reader = sock.makefile("r", encoding="utf-8", newline="\r\n")
            reader.readline()  # banner
            login = _ami_exchange(sock, reader, {"Action": "Login", "Username": CONSOLE_AMI_USER,
                                                 "Secret": secret, "Events": "off"})
            if login[0].get("Response") != "Success":
                raise PbxError("AMI login refused: " + login[0].get("Message", ""))
            replies = _ami_exchange(sock, reader, action)
            sock.sendall(b"Action: Logoff\r\n\r\n")
    except OSError as exc:
        raise PbxError(f"AMI on port {port} does not answer: {exc}") from exc
    if replies[0].get("Response") == "Error":
        raise AmiRefused(f"{action['Action']}: {replies[0].get('Message', '')}")
    return replies


_ORIGINATE_CHANNEL = re.compile(r"^(PJSIP/[0-9]{1,20}|Local/[0-9A-Za-z]{1,20}@hotline-[a-z-]+)$")


def check_originate(action: dict[str, str]) -> None:
    """Refuse an Originate that is not the hotline's own: AMI's originate class alone lets
    a channel run any application; ours only ring a staff phone (or a Local channel) into
    a hotline-* context of dialplan/. Other actions pass."""
    fields = {k.lower(): v for k, v in action.items()}
    if fields.get("action", "").lower() != "originate":
        return
    if "application" in fields or "data" in fields:
        raise PbxError("Originate refused: the hotline never originates into an application")
    if not fields.get("context", "").startswith("hotline-"):
        raise PbxError(f"Originate refused: context {fields.get('context', '')!r} is not "
                       "one of the hotline's own (hotline-*)")
    if not _ORIGINATE_CHANNEL.match(fields.get("channel", "")):
        raise PbxError(f"Originate refused: channel {fields.get('channel', '')!r} is not a "
                       "staff phone or a Local channel into a hotline-* context")


def _ami_exchange(sock: socket.socket, reader: TextIO,
                  action: dict[str, str]) -> list[dict[str, str]]:
    action_id = f"hotline-{os.getpid()}-{time.monotonic_ns()}"
    sock.sendall("".join(f"{k}: {v}\r\n" for k, v in {**action, "ActionID": action_id}.items())
                 .encode() + b"\r\n")
    replies: list[dict[str, str]] = []
    while True:
        fields = _read_message(reader)
        if fields.get("ActionID") != action_id:
            continue  # an event nobody asked for
        replies.append(fields)
        listing = replies[0].get("EventList") == "start"
        if not listing or fields.get("EventList") == "Complete":
            return replies


def _read_message(reader: TextIO) -> dict[str, str]:
    """The next AMI message's fields; OSError when AMI hangs up."""
    fields: dict[str, str] = {}
    while True:
        line = reader.readline()
        if not line:
            raise OSError("AMI closed the connection")
        key, sep, value = line.rstrip("\r\n").partition(": ")
        if sep:
            fields[key] = value
        elif not line.strip() and fields:
            return fields


# --- running ---------------------------------------------------------------------------

def running_pid(settings: Settings) -> int | None:
    """The pid Asterisk wrote into its run folder, if that process is alive."""
    return live_pid(instance_for(settings).dir("run") / "asterisk.pid", "asterisk")


def process_uid(pid: int) -> int | None:
    """The real uid a process runs as (Asterisk's must not be 0), None if it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return None
    uid = next((line.split()[1] for line in status.splitlines() if line.startswith("Uid:")), "")
    return int(uid) if uid.isdigit() else None


def live_pid(pid_path: Path, name: str) -> int | None:
    """The pid in pid_path if that process runs and is `name` (pids get reused)."""
    try:
        pid = int(pid_path.read_text().strip())
        status = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ValueError):
        return None
    fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
    if fields.get("State", "").startswith("Z") or not fields.get("Name", "").startswith(name[:15]):
        return None
    return pid


def spawn_detached(argv: list[str], log: Path, cwd: Path | None = None) -> None:
    """Start a long-running process in its own session, not as our child: it outlives
    the command that started it, and writes its own pid file."""
    log.parent.mkdir(parents=True, exist_ok=True)
    # Its output names callers' channels: 0640, whatever the caller's own umask.
    with os.fdopen(os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640), "ab") as out:
        subprocess.run(["setsid", "-f", *argv], stdin=subprocess.DEVNULL, stdout=out,
                       stderr=out, cwd=cwd, check=True, umask=PRIVATE_UMASK)


def start(settings: Settings, timeout: float = 60.0) -> PbxInstance:
    """Provision if needed, render the configuration, start Asterisk, wait for FullyBooted."""
    inst = instance_for(settings)
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    settings.log_dir.mkdir(parents=True, exist_ok=True)
    if inst.chroot:
        ensure_sandbox(inst.chroot, settings.log_dir / "sandbox-build.log")
        _prepare_chroot(inst.chroot)
    secrets = load_or_create(settings)
    render_config(settings, inst, secrets, seed_phones(settings, secrets))
    install_sounds(settings, inst)
    keep_private(settings)
    grant_pbx(inst)
    if running_pid(settings) is None:
        spawn_detached(inst.command("-f"), settings.log_dir / "asterisk.out")
    else:
        cli(settings, "core reload")  # already running: take the freshly rendered files
    wait_fully_booted(settings.pbx.ami_port, secrets.ami_secret, timeout)
    return inst


def stop(settings: Settings, timeout: float = 20.0) -> bool:
    """Stop the instance's Asterisk; True when one was running."""
    pid_path = instance_for(settings).dir("run") / "asterisk.pid"
    return terminate(pid_path, "asterisk", timeout)


def terminate(pid_path: Path, name: str, timeout: float) -> bool:
    """SIGTERM the process of a pid file, SIGKILL it after timeout; True if one ran."""
    pid = live_pid(pid_path, name)
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and live_pid(pid_path, name):
        time.sleep(0.1)
    if live_pid(pid_path, name):
        os.kill(pid, signal.SIGKILL)
    pid_path.unlink(missing_ok=True)
    return True


def cli(settings: Settings, command: str) -> str:
    """Run one Asterisk CLI command on the running instance and return its output."""
    inst = instance_for(settings)
    done = subprocess.run(inst.command("-rx", command), capture_output=True, text=True,
                          check=False, timeout=30)
    if done.returncode != 0:
        raise PbxError(f"asterisk -rx {command!r} failed: {done.stderr.strip() or done.stdout}")
    return done.stdout


def wait_fully_booted(port: int, secret: str, timeout: float) -> None:
    """Log in to AMI and wait for Asterisk's FullyBooted event (sent on login once booted)."""
    deadline = time.monotonic() + timeout
    last_error = "no answer"
    while time.monotonic() < deadline:
        try:
            if ami_fully_booted(port, secret, max(0.5, deadline - time.monotonic())):
                return
            last_error = "logged in, but Asterisk has not finished booting"
        except OSError as exc:
            last_error = str(exc)
        time.sleep(0.3)
    raise PbxError(f"Asterisk did not report FullyBooted on AMI port {port}: {last_error}")


def ami_fully_booted(port: int, secret: str, timeout: float = 3.0) -> bool:
    """One AMI login on loopback; True when Asterisk says FullyBooted."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        reader = sock.makefile("r", encoding="utf-8", newline="\r\n")
        reader.readline()  # banner
        sock.sendall(f"Action: Login\r\nUsername: {AMI_USER}\r\nSecret: {secret}\r\n"
                     "Events: system\r\n\r\n".encode())
        for _ in range(50):
            block = _read_block(reader)
            if "Response: Error" in block:
                raise OSError("AMI login refused: " + block.split("Message: ")[-1].strip())
            if "Event: FullyBooted" in block:
                return True
        return False


def _read_block(reader: TextIO) -> str:
    lines: list[str] = []
    while True:
        line = reader.readline()
        if not line or line in ("\r\n", "\n"):
            return "".join(lines)
        lines.append(line)
