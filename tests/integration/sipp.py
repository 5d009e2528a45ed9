"""Real SIP peers for the integration tests: SIPp callers built from a list of steps."""

from __future__ import annotations

import contextlib
import re
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tests.integration.rtp import PRESS_PACKETS, CallerMedia

SCENARIOS = Path(__file__).parent / "scenarios"
PRESS_SECONDS = PRESS_PACKETS * 0.02


def _play(pcap: Path) -> str:
    return f'  <nop><action><exec play_pcap_audio="{pcap}"/></action></nop>\n'


def _pause(seconds: float) -> str:
    return f'  <pause milliseconds="{int(seconds * 1000)}"/>\n'


# Steps are written as markers and turned into media files when the call is placed, so
# the whole call is one continuous RTP stream (tests/integration/rtp.py).

def speak(seconds: float) -> str:
    """The caller talks for `seconds` (real speech)."""
    return f"@SPEAK:{seconds}@"


def quiet(seconds: float) -> str:
    """The caller listens for `seconds` (the phone still sends audio: silence)."""
    return f"@QUIET:{seconds}@"


def key(digit: str, then_wait: float = 0.5) -> str:
    """One RFC 4733 key press, then `then_wait` seconds of listening."""
    return f"@KEY:{digit}@" + quiet(then_wait)


def wait_go(mark: int) -> str:
    """The caller holds on (sending nothing) until the test calls go(workdir, mark): keys
    that follow land when the test saw the menu ready for them, however busy the machine.
    Put it right after a key with no wait (key(d, 0)): a go arriving in a pause would be
    a message the scenario does not expect there."""
    return f"@WAIT:{mark}@"


# SIPp runs an exec in the background, so the file may appear once the scenario already
# waits; the rename makes it appear whole. The INFO goes unanswered: SIPp would send its
# answer to Asterisk, its only peer, so the scenario says it went on with a second file.
_WAIT = """  <nop><action><exec command="echo '[call_id] [local_port]' > {n}.tmp && mv {n}.tmp {n}"/>
  </action></nop>
  <recv request="INFO"/>
  <nop><action><exec command="touch {n}.gone"/></action></nop>
"""


def _waiting_file(mark: int | str) -> str:
    return f"waiting-{mark}"


def _render(steps: str, media: CallerMedia) -> str:
    def step(match: re.Match[str]) -> str:
        kind, value = match.group(1), match.group(2)
        if kind == "KEY":
            return _play(media.press(value)) + _pause(PRESS_SECONDS)
        if kind == "WAIT":
            return _WAIT.format(n=_waiting_file(value))
        seconds = float(value)
        pcap = media.speech(seconds) if kind == "SPEAK" else media.quiet(seconds)
        return _play(pcap) + _pause(seconds)
    return re.sub(r"@(SPEAK|QUIET|KEY|WAIT):([^@]+)@", step, steps)


def _routed(scenario: str) -> str:
    """The caller's in-dialog requests sent as RFC 3261 says (to the Contact, with the
    Record-Route as Route), not back to the request URI of the INVITE."""
    routed = scenario.replace('<recv response="200" rtd="true"/>',
                              '<recv response="200" rtd="true" rrs="true"/>')
    for method in ("ACK", "BYE"):
        routed = routed.replace(f"{method} sip:[service]@[remote_ip]:[remote_port] SIP/2.0",
                                f"{method} [next_url] SIP/2.0\n      [routes]")
    assert routed.count("[routes]") == 2, "caller.xml.in changed: update sipp._routed"
    return routed


def waiting(workdir: Path, mark: int) -> bool:
    """Whether the caller has reached wait_go(mark) and holds on there."""
    return (workdir / _waiting_file(mark)).exists()


def go(workdir: Path, mark: int, timeout: float = 10.0) -> None:
    """Let a caller waiting at wait_go(mark) go on: one in-dialog INFO (loopback UDP is not
    lost; sent again, it would arrive where the scenario expects something else)."""
    waiting_file = workdir / _waiting_file(mark)
    call_id, sipp_port = waiting_file.read_text().split()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        request = _go_request(call_id, sock.getsockname()[1], mark)
        sock.sendto(request.encode(), ("127.0.0.1", int(sipp_port)))
    deadline = time.monotonic() + timeout
    while not waiting_file.with_suffix(".gone").exists():
        if time.monotonic() > deadline:
            raise AssertionError(f"the caller did not take go {mark} within {timeout} s")
        time.sleep(0.05)


def _go_request(call_id: str, port: int, mark: int) -> str:
    return "\r\n".join([
        "INFO sip:caller@127.0.0.1 SIP/2.0",
        f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK-go-{mark}",
        "From: <sip:test@127.0.0.1>;tag=go", "To: <sip:caller@127.0.0.1>",
        f"Call-ID: {call_id}", f"CSeq: {100 + mark} INFO", "Max-Forwards: 70",
        "Content-Length: 0", "", ""])


@dataclass
class SippResult:
    returncode: int
    seconds: float
    output: str


def call(steps: str, *, target: str, local: str, caller: str, media_port: int,
         service: str = "12368", workdir: Path, timeout: float = 120.0, count: int = 1,
         every_ms: int = 1000, netns: str = "", routed: bool = False) -> SippResult:
    """Place one call from `local` (ip:port) to `target`, run `steps`, hang up; or `count`
    such calls, one every `every_ms`, from the same address (as a carrier trunk does).
    netns: from inside that network namespace; routed: the ACK and BYE follow the
    answer's Contact and Record-Route, as behind a SIP proxy (tests/integration/
    test_cluster.py)."""
    name = f"caller-{time.monotonic_ns()}"
    scenario = workdir / f"{name}.xml"
    steps = _render(steps, CallerMedia(workdir, name))
    text = (SCENARIOS / "caller.xml.in").read_text().replace("@STEPS@", steps)
    scenario.write_text(_routed(text) if routed else text)
    ip, port = local.rsplit(":", 1)
    argv = [*in_netns(netns), "sipp", target, "-sf", str(scenario), "-m", str(count),
            "-l", str(count),
            "-r", "1", "-rp", str(every_ms), "-i", ip, "-p", port,
            "-mp", str(media_port), "-s", service, "-key", "caller", caller, "-nostdin",
            "-timeout", f"{int(timeout)}s", "-timeout_error", "-trace_err"]
    started = time.monotonic()
    done = subprocess.run(argv, cwd=workdir, capture_output=True, text=True, timeout=timeout + 10)
    return SippResult(done.returncode, time.monotonic() - started,
                      done.stdout[-3000:] + done.stderr[-1000:])


def in_netns(netns: str) -> list[str]:
    """The argv prefix that runs a command inside a network namespace ("" : here)."""
    return ["ip", "netns", "exec", netns] if netns else []


def wait_bound(port: int, timeout: float = 10.0, netns: str = "") -> None:
    """Return once a process listens on UDP `port`: a phone registered before it can answer
    Asterisk's first OPTIONS would count as unreachable until the next qualify."""
    deadline = time.monotonic() + timeout
    while netns and time.monotonic() < deadline:
        listening = subprocess.run([*in_netns(netns), "ss", "-Hlun", f"sport = :{port}"],
                                   capture_output=True, text=True, check=False).stdout
        if listening.strip():
            return
        time.sleep(0.05)
    while time.monotonic() < deadline:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                return
        time.sleep(0.05)
    raise AssertionError(f"nothing listens on UDP {port} after {timeout} s")


class Phone:
    """A registered desk phone (seat or judge) that answers every call after one ring.

    Two SIPp instances, as a real phone is one device: one answers INVITE and OPTIONS on
    `port`, the other registers with a Contact pointing there (SIPp ties messages to a call
    by Call-ID, so one instance cannot both register and answer).
    """

    def __init__(self, user: str, password: str, *, target: str, port: int, media_port: int,
                 workdir: Path, netns: str = "", ip: str = "127.0.0.1") -> None:
        self.user, self.password, self.target = user, password, target
        self.port, self.media_port, self.workdir = port, media_port, workdir
        self.netns, self.ip = netns, ip  # a phone on another network (namespace)
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Phone:
        self.proc = subprocess.Popen(
            [*in_netns(self.netns), "sipp", self.target, "-sf", str(SCENARIOS / "phone.xml"),
             "-i", self.ip, "-p", str(self.port), "-mp", str(self.media_port), "-nostdin",
             "-trace_err"],
            cwd=self.workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_bound(self.port, netns=self.netns)
        self.register()
        return self

    def register(self, expires_ok: bool = True, expires: int = 3600) -> None:
        done = subprocess.run(
            [*in_netns(self.netns), "sipp", self.target, "-sf",
             str(SCENARIOS / "register.xml"), "-i", self.ip,
             "-p", str(self.port + 1), "-m", "1", "-key", "user", self.user,
             "-au", self.user, "-ap", self.password, "-key", "contact_port", str(self.port),
             "-key", "expires", str(expires),
             "-nostdin", "-timeout", "10s", "-timeout_error"],
            cwd=self.workdir, capture_output=True, text=True, timeout=20)
        if done.returncode != 0:
            raise AssertionError(f"{self.user} could not register: {done.stdout[-800:]}")

    def __exit__(self, *_exc: object) -> None:
        # Switched off as a desk phone is: unregistered first. Otherwise Asterisk keeps the
        # contact, finds it unreachable at its next OPTIONS, and the next phone registering
        # the same contact stays "unavailable" until the qualify after (up to 30 s): a seat
        # the queue will not ring.
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(AssertionError, subprocess.TimeoutExpired):
                self.register(expires=0)
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
