"""The PBX is not a way to root (issue 10), without starting Asterisk: AMI classes, the
user Asterisk runs as, the Originate the hotline may send, and the modes of what it writes.
tests/integration/test_pbx_security.py proves the same against the running Asterisk."""

from __future__ import annotations

import dataclasses
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import pbx
from hotline.secrets import PRIVATE_UMASK, Secrets, keep_private, load_or_create
from hotline.settings import REPO_ROOT, DatabaseSettings, PathsSettings, Settings
from pbx import ControlError, PbxInstance, reply_call_action

SECRETS = Secrets("ami-Secret-42", {"8001": "pw-8001"})
# Write classes that read or change configuration or run CLI commands: no AMI user of ours
# may have one. system (reloads, PJSIP's lists) only without originate: both together let
# an Originate run System().
POWERFUL = {"config", "command", "all"}
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")


def _user_options(user: str) -> dict[str, str]:
    text = (pbx.CONF_DIR / "manager.conf").read_text()
    body = text.split(f"[{user}](!)", 1)[1].split("\n[", 1)[0]
    return dict(re.findall(r"^(\w+)[ \t]*=[ \t]*(.*?)[ \t]*$", body, re.M))


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize(("user", "expected"), [
    ("bridge-user", {"call"}),  # Redirect at closing time
    ("console-user", {"call", "agent", "originate"}),  # transfers, queues, reply calls
    ("pjsip-user", {"system"}),  # ModuleLoad res_pjsip.so, PJSIPShowContacts (pbx/pjsip.py)
])
def test_ami_users_write_only_the_classes_their_code_uses(user: str,
                                                          expected: set[str]) -> None:
    write = set(_user_options(user)["write"].split(","))

    assert write == expected
    assert not write & POWERFUL
    assert not {"system", "originate"} <= write


def test_the_pjsip_user_reads_no_events() -> None:
    # The lists it asks for come to its session whatever its read classes; nothing else must.
    assert _user_options("pjsip-user")["read"] == ""


def test_every_ami_user_template_is_checked() -> None:
    text = (pbx.CONF_DIR / "manager.conf").read_text()

    assert set(re.findall(r"^\[([\w-]+)\]\(!\)", text, re.M)) == {
        "bridge-user", "console-user", "pjsip-user"}


def test_asterisk_conf_drops_root_and_keeps_the_control_socket_private(tmp_path: Path) -> None:
    inst = PbxInstance(chroot=None, pbx_root=tmp_path / "pbx")
    pbx.render_config(Settings(), inst, SECRETS)

    options = dict(re.findall(r"^(\w+)\s*=\s*(\S+)", (inst.dir("etc") / "asterisk.conf")
                              .read_text(), re.M))
    assert options["runuser"] == options["rungroup"] == pbx.PBX_USER
    assert options["live_dangerously"] == "no"
    assert options["astctlpermissions"] == "0660"
    assert options["astctlgroup"] == pbx.PBX_USER


def test_site_files_with_secrets_are_not_world_readable(tmp_path: Path) -> None:
    inst = PbxInstance(chroot=None, pbx_root=tmp_path / "pbx")
    pbx.render_config(Settings(), inst, SECRETS)

    for name in ("manager.conf", "pjsip.conf"):
        assert _mode(inst.dir("etc") / "site" / name) == 0o640, name


def test_write_atomic_sets_the_mode_whatever_was_left_over(tmp_path: Path) -> None:
    target = tmp_path / "pjsip.conf"
    leftover = tmp_path / f".pjsip.conf.{os.getpid()}.tmp"
    leftover.write_text("old")
    leftover.chmod(0o666)

    pbx.write_atomic(target, "new")

    assert target.read_text() == "new" and _mode(target) == 0o640


@pytest.mark.parametrize("action", [
    {"Action": "Originate", "Channel": "PJSIP/8001", "Application": "System",
     "Data": "id > /tmp/owned"},
    {"Action": "originate", "Channel": "PJSIP/8001", "application": "Wait", "Data": "1"},
    {"Action": "Originate", "Channel": "PJSIP/8001", "Context": "from-staff", "Exten": "8002",
     "Priority": "1"},
    {"Action": "Originate", "Channel": "PJSIP/8001&PJSIP/8002", "Context": "hotline-reply",
     "Exten": "s", "Priority": "1"},
    {"Action": "Originate", "Channel": "Local/1@from-carrier", "Context": "hotline-reply",
     "Exten": "s", "Priority": "1"},
])
async def test_an_originate_that_is_not_ours_is_refused_before_asterisk_sees_it(
        action: dict[str, str]) -> None:
    # Never connected: asking AMI would fail with "not logged in" instead.
    control = pbx.PbxControl(pbx.AmiClient("127.0.0.1", 9, "console", "secret"))
    with pytest.raises(pbx.ControlError, match="Originate refused"):
        await control.originate(action)


def test_the_reply_call_is_an_originate_the_hotline_allows() -> None:
    pbx.check_originate(reply_call_action("8001", "+8613900001111", "T-1", 7, 3))
    pbx.check_originate({"Action": "QueueStatus"})


@pytest.mark.parametrize(("ext", "number"), [
    ("8001", "139000011\n"),  # a line break would start a new AMI header
    ("8001", "1390&PJSIP/8002"),
    ("８００１", "13900001111"),  # full-width digits pass str.isdigit()
    ("8001;", "13900001111"),
])
def test_reply_call_refuses_odd_numbers(ext: str, number: str) -> None:
    with pytest.raises(ControlError):
        reply_call_action(ext, number, "T-1", 7, 3)


def test_pbx_owner_is_read_from_the_sandbox_own_tables(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/passwd").write_text(
        "root:x:0:0:root:/root:/bin/bash\nasterisk:x:105:107:Asterisk:/var/lib/asterisk:"
        "/usr/sbin/nologin\n")
    (tmp_path / "etc/group").write_text("root:x:0:\naudio:x:29:asterisk\nasterisk:x:107:\n")

    assert pbx.pbx_owner(PbxInstance(tmp_path, Path("/srv/hotline/x"))) == (105, 107)
    (tmp_path / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    assert pbx.pbx_owner(PbxInstance(tmp_path, Path("/srv/hotline/x"))) is None


@pytest.mark.skipif(pbx.pbx_owner(PbxInstance(None, Path("/x"))) is not None,
                    reason="this machine has an asterisk user")
def test_without_an_asterisk_user_the_pbx_does_not_start_as_root(tmp_path: Path) -> None:
    inst = PbxInstance(chroot=None, pbx_root=tmp_path / "pbx")
    pbx.render_config(Settings(), inst, SECRETS)

    with pytest.raises(pbx.PbxError, match=r"no 'asterisk' user .* adduser --system"):
        pbx.grant_pbx(inst)


@as_root
def test_grant_gives_asterisk_what_it_writes_and_only_lets_it_read_the_rest(
        tmp_path: Path) -> None:
    chroot = tmp_path / "sandbox"
    (chroot / "etc").mkdir(parents=True)
    (chroot / "etc/passwd").write_text("asterisk:x:4242:4343::/:/usr/sbin/nologin\n")
    (chroot / "etc/group").write_text("asterisk:x:4343:\n")
    inst = PbxInstance(chroot, Path("/srv/hotline/abc"))
    pbx.render_config(Settings(), inst, SECRETS)
    (inst.dir("log") / "messages.log").write_text("old, 0644\n")
    (inst.recordings_dir / "2026/11/30").mkdir(parents=True)

    pbx.grant_pbx(inst)

    site = inst.dir("etc") / "site" / "manager.conf"
    assert (site.stat().st_uid, site.stat().st_gid, _mode(site)) == (0, 4343, 0o640)
    for name in ("run", "log", "spool", "lib", "cache"):
        folder = inst.dir(name)
        assert (folder.stat().st_uid, _mode(folder)) == (4242, 0o750), name
    log = inst.dir("log") / "messages.log"
    assert (log.stat().st_uid, _mode(log)) == (4242, 0o640)
    day = inst.recordings_dir / "2026/11/30"
    assert (day.stat().st_uid, day.stat().st_gid, _mode(day) & 0o777) == (4242, 4343, 0o750)
    root = inst.host_root
    assert (root.stat().st_uid, root.stat().st_gid, _mode(root) & 0o777) == (0, 4343, 0o750)


@as_root
def test_folders_the_bridge_makes_for_asterisk_are_asterisk_s(tmp_path: Path) -> None:
    chroot = tmp_path / "sandbox"
    (chroot / "etc").mkdir(parents=True)
    (chroot / "etc/passwd").write_text("asterisk:x:4242:4343::/:/usr/sbin/nologin\n")
    (chroot / "etc/group").write_text("asterisk:x:4343:\n")
    inst = PbxInstance(chroot, Path("/srv/hotline/abc"))
    inst.recordings_dir.mkdir(parents=True)

    pbx.make_pbx_dirs(inst, inst.recordings_dir / "2026/12/01")

    for folder in ("2026", "2026/12", "2026/12/01"):
        assert (inst.recordings_dir / folder).stat().st_uid == 4242, folder
    assert inst.recordings_dir.stat().st_uid == 0  # what existed is left alone


def test_keep_private_tightens_what_an_older_version_left_open(tmp_path: Path) -> None:
    db = tmp_path / "hotline.db"
    settings = dataclasses.replace(Settings(), paths=PathsSettings(data_dir=tmp_path),
                                   database=DatabaseSettings(url=f"sqlite:///{db}"))
    load_or_create(settings)
    log = settings.log_dir / "bridge.log"
    settings.log_dir.mkdir(parents=True)
    for path in (db, db.with_name("hotline.db-wal"), log):
        path.write_text("")
        path.chmod(0o644)
    for path in (settings.data_dir / "secrets.toml", settings.data_dir, settings.log_dir):
        path.chmod(0o755 if path.is_dir() else 0o644)

    keep_private(settings)

    # Not listable by others; passable if it was (an installed Asterisk's way to data/pbx).
    assert _mode(settings.data_dir) == 0o751 and _mode(settings.log_dir) == 0o750
    assert _mode(settings.data_dir / "secrets.toml") == 0o600
    assert _mode(db) == 0o600 and _mode(db.with_name("hotline.db-wal")) == 0o600
    assert _mode(log) == 0o640


def test_processes_the_hotline_starts_get_the_private_umask(tmp_path: Path) -> None:
    out = tmp_path / "umask"
    pbx.spawn_detached(["sh", "-c", f"umask > {out}"], tmp_path / "spawn.log")
    for _ in range(50):
        if out.exists() and out.read_text().strip():
            break
        subprocess.run(["sleep", "0.1"], check=True)

    assert int(out.read_text(), 8) == PRIVATE_UMASK


# Each entry point as `python -m` runs it, with the work it would do replaced by a print of
# the umask in force: set before anything is written, inherited by what it starts.
SHOW_UMASK = "lambda *args: print(oct(os.umask(0))) or 0"
ENTRY_POINTS = {
    "hotline": f"from cli import main\nmain._run = {SHOW_UMASK}\nraise SystemExit(main.main([]))",
    "bridge": f"import runpy, ivr.main\nivr.main.main = {SHOW_UMASK}\n"
              "runpy.run_module('ivr', run_name='__main__')",
    "scheduler": f"import runpy, scheduler.main\nscheduler.main.main = {SHOW_UMASK}\n"
                 "runpy.run_module('scheduler', run_name='__main__')",
}


@pytest.mark.parametrize("name", sorted(ENTRY_POINTS))
def test_entry_points_set_the_private_umask(name: str) -> None:
    done = subprocess.run([sys.executable, "-c", "import os\n" + ENTRY_POINTS[name]],
                          capture_output=True, text=True, cwd=REPO_ROOT, check=False,
                          env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})

    assert done.stdout.split() == [oct(PRIVATE_UMASK)], done.stderr


def test_a_process_uid_is_read_from_proc() -> None:
    assert pbx.process_uid(os.getpid()) == os.getuid()
    child = subprocess.Popen(["true"])
    child.wait()
    assert pbx.process_uid(child.pid) is None
