"""The caller's side of the seats queue, on the real Asterisk with SIPp callers and a
registered SIPp seat whose agent never picks up: Mandarin position announcements while
waiting, the callback that keeps the caller's turn after the longest wait, and the
closing-time handover of callers still waiting."""

from __future__ import annotations

import asyncio
import re
import subprocess
import tomllib
import wave
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import pbx
from hotline import tickets as matters
from hotline.db import calls, tickets
from hotline.db.base import session_scope
from hotline.db.models import Ticket
from hotline.settings import Settings
from ivr.menu import MENU_FILE
from tests.integration import sipp
from tests.integration.conftest import PORTS, BridgeProcess, phone_password, port
from tests.integration.rtp import CallerMedia
from tests.integration.test_walking_skeleton import set_mode

Sessions = async_sessionmaker[AsyncSession]
SEAT = "8002"
RINGING_PHONE = sipp.SCENARIOS / "phone_rings.xml"


class RingingPhone(sipp.Phone):
    """A registered seat phone that rings and is never answered: callers keep waiting."""

    def __enter__(self) -> RingingPhone:
        self.proc = subprocess.Popen(
            ["sipp", self.target, "-sf", str(RINGING_PHONE), "-i", "127.0.0.1",
             "-p", str(self.port), "-mp", str(self.media_port), "-nostdin", "-trace_err"],
            cwd=self.workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        sipp.wait_bound(self.port)
        self.register()
        return self


@pytest.fixture
async def busy_seat(bridge: BridgeProcess, settings: Settings, sessions: Sessions,
                    tmp_path: Path) -> AsyncIterator[None]:
    """Office hours, and one seat in the queue whose phone rings unanswered."""
    await set_mode(sessions, "open")
    ami = pbx.console_client(settings)
    await ami.connect()
    try:
        with RingingPhone(SEAT, await phone_password(sessions, SEAT),
                          target=f"127.0.0.1:{PORTS['sip']}", port=port(25083),
                          media_port=port(26120), workdir=tmp_path):
            await ami.action({"Action": "QueueAdd", "Queue": "seats",
                              "Interface": f"PJSIP/{SEAT}", "MemberName": SEAT})
            await asyncio.sleep(1.0)  # the seat's device state settles after registering
            yield
    finally:
        await ami.action({"Action": "QueueRemove", "Queue": "seats",
                          "Interface": f"PJSIP/{SEAT}"})
        await ami.close()
        await set_mode(sessions, "closed")


@pytest.fixture
def verbose_log(asterisk: pbx.PbxInstance, settings: Settings) -> Iterator[Path]:
    """Asterisk's verbose trace (which files it plays) in a log of this test's own."""
    name = "queue-caller-test.log"
    path = asterisk.dir("log") / name
    path.unlink(missing_ok=True)
    pbx.cli(settings, "core set verbose 3")
    pbx.cli(settings, f"logger add channel {name} verbose(3)")
    try:
        yield path
    finally:
        pbx.cli(settings, f"logger remove channel {name}")
        pbx.cli(settings, "core set verbose 0")


def seconds(inst: pbx.PbxInstance, prompt: str) -> float:
    with wave.open(str(inst.sounds_dir / "zh" / f"{prompt}.wav")) as audio:
        return audio.getnframes() / audio.getframerate()


def office_lead(inst: pbx.PbxInstance) -> float:
    """How long an office-hours caller who keys nothing takes to reach the seats: the
    office menu's one sentence and its wait for a key (ivr/menu.toml, issue 15)."""
    office = tomllib.loads(MENU_FILE.read_text(encoding="utf-8"))["node"]["office"]
    return seconds(inst, "office-menu") + float(office["timeout"])


async def call(steps: str, caller: str, workdir: Path) -> sipp.SippResult:
    return await asyncio.to_thread(
        sipp.call, steps, target=f"127.0.0.1:{PORTS['sip']}",
        local=f"127.0.0.1:{PORTS['carrier']}", caller=caller, media_port=port(26300),
        workdir=workdir)


def two_calls(steps: str, caller: str, gap: float, workdir: Path) -> sipp.SippResult:
    """Two calls `gap` seconds apart, both from the carrier's address (the only one that
    is a public call), so one SIPp places both."""
    scenario = workdir / "two-callers.xml"
    rendered = sipp._render(steps, CallerMedia(workdir, "two-callers"))
    scenario.write_text((sipp.SCENARIOS / "caller.xml.in").read_text()
                        .replace("@STEPS@", rendered))
    argv = ["sipp", f"127.0.0.1:{PORTS['sip']}", "-sf", str(scenario), "-m", "2", "-l", "2",
            "-r", "1", "-rp", str(int(gap * 1000)), "-i", "127.0.0.1",
            "-p", str(PORTS["carrier"]), "-mp", str(port(26300)), "-s", "12368",
            "-key", "caller", caller, "-nostdin", "-timeout", "150s", "-timeout_error",
            "-trace_err"]
    done = subprocess.run(argv, cwd=workdir, capture_output=True, text=True, timeout=170)
    return sipp.SippResult(done.returncode, 0.0, done.stdout[-3000:])


async def callback_tickets(sessions: Sessions, caller: str, count: int = 1,
                           timeout: float = 30.0) -> list[Ticket]:
    """The caller's callback tickets, oldest first, once there are `count` of them."""
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        async with session_scope(sessions) as session:
            found = [t for t in await tickets.open_tickets_for_number(session, caller)
                     if t.type == tickets.CALLBACK and t.queued_at is not None]
        if len(found) >= count:
            return sorted(found, key=lambda t: t.id)
        await asyncio.sleep(0.5)
    raise AssertionError(f"no {count} callback ticket(s) for {caller} within {timeout} s")


def played(log: Path) -> list[str]:
    """The prompt ids Asterisk played, in order, from its verbose trace."""
    return re.findall(r"Playing '[^']*/sounds/zh/([^'/]+)\.\w+' \(language 'zh'\)",
                      log.read_text())


async def test_waiting_callers_hear_their_position_and_keep_their_turn(
        busy_seat: None, asterisk: pbx.PbxInstance, settings: Settings, sessions: Sessions,
        verbose_log: Path, tmp_path: Path) -> None:
    # A joins first and is rung for; B waits behind A. Both outwait the longest wait,
    # press 1 on the offer and leave a message.
    lead = office_lead(asterisk) + settings.calls.queue_max_wait
    after_key = seconds(asterisk, "callback-intro") + 6
    steps = (sipp.quiet(lead + 3) + sipp.key("1", 2.5) + sipp.key("1")
             + sipp.speak(after_key) + sipp.quiet(30))
    caller = "13600000011"
    result = await asyncio.to_thread(two_calls, steps, caller, 3.0, tmp_path)
    assert result.returncode == 0, result.output

    a, b = sorted(await callback_tickets(sessions, caller, 2),
                  key=lambda t: t.call_id or "")  # Asterisk's uniqueids grow with time
    assert a.queued_at is not None and b.queued_at is not None
    assert timedelta(seconds=2) <= b.queued_at - a.queued_at <= timedelta(seconds=5)
    assert a.audio_path and b.audio_path and a.detail["hung_up"] == "no"
    async with session_scope(sessions) as session:
        ordered = [t.id for t in await matters.callback_list(session)
                   if t.id in (a.id, b.id)]
        call_a = await calls.get_call(session, a.call_id or "")
    assert ordered == [a.id, b.id]
    assert call_a is not None
    assert [e.detail["status"] for e in call_a.events if e.kind == "queue-left"] == ["TIMEOUT"]
    menu = [e.detail["prompt"] for e in call_a.events if e.kind == "prompt"]
    assert menu[:3] == ["office-menu", "queue-offer", "callback-intro"]

    # B, second in line, heard "您和您前面的来电共有两位。感谢您的耐心等待。" while waiting:
    # a count, like the hold time's 两分钟 said through the same rule (issue 18).
    trace = played(verbose_log)
    said = ["queue-thereare", "number-2-liang", "queue-callswaiting", "queue-thankyou"]
    start = trace.index("queue-thereare")
    assert trace[start:start + 4] == said, trace
    told = r"Told \S+ in seats their queue position \(which was 2\)"
    assert re.search(told, await asyncio.to_thread(verbose_log.read_text))


async def test_callers_still_waiting_at_closing_time_leave_a_message(
        busy_seat: None, asterisk: pbx.PbxInstance, settings: Settings, sessions: Sessions,
        tmp_path: Path) -> None:
    caller = "13600000021"
    # The caller waits, and keeps talking: whatever the bridge asks next, they answer.
    lead = office_lead(asterisk) + 2
    placed = asyncio.create_task(call(sipp.quiet(lead) + sipp.speak(40) + sipp.quiet(30),
                                      caller, tmp_path))
    await asyncio.sleep(lead)
    await set_mode(sessions, "closed")  # the administrator closes the hotline
    result = await placed
    assert result.returncode == 0, result.output

    [ticket] = await callback_tickets(sessions, caller)
    assert ticket.audio_path
    assert ticket.detail["hung_up"] == "no"  # not cut off: the caller heard it through
    async with session_scope(sessions) as session:
        record = await calls.get_call(session, ticket.call_id or "")
    assert record is not None and record.started_at is not None
    assert ticket.queued_at is not None
    assert abs((ticket.queued_at - record.started_at).total_seconds()) < lead
    assert [e.detail["status"] for e in record.events if e.kind == "queue-left"] == ["CLOSING"]
    prompts = [e.detail["prompt"] for e in record.events if e.kind == "prompt"]
    assert prompts[:3] == ["office-menu", "queue-closing", "callback-intro"]


async def test_a_caller_who_keeps_waiting_keeps_their_first_turn(
        busy_seat: None, asterisk: pbx.PbxInstance, settings: Settings, sessions: Sessions,
        tmp_path: Path) -> None:
    caller = "13600000031"
    wait = settings.calls.queue_max_wait
    again = seconds(asterisk, "queue-keep-waiting") + wait
    steps = (sipp.quiet(office_lead(asterisk) + wait + 3) + sipp.key("2", again + 3)
             + sipp.key("1", 2.5) + sipp.key("1")
             + sipp.speak(seconds(asterisk, "callback-intro") + 6) + sipp.quiet(30))
    result = await call(steps, caller, tmp_path)
    assert result.returncode == 0, result.output

    [ticket] = await callback_tickets(sessions, caller)
    async with session_scope(sessions) as session:
        record = await calls.get_call(session, ticket.call_id or "")
    assert record is not None and ticket.queued_at is not None
    # The turn is the first joining, not the second.
    assert abs((ticket.queued_at - record.started_at).total_seconds()) < office_lead(asterisk) + 2
    kinds = [(e.kind, e.detail) for e in record.events if e.kind in ("queue-left", "queue-wait")]
    assert kinds == [("queue-left", {"status": "TIMEOUT"}), ("queue-wait", {"position": "1"}),
                     ("queue-left", {"status": "TIMEOUT"})]
