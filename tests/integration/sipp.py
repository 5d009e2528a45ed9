"""Real SIP peers for the integration tests: SIPp callers built from a list of steps."""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

PCAPS = Path("/usr/share/sip-tester")
SCENARIOS = Path(__file__).parent / "scenarios"
SPEECH = PCAPS / "g711a.pcap"  # 7 s of A-law audio
SPEECH_SECONDS = 7.0


def _play(pcap: Path) -> str:
    return f'  <nop><action><exec play_pcap_audio="{pcap}"/></action></nop>\n'


def _pause(seconds: float) -> str:
    return f'  <pause milliseconds="{int(seconds * 1000)}"/>\n'


def speak(seconds: float) -> str:
    """Send real audio for `seconds` (a phone sends RTP all the time; MixMonitor needs it)."""
    steps = ""
    while seconds > 0:
        chunk = min(seconds, SPEECH_SECONDS)
        steps += _play(SPEECH) + _pause(chunk)
        seconds -= chunk
    return steps


def key(digit: str, then_wait: float = 0.5) -> str:
    """One RFC 4733 key press."""
    name = {"*": "star", "#": "pound"}.get(digit, digit)
    return _play(PCAPS / f"dtmf_2833_{name}.pcap") + _pause(then_wait)


@dataclass
class SippResult:
    returncode: int
    seconds: float
    output: str


def call(steps: str, *, target: str, local: str, caller: str, media_port: int,
         service: str = "12368", workdir: Path, timeout: float = 120.0) -> SippResult:
    """Place one call from `local` (ip:port) to `target`, run `steps`, hang up."""
    scenario = workdir / f"caller-{time.monotonic_ns()}.xml"
    scenario.write_text((SCENARIOS / "caller.xml.in").read_text().replace("@STEPS@", steps))
    ip, port = local.rsplit(":", 1)
    argv = ["sipp", target, "-sf", str(scenario), "-m", "1", "-l", "1", "-i", ip, "-p", port,
            "-mp", str(media_port), "-s", service, "-key", "caller", caller, "-nostdin",
            "-timeout", f"{int(timeout)}s", "-timeout_error", "-trace_err"]
    started = time.monotonic()
    done = subprocess.run(argv, cwd=workdir, capture_output=True, text=True, timeout=timeout + 10)
    return SippResult(done.returncode, time.monotonic() - started, done.stdout[-3000:])
