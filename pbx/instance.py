"""Where Asterisk lives: find or provision it, and give its folders to its own user.

An installed Asterisk (>= 20) is preferred. Otherwise the sandbox is used: Debian unstable's
``asterisk`` package in an mmdebstrap chroot, built once per machine and shared by every
instance. Each instance (the demo, a test run, production) has its own folder of etc, run,
log, spool and recordings; inside the sandbox that folder is /srv/hotline/<name>, so the
same path differs between what Asterisk sees and what the host sees (see PbxInstance).
"""

from __future__ import annotations

import dataclasses
import functools
import grp
import hashlib
import os
import pwd
import re
import shutil
import socket
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

from hotline.settings import REPO_ROOT, Settings

CONF_DIR = REPO_ROOT / "asterisk-conf"
DIALPLAN_DIR = REPO_ROOT / "dialplan"
MIN_ASTERISK_MAJOR = 20
# Asterisk runs as this user and group, never as root: Debian's asterisk package creates
# both, in the sandbox and on a server with an installed Asterisk.
PBX_USER = "asterisk"
# Asterisk writes in these instance folders: they are its own. It only reads the others.
_PBX_WRITES = ("run", "log", "spool", "lib", "cache")
_PBX_READS = ("etc", "sounds", "astdata")


class PbxError(RuntimeError):
    """The PBX could not be provisioned, started or reached; the message says why."""


@dataclass(frozen=True)
class PbxInstance:
    """Where one Asterisk instance lives, as the host sees it and as Asterisk sees it."""

    chroot: Path | None  # None: an installed Asterisk, paths are the same on both sides
    pbx_root: Path  # the instance folder as Asterisk sees it
    # a cluster's shared recordings folder ([cluster] recordings_dir) as the host sees it;
    # None: the instance's own recordings folder
    shared_recordings: Path | None = None

    # The folders are worked out once: the bridge asks for them at every call and prompt
    # (pathlib's joins cost it more CPU than anything else it did with a path).
    @functools.cached_property
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

    @functools.cached_property
    def recordings_dir(self) -> Path:
        """Where the recordings are, as the host sees it."""
        return self.shared_recordings or self.dir("recordings")

    @functools.cached_property
    def pbx_recordings_dir(self) -> Path:
        """... and as Asterisk sees it (the dialplan's HOTLINE_RECORDINGS)."""
        return self.to_pbx(self.recordings_dir)

    @functools.cached_property
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
    return _major_of(binary) if binary else None


@functools.cache
def _major_of(binary: str) -> int | None:
    """`asterisk -V`, once per binary and process: instance_for() asks on every use (the
    bridge's ban list every second, the console's every recording), and each run is a
    process started (6.5 ms of CPU for Debian's Asterisk 22)."""
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
        return _with_shared_recordings(
            settings, PbxInstance(chroot=None, pbx_root=settings.data_dir / "pbx"))
    name = hashlib.sha1(str(settings.data_dir).encode()).hexdigest()[:12]
    return _with_shared_recordings(settings, PbxInstance(
        chroot=settings.pbx.sandbox_dir, pbx_root=Path("/srv/hotline") / name))


def _with_shared_recordings(settings: Settings, inst: PbxInstance) -> PbxInstance:
    """[cluster] recordings_dir, when set: every node's Asterisk records into the share and
    every part reads it there. The sandboxed Asterisk sees nothing outside its chroot, so
    the share must be mounted inside it."""
    shared = settings.cluster.recordings_dir
    if not shared:
        return inst
    folder = Path(shared)
    if inst.chroot is not None and not folder.is_relative_to(inst.chroot):
        raise PbxError(f"[cluster] recordings_dir {folder} is outside the Asterisk sandbox "
                       f"{inst.chroot}, where Asterisk cannot write: mount the share under "
                       f"it (e.g. {inst.chroot / 'srv' / 'recordings'}) and name that "
                       "folder, or install Asterisk on the node ([pbx] mode = installed)")
    return dataclasses.replace(inst, shared_recordings=folder)


LOOPBACK = "127.0.0.1"


def ami_host(settings: Settings) -> str:
    """The address this host's Asterisk takes AMI connections on, and so the one its own
    bridge, console and CLI dial: loopback on a single server; on a node of a cluster
    ([cluster] node), the node's address, where the console of any node reaches it too
    (Asterisk's AMI listens on one address only; pbx.config renders it)."""
    return settings.cluster.addresses().get(settings.cluster.node, LOOPBACK)


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


def prepare_chroot(root: Path) -> None:
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


def grant_pbx(inst: PbxInstance, staff_uid: int | None = None) -> None:
    """Give the instance's folders to Asterisk's user: what it writes it owns, what it
    reads (configuration with the AMI and SIP secrets, sounds) stays root's, readable by its
    group only. Folders are set-group-id, so files the hotline adds later (a phone change's
    pjsip.conf, a synthesized sentence, a recording's folder) get the group too.

    staff_uid: the unprivileged user the hotline's own parts run as (installed as services,
    in the PBX group): it owns etc/site, which the console rewrites, and may write in the
    recordings (the bridge makes a call's folder, the scheduler transcodes and deletes)."""
    uid, gid = _require_owner(inst)
    _let_through(inst, gid)
    for name in _PBX_READS:
        _own_tree(inst.dir(name), (0, gid), 0o2750, 0o640)
    for name in _PBX_WRITES:
        _own_tree(inst.dir(name), (uid, gid), 0o750, 0o640)
    # Recordings: folders only (there are many files; a folder 0750 already keeps them in).
    _own_tree(inst.recordings_dir, (uid, gid), 0o2770 if staff_uid else 0o2750, None)
    if staff_uid:
        _own_tree(inst.dir("etc") / "site", (staff_uid, gid), 0o2750, 0o640)


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
    for path in missing:
        if owner is not None:
            os.chown(path, *owner)
        else:  # the bridge as the services' unprivileged user: Asterisk writes in it
            path.chmod(0o2770)

