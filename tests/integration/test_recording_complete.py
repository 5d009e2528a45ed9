"""One call, one recording, whole (Art. 8): a caller queued, answered by a SIPp seat and put
through to a SIPp duty judge by a blind transfer from the console is recorded across all
three stages; the agent and the judge may hear it through the console, which logs it."""

from __future__ import annotations

import array
import asyncio
import math
import wave
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agent_console.texts import AGENT, DUTY_JUDGE
from hotline.db import roster
from hotline.db.base import session_scope
from hotline.db.models import Call, RecordingAccess
from hotline.hours import court_today
from hotline.settings import Settings
from pbx import instance_for
from recordings import files
from tests.integration import sipp
from tests.integration.conftest import BridgeProcess
from tests.integration.test_desk import (
    CONSOLE,
    PASSWORD,
    ensure_user,
    phone,
    up,
    wait_channels,
)
from tests.integration.test_walking_skeleton import place_call, set_mode, wait_call

Sessions = async_sessionmaker[AsyncSession]
AGENT_EXT, JUDGE_EXT = "8001", "8101"
# Seconds the agent talks before transferring, and that the judge talks at least.
AGENT_TALK, JUDGE_TALK = 5.0, 5.0
# Louder than this (RMS, dBFS) is speech; MixMonitor's silence is far below.
SPEECH_DBFS = -45.0


@pytest.fixture
async def staff(settings: Settings, sessions: Sessions) -> dict[str, int]:
    agent = await ensure_user(sessions, "lisi", AGENT, "李四", AGENT_EXT)
    judge = await ensure_user(sessions, "wangfg", DUTY_JUDGE, "王法官", JUDGE_EXT)
    async with session_scope(sessions) as session:
        await roster.set_duty(session, court_today(settings), judge)
    return {"lisi": agent.id, "wangfg": judge.id}


@asynccontextmanager
async def logged_in(username: str) -> AsyncIterator[httpx.AsyncClient]:
    """The console's API as username (a bearer token)."""
    async with httpx.AsyncClient(base_url=CONSOLE) as client:
        token = await client.post("/api/login",
                                  json={"username": username, "password": PASSWORD})
        assert token.status_code == 200, token.text
        client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        yield client


async def until_connected(client: httpx.AsyncClient, timeout: float = 25.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        state = (await client.get("/api/desk/state")).json()
        if (state.get("call") or {}).get("state") == "connected":
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"the seat never connected: {state}")


def level_dbfs(path: Path, start: float, end: float) -> float:
    """RMS level of a 16-bit mono WAV between two offsets (seconds)."""
    with wave.open(str(path)) as audio:
        rate = audio.getframerate()
        assert audio.getsampwidth() == 2 and audio.getnchannels() == 1
        audio.setpos(int(start * rate))
        samples = array.array("h", audio.readframes(int((end - start) * rate)))
    assert len(samples) >= rate // 2, f"window {start:.1f}-{end:.1f} s is not in the file"
    rms = math.sqrt(sum(s * s for s in samples) / len(samples))
    return 20 * math.log10(rms / 32768) if rms else -120.0


def hung_up_and_recorded(call: Call) -> bool:
    """The caller's hang-up is in, and the recordings judged after it. (ended_at alone is
    not enough: the reconciler may set it from the agent's leg of an attended transfer.)"""
    return any(e.kind == "hangup" for e in call.events) and bool(call.recordings) and all(
        r.status == files.COMPLETE for r in call.recordings)


def seconds(later: datetime, earlier: datetime) -> float:
    return (later - earlier).total_seconds()


@pytest.mark.parametrize("mode", ["blind", "attended"])
async def test_queued_answered_and_transferred_call_is_one_complete_recording(
        bridge: BridgeProcess, console: None, staff: dict[str, int], settings: Settings,
        sessions: Sessions, tmp_path: Path, mode: str) -> None:
    await set_mode(sessions, "open")
    async with logged_in("lisi") as agent:
        try:
            call = await _queued_answered_transferred(agent, mode, settings, sessions,
                                                      tmp_path)
        finally:
            await agent.post("/api/desk/presence", json={"action": "sign_out"})
            await set_mode(sessions, "closed")

    await _check_recording_covers_every_stage(call, mode, settings)
    await _check_agent_and_judge_hear_it(call, staff, sessions)


async def _queued_answered_transferred(agent: httpx.AsyncClient, mode: str,
                                       settings: Settings, sessions: Sessions,
                                       tmp_path: Path) -> Call:
    with await phone(sessions, AGENT_EXT, 25481, tmp_path), \
            await phone(sessions, JUDGE_EXT, 25491, tmp_path):
        signed = await agent.post("/api/desk/presence", json={"action": "sign_in"})
        assert signed.status_code == 200, signed.text
        await asyncio.sleep(1.0)  # the seat's device state settles
        # The caller talks through the whole call: prompt and queue, agent, judge.
        caller = asyncio.create_task(place_call(settings, sipp.speak(30), tmp_path))
        await until_connected(agent)
        await asyncio.sleep(AGENT_TALK)
        moved = await agent.post("/api/desk/transfer", json={"mode": mode})
        assert moved.status_code == 200, moved.text
        await wait_channels(settings, lambda f: up(f, f"PJSIP/{JUDGE_EXT}-")
                            and up(f, "PJSIP/carrier-"))
        if mode == "attended":
            # The agent and the judge talk while the caller holds, then the agent leaves.
            await asyncio.sleep(2.0)
            done = await agent.post("/api/desk/transfer/complete")
            assert done.status_code == 200, done.text
            await wait_channels(settings, lambda f: up(f, f"PJSIP/{JUDGE_EXT}-")
                                and not any(c[0].startswith(f"PJSIP/{AGENT_EXT}-") for c in f))
        result = await caller
        assert result.returncode == 0, result.output
        return await wait_call(sessions, hung_up_and_recorded, timeout=40)


async def _check_recording_covers_every_stage(call: Call, mode: str,
                                              settings: Settings) -> None:
    at = {e.kind: e.at for e in reversed(call.events)}  # each kind's first time
    kinds = [e.kind for e in call.events]
    assert kinds.index("recording") < kinds.index("queue") < kinds.index("agent") \
        < kinds.index("judge-ringing") < kinds.index("hangup")
    [ring] = [e.detail for e in call.events if e.kind == "judge-ringing"]
    assert ring == {"kind": mode, "target": JUDGE_EXT,
                    "back": AGENT_EXT if mode == "blind" else ""}

    # One call, one recording: the MixMonitor of the caller's channel, across the transfer
    # (blind or attended: the caller's channel lives on, bridged to the judge).
    [recording] = [r for r in call.recordings if r.kind == "call"]
    assert recording.status == files.COMPLETE and recording.part == 0
    assert call.answered_at is not None and call.ended_at is not None
    whole = seconds(call.ended_at, call.answered_at)
    assert recording.duration_seconds == pytest.approx(whole, abs=1.0)

    path = instance_for(settings).recordings_dir / recording.path
    start = at["recording"]
    stages = {
        "prompt and queue": (0.3, seconds(at["agent"], start) - 0.3),
        "agent": (seconds(at["agent"], start) + 0.3, seconds(at["judge-ringing"], start) - 0.3),
        # The judge's phone rings for a second before it answers.
        "duty judge": (seconds(at["judge-ringing"], start) + 1.5,
                       seconds(call.ended_at, start) - 0.5),
    }
    assert stages["prompt and queue"][1] - stages["prompt and queue"][0] >= 1.0
    assert stages["agent"][1] - stages["agent"][0] >= AGENT_TALK - 1
    assert stages["duty judge"][1] - stages["duty judge"][0] >= JUDGE_TALK - 1
    levels = {name: level_dbfs(path, a, b) for name, (a, b) in stages.items()}
    quiet = {name: level for name, level in levels.items() if level < SPEECH_DBFS}
    assert not quiet, f"stages without sound in the recording: {quiet} (all: {levels})"


async def _check_agent_and_judge_hear_it(call: Call, staff: dict[str, int],
                                         sessions: Sessions) -> None:
    # The bridge named the agent who answered: signed in on the seat through the console.
    [answered] = [e.detail for e in call.events if e.kind == "agent"]
    assert answered["extension"] == AGENT_EXT and answered["user_id"] == str(staff["lisi"])
    [recording] = [r for r in call.recordings if r.kind == "call"]
    for username in ("lisi", "wangfg"):
        async with logged_in(username) as client:
            playlist = await client.get(f"/api/calls/{call.id}/recordings")
            assert playlist.status_code == 200, playlist.text
            [part] = playlist.json()["parts"]
            assert part["id"] == recording.id and part["available"]
            audio = await client.get(part["url"], headers={"Range": "bytes=0-1023"})
            assert audio.status_code == 206 and audio.content[:4] == b"RIFF"
            assert audio.headers["content-range"].startswith("bytes 0-1023/")
    async with session_scope(sessions) as session:
        rows = await session.execute(select(RecordingAccess.user_id, RecordingAccess.action,
                                            RecordingAccess.address)
                                     .where(RecordingAccess.recording_id == recording.id))
        logged = sorted(rows.all())
    assert logged == sorted([(staff["lisi"], "play", "127.0.0.1"),
                             (staff["wangfg"], "play", "127.0.0.1")])
