"""The PBX is not a way to root (issue 10), against the running Asterisk: what each AMI user
cannot do and still can, the user Asterisk runs as, the number shapes the dialplan lets
through to Dial, the modes of everything the hotline writes; and `hotline phones list`
seeing what `pjsip show contacts` sees (issue 18)."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import stat
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import pbx
from cli import health
from hotline.secrets import load_or_create
from hotline.settings import Settings
from tests.integration import sipp
from tests.integration.conftest import (
    PORTS,
    BridgeProcess,
    phone_password,
    port,
    wait_for,
)
from tests.integration.test_walking_skeleton import place_call, recording_done, set_mode, wait_call

Act = Callable[[dict[str, str]], dict[str, str]]
SECRETS_OF = {pbx.names.AMI_USER: lambda s: load_or_create(s).ami_secret,
              pbx.names.CONSOLE_AMI_USER: lambda s: pbx.console_ami_secret(load_or_create(s)),
              pbx.names.PJSIP_AMI_USER: lambda s: pbx.pjsip_ami_secret(load_or_create(s))}
CALLER = "13600000777"


@contextmanager
def ami_as(settings: Settings, user: str) -> Iterator[Act]:
    """A raw AMI session as one of our users: no client-side check between the test and
    Asterisk (pbx.PbxControl refuses some of these before sending them)."""
    with socket.create_connection(("127.0.0.1", settings.pbx.ami_port), timeout=10) as sock:
        reader = sock.makefile("r", encoding="utf-8", newline="\r\n")
        reader.readline()  # banner
        sequence = iter(range(1, 1000))

        def act(fields: dict[str, str]) -> dict[str, str]:
            action_id = f"security-{next(sequence)}"
            sock.sendall("".join(f"{k}: {v}\r\n" for k, v in
                                 {**fields, "ActionID": action_id}.items()).encode() + b"\r\n")
            while True:
                message = _message(reader)
                if message.get("ActionID") == action_id and "Response" in message:
                    return message

        login = act({"Action": "Login", "Username": user,
                     "Secret": SECRETS_OF[user](settings), "Events": "off"})
        assert login["Response"] == "Success", login
        yield act


def _message(reader: object) -> dict[str, str]:
    fields: dict[str, str] = {}
    while True:
        line = reader.readline()  # type: ignore[attr-defined]
        assert line, "AMI closed the connection"
        key, sep, value = line.rstrip("\r\n").partition(": ")
        if sep:
            fields[key] = value
        elif not line.strip() and fields:
            return fields


def forbidden(marker: Path, user: str) -> list[dict[str, str]]:
    """What no AMI user of ours may do: run a shell command, read or change configuration
    (GetConfig pjsip.conf holds the phones' passwords), run CLI commands; and, but for the
    PJSIP user (class system, pbx/pjsip.py), reload or list the registrations."""
    always = [
        {"Action": "Originate", "Channel": "Local/s@hotline-reply", "Application": "System",
         "Data": f"touch {marker}", "Async": "true"},
        {"Action": "GetConfig", "Filename": "site/pjsip.conf"},
        {"Action": "UpdateConfig", "SrcFilename": "manager.conf", "DstFilename": "manager.conf",
         "Action-000000": "Append", "Cat-000000": "console-user", "Var-000000": "write",
         "Value-000000": "all", "Reload": "yes"},
        {"Action": "Command", "Command": "core show version"},
    ]
    if user == pbx.names.PJSIP_AMI_USER:
        return always
    return [*always, {"Action": "Reload", "Module": "manager"},
            {"Action": "ModuleLoad", "Module": "res_pjsip.so", "LoadType": "reload"},
            {"Action": "PJSIPShowContacts"}]


@pytest.mark.parametrize("user", [pbx.names.AMI_USER, pbx.names.CONSOLE_AMI_USER,
                                  pbx.names.PJSIP_AMI_USER])
def test_ami_users_cannot_reach_the_shell_or_the_configuration(
        asterisk: pbx.PbxInstance, settings: Settings, user: str) -> None:
    marker = Path(f"/tmp/hotline-owned-by-{user}-{os.getpid()}")
    with ami_as(settings, user) as act:
        refused = {fields["Action"]: act(fields) for fields in forbidden(marker, user)}

    for action, reply in refused.items():
        assert reply["Response"] == "Error", (user, action, reply)
    time.sleep(1)
    assert not asterisk.to_host(marker).exists()


def test_each_ami_user_can_still_do_its_work(asterisk: pbx.PbxInstance,
                                            settings: Settings) -> None:
    # A refusal for want of a class says "Permission denied"; these fail, if at all, only
    # because there is no such channel: the class was granted.
    with ami_as(settings, pbx.names.AMI_USER) as bridge:
        assert bridge({"Action": "QueueStatus", "Queue": "seats"})["Response"] == "Success"
        redirect = bridge({"Action": "Redirect", "Channel": "PJSIP/none-00000000",
                           "Context": "hotline-queue", "Exten": "s", "Priority": "1"})
        assert "permission" not in redirect.get("Message", "").lower(), redirect
    with ami_as(settings, pbx.names.CONSOLE_AMI_USER) as console:
        member = {"Queue": "seats", "Interface": "PJSIP/8099"}
        assert console({"Action": "QueueAdd", **member, "Paused": "true"})["Response"] == \
            "Success"
        assert console({"Action": "QueuePause", **member, "Paused": "false"})["Response"] == \
            "Success"
        assert console({"Action": "QueueRemove", **member})["Response"] == "Success"
        for action in ("BlindTransfer", "Atxfer", "Hangup"):
            reply = console({"Action": action, "Channel": "PJSIP/none-00000000",
                             "Exten": "8101", "Context": "hotline-transfer"})
            assert "permission" not in reply.get("Message", "").lower(), (action, reply)
    with ami_as(settings, pbx.names.PJSIP_AMI_USER) as pjsip:
        assert pjsip({"Action": "ModuleLoad", "Module": "res_pjsip.so",
                      "LoadType": "reload"})["Message"] == "Module reloaded."
        contacts = pjsip({"Action": "PJSIPShowContacts"})  # an Error when there are none
        assert "permission" not in contacts.get("Message", "").lower(), contacts


def test_asterisk_runs_unprivileged_and_root_keeps_its_control_socket(
        asterisk: pbx.PbxInstance, settings: Settings) -> None:
    pid = pbx.running_pid(settings)
    assert pid is not None
    status = dict(line.split(":\t", 1) for line in
                  Path(f"/proc/{pid}/status").read_text().splitlines() if ":\t" in line)
    uids, gids = status["Uid"].split(), status["Gid"].split()
    assert "0" not in uids and "0" not in gids, status["Uid"]
    assert (int(uids[0]), int(gids[0])) == pbx.pbx_owner(asterisk)
    assert health.pbx_problems(settings) == []
    ctl = asterisk.dir("run") / "asterisk.ctl"
    assert stat.S_IMODE(ctl.stat().st_mode) == 0o660
    assert "Asterisk 2" in pbx.cli(settings, "core show version")


@pytest.mark.parametrize(("context", "channel", "refusal"), [
    ("transfer", "Local/8101&8102@hotline-transfer", "hotline-transfer refused"),
    ("consult", "Local/8101&8102@hotline-consult", "hotline-consult refused"),
    ("reply", "Local/s@hotline-reply", "hotline-reply refused"),
])
def test_the_dialplan_dials_only_number_shapes_it_expects(
        asterisk: pbx.PbxInstance, settings: Settings, context: str, channel: str,
        refusal: str) -> None:
    messages = asterisk.dir("log") / "messages.log"
    before = messages.read_text() if messages.exists() else ""
    # The reply call reads its number from a channel variable: set as a global here, which
    # the dialplan reads the same way when the channel has none.
    pbx.cli(settings, 'dialplan set global HOTLINE_REPLY_NUMBER 1390&PJSIP/8102')
    try:
        with ami_as(settings, pbx.names.CONSOLE_AMI_USER) as act:
            reply = act({"Action": "Originate", "Channel": channel, "Application": "Wait",
                         "Data": "1", "Timeout": "3000", "Async": "true"})
        assert reply["Response"] == "Success", reply
        wait_for(lambda: refusal in messages.read_text()[len(before):], timeout=10)
    finally:
        pbx.cli(settings, "dialplan set global HOTLINE_REPLY_NUMBER none")
    assert "PJSIP/8102" not in pbx.cli(settings, "core show channels concise")


async def test_what_the_hotline_writes_is_its_owner_s_only(
        bridge: BridgeProcess, asterisk: pbx.PbxInstance, settings: Settings,
        sessions: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    # A call makes Asterisk write its recording and a CDR line (full caller numbers).
    await set_mode(sessions, "closed")
    result = await place_call(settings, sipp.speak(3), tmp_path, caller=CALLER)
    assert result.returncode == 0, result.output
    await wait_call(sessions, recording_done, caller=CALLER)

    data = settings.data_dir
    assert _mode(data) == 0o750
    assert _mode(data / "secrets.toml") == 0o600
    for db in ("hotline.db", "hotline.db-wal", "hotline.db-shm"):
        assert not (data / db).exists() or _mode(data / db) == 0o600, db
    assert _mode(settings.log_dir) == 0o750
    # (*-test.out: the output of the processes the test fixtures start themselves)
    assert [p.name for p in settings.log_dir.iterdir()
            if _mode(p) & 0o037 and not p.name.endswith("-test.out")] == []
    uid, gid = pbx.pbx_owner(asterisk) or (-1, -1)
    for name in ("manager.conf", "pjsip.conf"):
        site = asterisk.dir("etc") / "site" / name
        assert (site.stat().st_uid, site.stat().st_gid, _mode(site)) == (0, gid, 0o640), name
    assert _mode(asterisk.host_root) & 0o007 == 0
    recordings = asterisk.recordings_dir
    assert (recordings.stat().st_uid, _mode(recordings) & 0o777) == (uid, 0o750)
    assert asterisk.cdr_file.exists() and _mode(asterisk.cdr_file) == 0o640
    assert _mode(asterisk.cdr_file.parent) == 0o750
    for top in (recordings, asterisk.dir("log")):
        open_to_others = [str(p) for p in top.rglob("*") if _mode(p) & 0o007]
        assert open_to_others == [], open_to_others


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_phones_list_sees_the_registrations_pjsip_shows(
        asterisk: pbx.PbxInstance, settings: Settings, hotline_cli: object,
        sessions: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    # No phone registered: an answer ("-" for each phone), not "the PBX is not running".
    pbx.cli(settings, "database deltree registrar/contact")
    # (the carrier's contact is configured, not registered: AMI did not list it)
    assert not re.search(r"Contact:\s+[0-9]+/", pbx.cli(settings, "pjsip show contacts"))
    listed = hotline_cli("phones", "list")  # type: ignore[operator]
    assert listed.returncode == 0 and "registration unknown" not in listed.stderr, \
        listed.stderr
    assert _status(listed.stdout, "8003") == "-"

    with sipp.Phone("8003", await phone_password(sessions, "8003"),
                    target=f"127.0.0.1:{PORTS['sip']}", port=port(25095),
                    media_port=port(26400), workdir=tmp_path):
        await asyncio.to_thread(wait_for, lambda: pbx.registered_phones(settings)
                                .get("8003") == "Reachable", 40.0)
        listed = hotline_cli("phones", "list")  # type: ignore[operator]

    assert "registration unknown" not in listed.stderr, listed.stderr
    assert _status(listed.stdout, "8003") == "Reachable"


def _status(listing: str, extension: str) -> str:
    [line] = [line for line in listing.splitlines() if line.startswith(extension + " ")]
    return line.split()[3]
