"""The real SMPP peer of the SMS tests: tests/smsc/smsc.js (the npm package `smpp`) run by
Node.js on loopback. `make test` installs it (npm ci --prefix tests/smsc)."""

from __future__ import annotations

import json
import queue
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

SMSC_DIR = Path(__file__).resolve().parent.parent / "smsc"
SYSTEM_ID, PASSWORD = "hotline", "smscpw"  # SMPP passwords are at most 8 characters


class Smsc:
    """One SMSC process; every JSON line it prints is kept in `seen`."""

    def __init__(self, port: int = 0, receipt_stat: str = "DELIVRD") -> None:
        node = shutil.which("node")
        if node is None or not (SMSC_DIR / "node_modules" / "smpp").is_dir():
            pytest.fail("the test SMSC is not installed: run `make test` "
                        "(or npm ci --prefix tests/smsc)")
        self.proc = subprocess.Popen(
            [node, str(SMSC_DIR / "smsc.js"), "--port", str(port), "--system-id", SYSTEM_ID,
             "--password", PASSWORD, "--receipt-stat", receipt_stat],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.seen: list[dict[str, Any]] = []
        self._lines: queue.Queue[dict[str, Any]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.port = int(self.wait_for("listening")["port"])

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            event = json.loads(line)
            self.seen.append(event)
            self._lines.put(event)

    def wait_for(self, event: str, match: Callable[[dict[str, Any]], bool] = lambda e: True,
                 timeout: float = 10.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        for seen in list(self.seen):
            if seen["event"] == event and match(seen):
                return seen
        while time.monotonic() < deadline:
            try:
                got = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if got["event"] == event and match(got):
                return got
        raise AssertionError(f"the SMSC did not report {event!r}; it said {self.seen}")

    def events(self, event: str) -> list[dict[str, Any]]:
        return [e for e in self.seen if e["event"] == event]

    def send_inbound(self, sender: str, text: str, parts: int = 1) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"cmd": "inbound", "from": sender, "to": "12368",
                                          "text": text, "parts": parts}) + "\n")
        self.proc.stdin.flush()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()


@pytest.fixture
def smsc() -> Iterator[Smsc]:
    server = Smsc()
    yield server
    server.stop()


@pytest.fixture
def start_smsc() -> Iterator[Callable[..., Smsc]]:
    started: list[Smsc] = []

    def start(**options: Any) -> Smsc:
        started.append(Smsc(**options))
        return started[-1]

    yield start
    for server in started:
        server.stop()


def free_port() -> int:
    """A loopback port nobody listens on (yet)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
