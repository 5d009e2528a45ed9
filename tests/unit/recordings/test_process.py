"""recordings.process: level check, transcode, verification, peaks, and the original kept
safe when anything fails. Real WAV files, real ffmpeg, real database."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.db import alerts
from hotline.db.base import session_scope
from hotline.db.models import Recording
from hotline.settings import RecordingsSettings
from recordings import audio, process
from tests.unit.recordings.helpers import add_call_recording, tone_wav

REL = "2026/05/06/1778000000.1.wav"


async def _row(sessions: async_sessionmaker[AsyncSession], rec_id: int) -> Recording:
    async with session_scope(sessions) as session:
        rec = await session.get(Recording, rec_id)
        assert rec is not None
        return rec


@pytest.mark.parametrize("fmt", ["opus", "mp3"])
async def test_transcode_keeps_length_within_one_percent_then_deletes_the_original(
        sessions: async_sessionmaker[AsyncSession], tmp_path: Path, fmt: str) -> None:
    wav = tone_wav(tmp_path / REL, 30.0)
    wav_size = wav.stat().st_size
    rec_id = await add_call_recording(sessions, "1778000000.1", REL, seconds=30.0)

    outcome = await process.process_one(sessions, tmp_path, rec_id,
                                        RecordingsSettings(format=fmt))

    assert outcome.ok, outcome.message
    rec = await _row(sessions, rec_id)
    kept = tmp_path / rec.kept_path
    assert rec.process_state == "done" and rec.original_deleted and not wav.exists()
    assert rec.kept_format == fmt and kept.suffix == "." + audio.CONTAINERS[fmt]
    assert rec.kept_size_bytes == kept.stat().st_size < wav_size / 5
    decoded = audio.load(kept)
    assert abs(len(decoded) / 1000.0 - 30.0) <= 0.3  # 1 %
    assert decoded.channels == 1
    assert rec.level_dbfs == pytest.approx(-10.5, abs=0.5) and not rec.silent
    peaks = audio.read_peaks(process.peaks_file(tmp_path, rec.kept_path))
    assert peaks is not None and len(peaks["peaks"]) == 2000  # type: ignore[arg-type]
    assert max(peaks["peaks"]) == pytest.approx(0.3, abs=0.01)  # type: ignore[type-var]


async def test_the_original_survives_a_corrupt_file_and_attempts_are_bounded(
        sessions: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    wav = tmp_path / REL
    wav.parent.mkdir(parents=True)
    wav.write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot really audio" * 50)
    rec_id = await add_call_recording(sessions, "1778000000.1", REL, seconds=3.0)
    conf = RecordingsSettings(max_attempts=2)

    first = await process.process_one(sessions, tmp_path, rec_id, conf)

    assert not first.ok and "cannot decode" in first.message
    rec = await _row(sessions, rec_id)
    assert (rec.process_state, rec.original_deleted, rec.kept_path) == ("failed", False, "")
    assert rec.process_error.startswith("[attempt 1] ")
    assert wav.exists() and sorted(p.name for p in wav.parent.iterdir()) == [wav.name]
    async with session_scope(sessions) as session:
        assert not await alerts.list_open_alerts(session)

    # The scheduler retries until max_attempts, then a person is told; then it stops trying.
    done = await process.run_batch(sessions, tmp_path, conf)
    assert (done.done, done.failed) == (1, 1)
    async with session_scope(sessions) as session:
        open_alerts = await alerts.list_open_alerts(session)
    assert [(a.kind, a.key) for a in open_alerts] == [(alerts.RECORDING_FAILED, REL)]
    assert (await process.run_batch(sessions, tmp_path, conf)).total == 0
    assert wav.exists()


async def test_the_original_survives_when_ffmpeg_fails(
        sessions: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    wav = tone_wav(tmp_path / REL, 2.0)
    before = wav.read_bytes()
    rec_id = await add_call_recording(sessions, "1778000000.1", REL, seconds=2.0)
    # The settings loader refuses this bitrate; the job must stay safe even so.
    conf = dataclasses.replace(RecordingsSettings(), bitrate="lots")

    outcome = await process.process_one(sessions, tmp_path, rec_id, conf)

    assert not outcome.ok and "cannot encode" in outcome.message
    assert wav.read_bytes() == before
    assert sorted(p.name for p in wav.parent.iterdir()) == [wav.name]  # no partial copy left
    assert (await _row(sessions, rec_id)).process_state == "failed"


async def test_a_silent_recording_is_flagged_and_alerted(
        sessions: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    tone_wav(tmp_path / REL, 4.0, amplitude=0.0)
    rec_id = await add_call_recording(sessions, "1778000000.1", REL, seconds=4.0)

    assert (await process.process_one(sessions, tmp_path, rec_id, RecordingsSettings())).ok

    rec = await _row(sessions, rec_id)
    assert rec.silent and rec.level_dbfs == audio.FLOOR_DBFS
    async with session_scope(sessions) as session:
        open_alerts = await alerts.list_open_alerts(session)
    assert [(a.kind, a.key) for a in open_alerts] == [(alerts.RECORDING_SILENT, REL)]


async def test_reprocessing_moves_the_archive_to_another_format(
        sessions: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    tone_wav(tmp_path / REL, 5.0)
    rec_id = await add_call_recording(sessions, "1778000000.1", REL, seconds=5.0)
    await process.run_batch(sessions, tmp_path, RecordingsSettings(format="opus"))
    ogg = tmp_path / (await _row(sessions, rec_id)).kept_path

    async with session_scope(sessions) as session:
        from hotline.db import recordings as db
        assert await db.mark_for_reprocessing(session) == 1
    lines: list[str] = []
    done = await process.run_batch(sessions, tmp_path, RecordingsSettings(format="mp3"),
                                   report=lambda p, _o: lines.append(p.line()))

    rec = await _row(sessions, rec_id)
    assert done.done == 1 and lines[0].startswith("1/1 ")
    assert rec.kept_format == "mp3" and (tmp_path / rec.kept_path).exists()
    assert not ogg.exists() and not process.peaks_file(tmp_path, ogg.relative_to(tmp_path)
                                                        .as_posix()).exists()


async def test_a_batch_resumes_where_it_stopped(
        sessions: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    ids = []
    for n in range(3):
        rel = f"2026/05/06/17780000{n:02d}.1.wav"
        tone_wav(tmp_path / rel, 1.0)
        ids.append(await add_call_recording(sessions, f"17780000{n:02d}.1", rel, seconds=1.0))

    first = await process.run_batch(sessions, tmp_path, RecordingsSettings(), limit=2)
    second = await process.run_batch(sessions, tmp_path, RecordingsSettings())

    assert (first.done, first.total, second.done, second.total) == (2, 2, 1, 1)
    assert {(await _row(sessions, i)).process_state for i in ids} == {"done"}


def test_merge_legs_puts_the_caller_left_and_staff_right(tmp_path: Path) -> None:
    caller = audio.load(tone_wav(tmp_path / "c.wav", 2.0, amplitude=0.5))
    staff = audio.load(tone_wav(tmp_path / "s.wav", 1.5, amplitude=0.0))

    stereo = audio.merge_legs(caller, staff)

    left, right = stereo.split_to_mono()
    assert stereo.channels == 2 and len(stereo) == 2000
    assert left.max_dBFS > -7 and right.max_dBFS == float("-inf")


@pytest.mark.parametrize(("original", "copy", "same"), [
    (100.0, 100.9, True), (100.0, 101.1, False), (1.0, 1.08, True), (1.0, 1.2, False)])
def test_same_length_is_one_percent_or_a_tenth_of_a_second(
        original: float, copy: float, same: bool) -> None:
    assert audio.same_length(original, copy) is same


def test_a_stereo_copy_gets_the_bitrate_for_each_channel() -> None:
    assert audio.per_file_bitrate("16k", 1) == "16k"
    assert audio.per_file_bitrate("16k", 2) == "32k"
    assert audio.per_file_bitrate("24000", 2) == "48000"
