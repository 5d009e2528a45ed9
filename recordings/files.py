"""What is in a recording file: complete, how long, valid audio or not.

MixMonitor writes a WAV file and fixes its header when the call ends, a moment after the
hang-up; :func:`wait_finished` waits for that before the file is judged.
"""

from __future__ import annotations

import asyncio
import os
import struct
import wave
from dataclasses import dataclass
from pathlib import Path

COMPLETE, MISSING, INVALID = "complete", "missing", "invalid"


@dataclass(frozen=True)
class Probe:
    status: str
    duration_seconds: float | None = None
    size_bytes: int | None = None


# The header Asterisk writes (format_wav): RIFF, WAVE, a 16-byte PCM fmt chunk, data.
_CANONICAL = struct.Struct("<4sI4s4sIHHIIHH4sI")
_CANONICAL_SIZE = _CANONICAL.size  # 44


def probe(path: Path) -> Probe:
    """Read a WAV file's header and size; never raises for a bad or missing file."""
    return _canonical_probe(path) or _wave_probe(path)


def _canonical_probe(path: Path) -> Probe | None:
    """A finished file with Asterisk's 44-byte header, judged from that header alone (one
    open and read: the call tracker judges every call's recording on the bridge's loop);
    None for anything else, which the wave module reads."""
    try:  # the bare system calls: a file object's layers cost more than the read itself
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        size = os.fstat(fd).st_size
        head = os.pread(fd, _CANONICAL_SIZE, 0)
    except OSError:
        return None
    finally:
        os.close(fd)
    if len(head) < _CANONICAL_SIZE:
        return None
    (riff, riff_size, wave_id, fmt, fmt_size, tag, channels, rate, _byte_rate, _align, bits,
     data, data_size) = _CANONICAL.unpack(head)
    if (riff, wave_id, fmt, data, fmt_size, tag) != (b"RIFF", b"WAVE", b"fmt ", b"data", 16, 1):
        return None
    frame_bytes = channels * ((bits + 7) // 8)
    if (riff_size != size - 8 or data_size != size - _CANONICAL_SIZE or rate <= 0
            or frame_bytes <= 0):
        return None  # unfinished, or padded: as the wave module judges it
    return Probe(COMPLETE, data_size // frame_bytes / rate, size)


def _wave_probe(path: Path) -> Probe:
    try:
        size = path.stat().st_size
        with wave.open(str(path), "rb") as audio:
            frames, rate = audio.getnframes(), audio.getframerate()
    except FileNotFoundError:
        return Probe(MISSING)
    except (wave.Error, EOFError, OSError):
        return Probe(INVALID, None, _size_or_none(path))
    if rate <= 0:
        return Probe(INVALID, None, size)
    return Probe(COMPLETE, frames / rate, size)


def _size_or_none(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None


async def wait_finished(path: Path, timeout: float = 10.0, settle: float = 0.5) -> Probe:
    """Wait until the file has stopped growing and its header is final (or the timeout),
    then probe it. MixMonitor may pause writing for a while before its last flush (after an
    attended transfer, for one): a file that stands still with its header still unwritten
    is not finished yet. A file whose header already gives its true sizes is returned at
    once: Asterisk writes them only when it closes the file (its first header says 0), and
    most calls' recordings are closed by the time their Hangup is heard."""
    closed = _canonical_probe(path)
    if closed is not None:
        return closed
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last_size = -1
    while loop.time() < deadline:
        size = _size_or_none(path)
        if size is not None and size == last_size:
            found = probe(path)
            if found.status == COMPLETE:
                return found
        last_size = size if size is not None else -1
        await asyncio.sleep(settle)
    return probe(path)
