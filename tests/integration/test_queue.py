"""Office hours: the call goes to the seats queue, a registered SIPp seat answers, and the
call record shows the queue, the agent and the recording (tracked live from AMI)."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import pbx
from hotline.settings import Settings
from ivr import reconcile
from recordings import files
from tests.integration import sipp
from tests.integration.conftest import PORTS, BridgeProcess, phone_password, port
from tests.integration.test_walking_skeleton import place_call, recording_done, set_mode, wait_call


async def test_office_hours_call_reaches_a_seat(
        bridge: BridgeProcess, settings: Settings,
        sessions: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    await set_mode(sessions, "open")
    target = f"127.0.0.1:{PORTS['sip']}"
    ami = pbx.console_client(settings)
    await ami.connect()
    try:
        with sipp.Phone("8001", await phone_password(sessions, "8001"), target=target,
                        port=port(25081),
                        media_port=port(26100), workdir=tmp_path):
            # A failed test before may have left seat 8001 signed in: start from none.
            with contextlib.suppress(pbx.AmiError):
                await ami.action({"Action": "QueueRemove", "Queue": "seats",
                                  "Interface": "PJSIP/8001"})
            await ami.action({"Action": "QueueAdd", "Queue": "seats",
                              "Interface": "PJSIP/8001", "MemberName": "8001"})
            await asyncio.sleep(1.0)  # the seat's device state settles after registering
            result = await place_call(settings, sipp.speak(16), tmp_path)
            assert result.returncode == 0, result.output
            call = await wait_call(sessions, recording_done)
    finally:
        await ami.action({"Action": "QueueRemove", "Queue": "seats", "Interface": "PJSIP/8001"})
        await ami.close()
        await set_mode(sessions, "closed")

    assert call.route == "queue"
    assert call.agent == "8001"
    kinds = [e.kind for e in call.events]
    assert kinds.index("queue") < kinds.index("agent") < kinds.index("hangup")
    # the office-hours menu's one sentence, then the seats (no key: ivr/menu.toml)
    assert [e.detail["prompt"] for e in call.events if e.kind == "prompt"] == ["office-menu"]
    [recording] = call.recordings
    assert recording.status == files.COMPLETE
    # The whole call, prompt, queue and agent alike, is in the one recording.
    assert call.answered_at is not None and call.ended_at is not None
    talked = (call.ended_at - call.answered_at).total_seconds()
    assert recording.duration_seconds == pytest.approx(talked, rel=0.1)
    # Asterisk's own record of it, written when the caller hung up on the seat (the hangup
    # handler [hotline-cdr]): what the reconciler would rebuild the call from.
    facts = await cdr_facts(settings, call.id)
    assert facts.route == "queue"
    assert facts.recordings == {recording.path: "call"}
    assert facts.answered_at is not None


async def cdr_facts(settings: Settings, call_id: str) -> reconcile.CallFacts:
    path = pbx.instance_for(settings).cdr_file
    for _ in range(50):
        lines, _position, _fingerprint = reconcile.read_new_lines(path, 0, "")
        found = reconcile.group_legs(lines).get(call_id)
        if found is not None:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"no CDR line of call {call_id}")


async def test_nobody_logged_in_sends_the_caller_to_the_voice_menu(
        bridge: BridgeProcess, settings: Settings,
        sessions: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    await set_mode(sessions, "open")
    try:
        result = await place_call(settings, sipp.speak(8), tmp_path, caller="13600000001")
        assert result.returncode == 0, result.output
        call = await wait_call(sessions, recording_done, caller="13600000001")
    finally:
        await set_mode(sessions, "closed")
    left = [e.detail["status"] for e in call.events if e.kind == "queue-left"]
    assert left == ["JOINEMPTY"]
    prompts = [e.detail["prompt"] for e in call.events if e.kind == "prompt"]
    assert prompts[:2] == ["office-menu", "welcome"]
    assert call.route == "menu"
