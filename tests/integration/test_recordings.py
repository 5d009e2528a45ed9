"""Recordings of real calls: a SIPp caller plays known audio (speech in one interval, then
silence) through the real Asterisk; the whole-call recording holds it where it was spoken,
its length matches the call, and post-processing keeps a verified compact copy."""

from __future__ import annotations

import asyncio
import os
import signal
import time
import wave
from datetime import timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import pbx
from hotline.db.base import session_scope
from hotline.db.models import Recording
from hotline.settings import Settings
from pbx import instance_for
from recordings import audio, process, reconcile
from tests.integration import sipp
from tests.integration.conftest import BridgeProcess
from tests.integration.test_walking_skeleton import (
    place_call,
    recording_done,
    set_mode,
    wait_call,
)

CALLER = "13800006000"
SPEAK, QUIET = 2.5, 3.0


def prompt_seconds(settings: Settings, *prompts: str) -> float:
    total = 0.0
    for prompt in prompts:
        with wave.open(str(instance_for(settings).sounds_dir / "zh" / f"{prompt}.wav")) as w:
            total += w.getnframes() / w.getframerate()
    return total


async def _stall(bridge: BridgeProcess, after: float, seconds: float) -> None:
    assert bridge.proc is not None
    await asyncio.sleep(after)
    os.kill(bridge.proc.pid, signal.SIGSTOP)
    try:
        await asyncio.sleep(seconds)
    finally:
        os.kill(bridge.proc.pid, signal.SIGCONT)


def rms_dbfs(segment: audio.AudioSegment) -> float:
    return audio.level(segment).rms_dbfs


async def test_recording_holds_the_callers_speech_where_spoken_and_lasts_the_call(
        bridge: BridgeProcess, settings: Settings,
        sessions: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    await set_mode(sessions, "closed")
    # After hours the voice menu plays its welcome and main menu, then waits 6 s for a key
    # in silence: the caller speaks in that silence, then is quiet, then hangs up.
    prompts = prompt_seconds(settings, "welcome", "main-menu")
    start = prompts + 0.6
    steps = sipp.quiet(start) + sipp.speak(SPEAK) + sipp.quiet(QUIET)
    # The bridge stalls (a busy machine) from a second before the caller hangs up until two
    # after: Asterisk holds the channel's Hangup back (about a second) waiting for the bridge
    # to close the voice menu's FastAGI session, but the call ended when the caller left,
    # and its record must say so.
    stall = asyncio.create_task(_stall(bridge, start + SPEAK + QUIET - 1.0, 3.0))
    result = await place_call(settings, steps, tmp_path, caller=CALLER)
    await stall
    assert result.returncode == 0, result.output

    call = await wait_call(sessions, recording_done, caller=CALLER)
    [rec] = call.recordings
    assert rec.status == "complete" and rec.duration_seconds is not None
    assert call.answered_at is not None and call.ended_at is not None
    call_seconds = (call.ended_at - call.answered_at).total_seconds()
    assert abs(rec.duration_seconds - call_seconds) < 0.5, (rec.duration_seconds, call_seconds)
    assert abs(rec.duration_seconds - (start + SPEAK + QUIET)) < 1.5

    root = instance_for(settings).recordings_dir
    sound = audio.load(root / rec.path)
    ms = lambda seconds: int(seconds * 1000)  # noqa: E731
    prompt_part = sound[ms(1.0):ms(prompts - 1.0)]
    spoken = sound[ms(start + 0.4):ms(start + SPEAK - 0.3)]
    quiet = sound[ms(start + SPEAK + 0.5):ms(start + SPEAK + QUIET - 0.5)]
    assert rms_dbfs(prompt_part) > -40, "the prompts the caller heard are in the recording"
    assert rms_dbfs(spoken) > -35, f"no speech where the caller spoke: {rms_dbfs(spoken)}"
    assert rms_dbfs(quiet) < -55, f"sound where the caller was quiet: {rms_dbfs(quiet)}"

    # Post-processing the real recording keeps a compact copy of the same length.
    outcome = await process.process_one(sessions, root, rec.id, settings.recordings)
    assert outcome.ok, outcome.message
    async with session_scope(sessions) as session:
        kept = await session.get(Recording, rec.id)
        assert kept is not None
    copy = audio.load(root / kept.kept_path)
    assert audio.same_length(rec.duration_seconds, len(copy) / 1000)
    assert not (root / rec.path).exists() and not kept.silent
    assert kept.kept_size_bytes is not None and kept.kept_size_bytes < rec.size_bytes / 5  # type: ignore[operator]


async def test_a_call_still_connects_when_the_recording_cannot_be_written(
        bridge: BridgeProcess, settings: Settings,
        sessions: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    """A full or broken recordings disk must not cost the caller the call: MixMonitor's
    failure to open its file is logged by Asterisk, the dialplan goes on, and the reconciler
    reports the call without a recording."""
    await set_mode(sessions, "closed")
    root = instance_for(settings).recordings_dir
    year = root / time.strftime("%Y", time.gmtime())
    aside = year.with_name(year.name + ".aside")
    if year.exists():
        year.rename(aside)
    year.write_text("not a folder: MixMonitor cannot create its file under it")
    try:
        result = await place_call(settings, sipp.quiet(4.0), tmp_path, caller=CALLER)
        assert result.returncode == 0, result.output
        call = await wait_call(sessions, recording_done, timeout=40, caller=CALLER)
    finally:
        year.unlink()
        if aside.exists():
            aside.rename(year)
    assert call.answered_at is not None and call.route == "menu"
    assert call.ended_at is not None
    assert (call.ended_at - call.answered_at).total_seconds() > 3.5  # not cut short
    assert [r.status for r in call.recordings] in (["missing"], ["invalid"])

    later = call.ended_at + timedelta(seconds=reconcile.GRACE_SECONDS + 1)
    found = await reconcile.reconcile(sessions, root, later, days=1)
    assert call.id in found.missing


async def test_two_channel_recording_keeps_caller_and_staff_apart(
        bridge: BridgeProcess, settings: Settings,
        sessions: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    """[recordings] two_channel: the caller's voice on the left, what they heard (here the
    voice menu's prompts) on the right, in one stereo copy."""
    await set_mode(sessions, "closed")
    caller = "13800006002"
    prompts = prompt_seconds(settings, "welcome", "main-menu")
    start = prompts + 0.6
    pbx.cli(settings, "dialplan set global HOTLINE_TWO_CHANNEL yes")
    try:
        result = await place_call(settings, sipp.quiet(start) + sipp.speak(SPEAK)
                                  + sipp.quiet(QUIET), tmp_path, caller=caller)
    finally:
        pbx.cli(settings, "dialplan set global HOTLINE_TWO_CHANNEL no")
    assert result.returncode == 0, result.output
    call = await wait_call(sessions, recording_done, caller=caller)
    [rec] = call.recordings
    root = instance_for(settings).recordings_dir
    caller_leg, staff_leg = process.legs(root, rec.path)
    assert caller_leg.exists() and staff_leg.exists()

    outcome = await process.process_one(sessions, root, rec.id, settings.recordings)
    assert outcome.ok, outcome.message
    async with session_scope(sessions) as session:
        kept = await session.get(Recording, rec.id)
        assert kept is not None and kept.channels == 2
    left, right = audio.load(root / kept.kept_path).split_to_mono()
    ms = lambda seconds: int(seconds * 1000)  # noqa: E731
    spoken = slice(ms(start + 0.4), ms(start + SPEAK - 0.3))
    prompt_part = slice(ms(1.0), ms(prompts - 1.0))
    assert rms_dbfs(left[spoken]) > -35, "the caller's speech is on the left"
    assert rms_dbfs(right[spoken]) < -50, "the caller's speech is not on the right"
    assert rms_dbfs(right[prompt_part]) > -40, "what the caller heard is on the right"
    assert rms_dbfs(left[prompt_part]) < -50, "the prompts are not on the caller's side"
    assert not caller_leg.exists() and not staff_leg.exists() and not (root / rec.path).exists()
