"""Asterisk as a process: is it running, as whom, start it detached, stop it, ask it
(the control socket, and AMI for whether it has finished booting)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from hotline.secrets import PRIVATE_UMASK, load_or_create
from hotline.settings import Settings
from pbx.instance import PbxError, ami_host, instance_for
from pbx.names import AMI_USER


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


def booted(settings: Settings, timeout: float = 3.0) -> bool:
    """True when Asterisk answers on AMI and says it has finished booting (FullyBooted,
    which Asterisk sends on login once it has); False when it answers but is still
    booting. Raises PbxError when AMI does not let us in within timeout."""
    import asyncio  # with panoramisk, only when Asterisk runs: `hotline status` starts fast

    return asyncio.run(_booted(settings, timeout))


async def _booted(settings: Settings, timeout: float) -> bool:
    import asyncio

    from pbx.ami import AmiClient, AmiError

    ami = AmiClient(ami_host(settings), settings.pbx.ami_port, AMI_USER,
                    load_or_create(settings).ami_secret, reconnect_delay=0.3)
    said = asyncio.Event()

    async def fully_booted(_event: object) -> None:
        said.set()
    ami.on_event("FullyBooted", fully_booted)
    started = time.monotonic()
    try:
        await ami.connect(wait=timeout)
        remaining = max(0.2, timeout - (time.monotonic() - started))
        async with asyncio.timeout(remaining):
            await said.wait()
        return True
    except AmiError as exc:
        raise PbxError(str(exc)) from None
    except TimeoutError:
        return False
    finally:
        await ami.close()


def wait_booted(settings: Settings, timeout: float) -> None:
    """Wait until Asterisk reports FullyBooted on AMI; PbxError after timeout."""
    deadline = time.monotonic() + timeout
    last_error = "no answer"
    while time.monotonic() < deadline:
        try:
            if booted(settings, max(0.5, deadline - time.monotonic())):
                return
            last_error = "logged in, but Asterisk has not finished booting"
        except PbxError as exc:
            last_error = str(exc)
        time.sleep(0.3)
    raise PbxError(f"Asterisk did not report FullyBooted on AMI port "
                   f"{settings.pbx.ami_port}: {last_error}")
