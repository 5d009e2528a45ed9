"""Recordings as the tests need them: a call row with a recording row, and real audio."""

from __future__ import annotations

import math
import struct
import wave
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.db import calls
from hotline.db.base import session_scope, utcnow
from hotline.db.models import Recording


def tone_wav(path: Path, seconds: float, amplitude: float = 0.3, freq: float = 440.0,
             rate: int = 8000, channels: int = 1) -> Path:
    """A sine tone as MixMonitor writes audio: 8 kHz, 16-bit (amplitude 0 = digital silence)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = int(seconds * rate)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(rate)
        samples = (int(amplitude * 32767 * math.sin(2 * math.pi * freq * n / rate))
                   for n in range(frames))
        out.writeframes(b"".join(struct.pack("<h", s) * channels for s in samples))
    return path


async def add_call_recording(sessions: async_sessionmaker[AsyncSession], call_id: str,
                             relative: str, *, seconds: float | None = None,
                             status: str = "complete", created_at: datetime | None = None,
                             answered: bool = True) -> int:
    """A call that was answered and ended, with its recording row; returns the row's id."""
    started = created_at or utcnow() - timedelta(minutes=10)
    async with session_scope(sessions) as session:
        await calls.ensure_call(session, call_id, started_at=started, route="menu",
                                answered_at=started if answered else None,
                                ended_at=started + timedelta(seconds=seconds or 5),
                                disposition="answered" if answered else "unanswered")
        rec = Recording(call_id=call_id, path=relative, status=status, created_at=started,
                        duration_seconds=seconds)
        session.add(rec)
        await session.flush()
        return rec.id
