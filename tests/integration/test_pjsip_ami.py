"""PJSIP through AMI as the unprivileged user the services run as (issue 16): a phone added
to the table is taken by the real Asterisk after a reload asked through AMI by a process
running as `hotline` (no root: the control socket refuses it), a SIPp phone then registers
with its password, and the registrations that process reads come from AMI too. A password
reset through pbx.apply_phones (what the console's phones page calls) takes effect the
same way."""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import pbx
from hotline.db import phones as phones_db
from hotline.db.base import session_scope
from hotline.settings import REPO_ROOT, Settings
from tests.integration import sipp
from tests.integration.conftest import PORTS, port

SERVICE_USER = "hotline"  # what `hotline service install` creates
EXTENSION = "8377"  # a phone of this module's own

pytestmark = pytest.mark.skipif(
    not shutil.which("setpriv") or not shutil.which("unshare") or os.geteuid() != 0,
    reason="needs root, setpriv and unshare")

# Run as the service user: what a part installed as a service may do with the PBX.
AS_SERVICE = """
import json, socket, sys
import pbx
from hotline.settings import load_settings
settings = load_settings()
try:  # Asterisk's control socket (what pbx.cli speaks through asterisk -rx)
    socket.socket(socket.AF_UNIX).connect(sys.argv[2])
    control_socket = "open"
except PermissionError:
    control_socket = "refused"
if sys.argv[1] == "reload":
    pbx.reload_pjsip(settings)
print(json.dumps({"control_socket": control_socket,
                  "registered": pbx.registered_phones(settings),
                  "trunks": pbx.trunk_registrations(settings)}))  # hotline status's
"""


@pytest.fixture(scope="module")
def service_user() -> str:
    try:
        pwd.getpwnam(SERVICE_USER)
    except KeyError:
        pytest.skip(f"no system user {SERVICE_USER!r} (hotline service install makes it)")
    return SERVICE_USER


@pytest.fixture
def service_config(settings: Settings, service_user: str) -> Iterator[Path]:
    """A data folder of the service user's with the site's secrets, and a hotline.toml that
    points at the running PBX: what the service user reads when installed."""
    data = Path(tempfile.mkdtemp(prefix="ctl-pjsip-ami-"))
    try:
        shutil.copy(settings.data_dir / "secrets.toml", data / "secrets.toml")
        config = data / "hotline.toml"
        config.write_text(f'[paths]\ndata_dir = "{data}"\n[pbx]\n'
                          f'ami_port = {settings.pbx.ami_port}\n'
                          f'sip_port = {settings.pbx.sip_port}\n')
        user = pwd.getpwnam(service_user)
        for path in (data, data / "secrets.toml", config):
            os.chown(path, user.pw_uid, user.pw_gid)
        yield config
    finally:
        shutil.rmtree(data, ignore_errors=True)


def as_service(config: Path, *args: str) -> dict[str, object]:
    """AS_SERVICE run as the service user in a mount namespace of its own. This machine's
    Python lives in root's home (pyenv); the namespace passes that one folder through, as
    tests/integration/test_services.py does (a court's venv uses Debian's Python)."""
    python = Path(sys.executable).resolve()
    reach = ""
    if Path("/root") in python.parents:
        top = Path("/root") / python.relative_to("/root").parts[0]
        hold = config.parent / "python-home"
        hold.mkdir(exist_ok=True)
        reach = (f"mount --bind {top} {hold} && mount -t tmpfs -o mode=0711 tmpfs /root && "
                 f"mkdir -p {top} && mount --move {hold} {top} && ")
    user = pwd.getpwnam(SERVICE_USER)
    run = (f"mount --make-rprivate / && {reach}exec setpriv --reuid={user.pw_uid} "
           f"--regid={user.pw_gid} --clear-groups --inh-caps=-all "
           f"{sys.executable} -c \"$0\" \"$@\"")
    done = subprocess.run(["unshare", "-m", "sh", "-c", run, AS_SERVICE, *args],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
                          env={"PATH": os.environ["PATH"], "HOTLINE_CONFIG": str(config),
                               "HOME": "/nonexistent"})
    assert done.returncode == 0, done.stderr[-2000:]
    answer: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer


async def write_pjsip(settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> None:
    """site/pjsip.conf from the table, as the console writes it, without the reload."""
    async with session_scope(sessions) as db:
        rows = await phones_db.list_phones(db)
    pbx.write_atomic(pbx.instance_for(settings).dir("etc") / "site" / "pjsip.conf",
                     pbx.render_pjsip(settings.pbx, rows))


async def test_a_phone_change_reloads_asterisk_through_ami_without_root(
        asterisk: pbx.PbxInstance, settings: Settings, service_config: Path,
        sessions: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    async with session_scope(sessions) as db:
        phone = await phones_db.add_phone(db, EXTENSION, "seat", "pjsip-ami test")
    target = f"127.0.0.1:{PORTS['sip']}"
    try:
        await write_pjsip(settings, sessions)
        ctl = str(asterisk.dir("run") / "asterisk.ctl")
        assert stat.S_ISSOCK(os.stat(ctl).st_mode)
        before = as_service(service_config, "reload", ctl)

        assert before["control_socket"] == "refused"  # truly without the control socket
        assert EXTENSION not in before["registered"]  # type: ignore[operator]
        assert before["trunks"] == {}  # this PBX's carrier is matched by address
        with sipp.Phone(EXTENSION, phone.password, target=target, port=port(25391),
                        media_port=port(26390), workdir=tmp_path):
            after = as_service(service_config, "list", ctl)
        assert EXTENSION in after["registered"]  # type: ignore[operator]

        # The console's own call (pbx.apply_phones): the reset password is Asterisk's now.
        async with session_scope(sessions) as db:
            reset = await phones_db.reset_password(db, EXTENSION)
            rows = await phones_db.list_phones(db)
        await asyncio.to_thread(pbx.apply_phones, settings, rows)
        old = sipp.Phone(EXTENSION, phone.password, target=target, port=port(25393),
                         media_port=port(26392), workdir=tmp_path)
        with pytest.raises(AssertionError, match="could not register"):
            old.register()
        sipp.Phone(EXTENSION, reset.password, target=target, port=port(25393),
                   media_port=port(26392), workdir=tmp_path).register(expires=0)
    finally:
        async with session_scope(sessions) as db:
            await phones_db.set_enabled(db, EXTENSION, False)
            rows = await phones_db.list_phones(db)
        await asyncio.to_thread(pbx.apply_phones, settings, rows)
