"""The real thing: Asterisk with the repo's own asterisk-conf/ and dialplan/, the bridge as
its own process, SIPp callers, a real database.

Integration runs use their own ports and data folder, so they never disturb a hotline
started with `make run` on the same machine.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import pbx
from cli import health
from hotline.db import phones as phones_db
from hotline.db.base import make_engine, make_sessionmaker, session_scope
from hotline.db.migrate import upgrade
from hotline.settings import REPO_ROOT, Settings, load_settings

# Two runs on one machine (two developers, or a test run beside another) keep apart by
# setting HOTLINE_TEST_PORT_OFFSET (e.g. 100, 200): every port below moves by it.
OFFSET = int(os.environ.get("HOTLINE_TEST_PORT_OFFSET", "0"))


def port(base: int) -> int:
    """A local port for a test's SIPp phone or caller, moved by the run's offset."""
    return base + OFFSET


PORTS = {name: port(base) for name, base in
         {"sip": 25060, "carrier": 25070, "ami": 25038, "agi": 24573, "console": 28368}.items()}
MEDIA_PORT = port(26000)

CONFIG = """
[paths]
data_dir = "{data}"
[pbx]
sip_port = {sip}
carrier_match = "127.0.0.1:{carrier}"
ami_port = {ami}
agi_port = {agi}
rtp_start = {rtp_start}
rtp_end = {rtp_end}
[calls]
queue_max_wait = 15
message_max_seconds = 10
closing_check_seconds = 2
transfer_ring_seconds = 6
[cases]
lockout_failures = 3
[console]
port = {console}
"""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "integration" in str(item.path):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def config_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("hotline-data")
    path = data / "hotline.toml"
    path.write_text(CONFIG.format(data=data, rtp_start=30000 + OFFSET,
                                   rtp_end=30999 + OFFSET, **PORTS))
    return path


@pytest.fixture(scope="session")
def settings(config_file: Path) -> Settings:
    return load_settings(env={}, config_path=config_file)


@pytest.fixture(scope="session")
def env(config_file: Path) -> dict[str, str]:
    return {**os.environ, "HOTLINE_CONFIG": str(config_file)}


@pytest.fixture(scope="session")
def asterisk(settings: Settings) -> Iterator[pbx.PbxInstance]:
    upgrade(settings.database_url)
    inst = pbx.start(settings)
    yield inst
    pbx.stop(settings)


class BridgeProcess:
    """The bridge as `hotline up` runs it: `python -m ivr`, its own process (netns: inside
    that network namespace, as a cluster node's, tests/integration/test_cluster.py)."""

    def __init__(self, settings: Settings, env: dict[str, str], netns: str = "") -> None:
        self.settings, self.env, self.netns = settings, env, netns
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = open(self.settings.log_dir / "bridge-test.out", "ab")  # noqa: SIM115
        prefix = ["ip", "netns", "exec", self.netns] if self.netns else []
        self.proc = subprocess.Popen([*prefix, sys.executable, "-m", "ivr"], cwd=REPO_ROOT,
                                     env=self.env, stdout=log, stderr=log)
        log.close()
        health.wait_bridge_healthy(self.settings, timeout=30)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=20)
        self.proc = None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


@pytest.fixture(scope="session")
def bridge_process(asterisk: pbx.PbxInstance, settings: Settings,
                   env: dict[str, str]) -> Iterator[BridgeProcess]:
    bridge = BridgeProcess(settings, env)
    bridge.start()
    yield bridge
    bridge.stop()
    # Handlers log what they could not do and carry on, so a swallowed failure would
    # pass every other check: the whole run's log must be free of errors.
    errors = [line for line in (settings.log_dir / "bridge.log").read_text().splitlines()
              if " ERROR " in line]
    assert not errors, "the bridge logged errors:\n" + "\n".join(errors)


@pytest.fixture
def bridge(bridge_process: BridgeProcess) -> BridgeProcess:
    """The bridge, running (a test that stopped it leaves it to be started again here)."""
    if not bridge_process.running:
        bridge_process.start()
    return bridge_process


@pytest.fixture(scope="session")
def console(asterisk: pbx.PbxInstance, settings: Settings, env: dict[str, str]) -> Iterator[None]:
    """The web console as `hotline up` runs it: its own process."""
    log = open(settings.log_dir / "console-test.out", "ab")  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, "-m", "cli", "console"], cwd=REPO_ROOT,
                            env=env, stdout=log, stderr=log)
    log.close()
    try:
        health.wait_console_healthy(settings)
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture(scope="session")
def scheduler(asterisk: pbx.PbxInstance, settings: Settings, env: dict[str, str]
              ) -> Iterator[subprocess.Popen[bytes]]:
    """The scheduler as `hotline up` runs it: `python -m scheduler`, its own process."""
    log = open(settings.log_dir / "scheduler-test.out", "ab")  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, "-m", "scheduler"], cwd=REPO_ROOT, env=env,
                            stdout=log, stderr=log)
    log.close()
    try:
        health.wait_scheduler_healthy(settings)
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    errors = [line for line in (settings.log_dir / "scheduler.log").read_text().splitlines()
              if " ERROR " in line]
    assert not errors, "the scheduler logged errors:\n" + "\n".join(errors)


@pytest.fixture(scope="session")
def cases_imported(asterisk: pbx.PbxInstance, env: dict[str, str]) -> None:
    """The example export of the case-flow system, imported as an administrator would."""
    done = subprocess.run([sys.executable, "-m", "cli", "cases", "import",
                           str(REPO_ROOT / "docs" / "cases.example.csv")], cwd=REPO_ROOT,
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture
async def sessions(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(settings.database_url)
    yield make_sessionmaker(engine)
    await engine.dispose()


@pytest.fixture
def hotline_cli(env: dict[str, str]) -> object:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "cli", *args], cwd=REPO_ROOT,
                              env=env, capture_output=True, text=True, timeout=60)
    return run


async def phone_password(sessions: async_sessionmaker[AsyncSession], extension: str) -> str:
    """A desk phone's SIP password, from the phones table (seeded by `pbx.start`)."""
    async with session_scope(sessions) as db:
        return (await phones_db.get_phone(db, extension)).password


def live_channels(settings: Settings) -> list[dict[str, str]]:
    """Asterisk's channels now, with the fields of AMI's CoreShowChannel events the tests
    read. Through the control socket: no AMI user has the class CoreShowChannels needs."""
    fields = ("Channel", "Context", "Exten", "Priority", "ChannelStateDesc", "Application",
              "ApplicationData", "CallerIDNum", "AccountCode", "PeerAccount", "AMAFlags",
              "Duration", "BridgeId", "Uniqueid")
    out = pbx.cli(settings, "core show channels concise")
    return [dict(zip(fields, line.split("!"), strict=False))
            for line in out.splitlines() if "!" in line]


def wait_for(predicate: object, timeout: float = 20.0, interval: float = 0.25) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()  # type: ignore[operator]
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")
