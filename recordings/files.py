"""What is in a recording file: complete, how long, valid audio or not.

MixMonitor writes a WAV file and fixes its header when the call ends, a moment after the
hang-up; :func:`wait_finished` waits for that before the file is judged.
"""

from __future__ import annotations

import asyncio
import wave
from dataclasses import dataclass
from pathlib import Path

COMPLETE, MISSING, INVALID = "complete", "missing", "invalid"


@dataclass(frozen=True)
class Probe:
    status: str
    duration_seconds: float | None = None
    size_bytes: int | None = None


def probe(path: Path) -> Probe:
    """Read a WAV file's header and size; never raises for a bad or missing file."""
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
    is not finished yet."""
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
