"""recordings.files: judging a recording file, and waiting until MixMonitor has closed it."""

from __future__ import annotations

import asyncio
import time
import wave
from pathlib import Path

import pytest

from recordings.files import (
    COMPLETE,
    INVALID,
    MISSING,
    Probe,
    _canonical_probe,
    _wave_probe,
    probe,
    wait_finished,
)
from tests.conftest import WavWriter


def test_probe_valid_wav(tmp_path: Path, make_wav: WavWriter) -> None:
    path = make_wav(tmp_path / "2026/11/27/1795747054.0.wav", 2.5)

    result = probe(path)

    assert result == Probe(COMPLETE, 2.5, path.stat().st_size)
    assert result.size_bytes == 44 + 2.5 * 8000 * 2


def test_probe_duration_uses_the_file_rate(tmp_path: Path) -> None:
    path = tmp_path / "wide.wav"
    with wave.open(str(path), "wb") as audio:
        audio.setnchannels(2)
        audio.setsampwidth(2)
        audio.setframerate(16000)
        audio.writeframes(b"\0" * 4 * 4000)

    assert probe(path).duration_seconds == 0.25


def test_probe_missing_file(tmp_path: Path) -> None:
    assert probe(tmp_path / "absent.wav") == Probe(MISSING, None, None)


@pytest.mark.parametrize("content", [b"", b"not a wav at all", b"RIFF\x10\x00\x00\x00WAVE"])
def test_probe_garbage_is_invalid(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.wav"
    path.write_bytes(content)

    assert probe(path) == Probe(INVALID, None, len(content))


def test_probe_truncated_header_is_invalid(tmp_path: Path, make_wav: WavWriter) -> None:
    path = make_wav(tmp_path / "cut.wav", 1.0)
    path.write_bytes(path.read_bytes()[:30])

    assert probe(path) == Probe(INVALID, None, 30)


def test_probe_directory_is_invalid_not_an_exception(tmp_path: Path) -> None:
    folder = tmp_path / "looks-like.wav"
    folder.mkdir()

    assert probe(folder).status == INVALID


async def test_wait_finished_returns_once_the_size_is_stable(
        tmp_path: Path, make_wav: WavWriter) -> None:
    path = make_wav(tmp_path / "done.wav", 1.0)

    started = time.monotonic()
    result = await wait_finished(path, timeout=5.0, settle=0.02)

    assert result == Probe(COMPLETE, 1.0, path.stat().st_size)
    assert time.monotonic() - started < 1.0


async def test_wait_finished_takes_a_closed_recording_at_its_header_without_waiting(
        tmp_path: Path, make_wav: WavWriter) -> None:
    path = make_wav(tmp_path / "closed.wav", 1.0)  # its header gives its sizes: closed

    # A minute between looks: only the first look can end it within the ten seconds.
    result = await asyncio.wait_for(wait_finished(path, timeout=120.0, settle=60.0), 10.0)

    assert result == Probe(COMPLETE, 1.0, path.stat().st_size)


async def test_wait_finished_waits_while_the_file_grows(tmp_path: Path,
                                                        make_wav: WavWriter) -> None:
    whole = make_wav(tmp_path / "source.wav", 1.0).read_bytes()
    path = tmp_path / "growing.wav"
    chunks = [whole[i:i + 2000] for i in range(0, len(whole), 2000)]
    path.write_bytes(chunks[0])

    async def mixmonitor() -> None:
        # Keeps writing faster than wait_finished's settle time, like a recording in progress.
        for chunk in chunks[1:]:
            await asyncio.sleep(0.005)
            with path.open("ab") as handle:
                handle.write(chunk)

    writer = asyncio.create_task(mixmonitor())
    result = await wait_finished(path, timeout=5.0, settle=0.05)

    assert writer.done()
    assert result == Probe(COMPLETE, 1.0, len(whole))


async def test_wait_finished_gives_up_at_the_timeout(tmp_path: Path) -> None:
    started = time.monotonic()
    result = await wait_finished(tmp_path / "never.wav", timeout=0.2, settle=0.05)

    assert result == Probe(MISSING)
    assert 0.15 <= time.monotonic() - started < 1.0



async def test_wait_finished_waits_for_the_header_of_a_file_that_stood_still(
        tmp_path: Path, make_wav: WavWriter) -> None:
    """MixMonitor after an attended transfer: the file stops growing for seconds with its
    header unwritten (RIFF and data sizes 0), then gets its last audio and its header."""
    whole = make_wav(tmp_path / "source.wav", 1.0).read_bytes()
    path = tmp_path / "paused.wav"
    unfinished = whole[:4] + b"\0\0\0\0" + whole[8:40] + b"\0\0\0\0" + whole[44:]
    path.write_bytes(unfinished[:6000])

    async def mixmonitor() -> None:
        await asyncio.sleep(0.5)  # ten settle times without a byte
        path.write_bytes(whole)

    writer = asyncio.create_task(mixmonitor())
    result = await wait_finished(path, timeout=5.0, settle=0.05)

    assert writer.done()
    assert result == Probe(COMPLETE, 1.0, len(whole))


@pytest.mark.parametrize(("channels", "width", "rate", "frames"),
                         [(1, 2, 8000, 8000), (2, 2, 16000, 4000), (1, 1, 8000, 801),
                          (1, 3, 48000, 4800), (1, 2, 8000, 0)])
def test_the_header_alone_judges_as_the_wave_module_does(
        tmp_path: Path, channels: int, width: int, rate: int, frames: int) -> None:
    path = tmp_path / "a.wav"
    with wave.open(str(path), "wb") as audio:
        audio.setnchannels(channels)
        audio.setsampwidth(width)
        audio.setframerate(rate)
        audio.writeframes(b"\1" * channels * width * frames)

    fast = _canonical_probe(path)

    assert fast is not None  # a finished file with the 44-byte header: no wave module
    assert fast == _wave_probe(path) == Probe(COMPLETE, frames / rate, path.stat().st_size)


def test_an_unfinished_or_unusual_header_is_left_to_the_wave_module(
        tmp_path: Path, make_wav: WavWriter) -> None:
    whole = make_wav(tmp_path / "source.wav", 1.0).read_bytes()
    unfinished = tmp_path / "unfinished.wav"
    unfinished.write_bytes(whole[:4] + b"\0\0\0\0" + whole[8:40] + b"\0\0\0\0" + whole[44:])
    grown = tmp_path / "grown.wav"  # audio after the data the header counts
    grown.write_bytes(whole + b"\0" * 100)

    assert _canonical_probe(unfinished) is None and probe(unfinished).status == INVALID
    assert _canonical_probe(grown) is None
    assert probe(grown) == _wave_probe(grown)
