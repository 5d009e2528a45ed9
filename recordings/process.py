"""Post-processing of whole-call recordings, after the hang-up (the scheduler's job, and
`hotline recordings process` for a backlog):

1. level: duration, peak and RMS level; a recording whose peak is below
   [recordings] silent_below_dbfs is flagged silent and raises an alert;
2. transcode: a compact copy in the kept format ([recordings] format, bitrate), mono (stereo
   for two-channel recordings: caller left, staff right);
3. verify: the copy must decode to the same length (audio.same_length);
4. peaks: <kept file>.peaks.json for the console's waveform;
5. keep: the row names the copy, then the original WAV is deleted.

A failure at any step leaves the original where it was, sets process_state failed and
process_error "[attempt N] why"; the job tries again until [recordings] max_attempts, then
raises a "recording-failed" alert. All state is in the database, so a batch stopped half-way
continues where it stopped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.db import alerts
from hotline.db import recordings as db
from hotline.db.base import session_scope, utcnow
from hotline.db.models import Recording
from hotline.settings import RecordingsSettings
from recordings import audio, priority
from recordings.texts import ALERTS

log = logging.getLogger(__name__)

# MixMonitor's two legs (its r() and t() files) beside the mixed file: when both are there
# the kept copy is stereo, caller left, staff right. The dialplan does not write them yet.
CALLER_LEG, STAFF_LEG = "-caller.wav", "-staff.wav"


@dataclass(frozen=True)
class Outcome:
    rec_id: int
    ok: bool
    message: str
    seconds: float = 0.0  # the recording's length (for the batch's rate)


@dataclass(frozen=True)
class _Kept:
    relative: str
    size: int
    level: audio.Level
    channels: int
    sources: tuple[Path, ...]  # files to delete once the row names the copy


def kept_name(original: str, fmt: str) -> str:
    """2024/05/01/1714.1.wav → 2024/05/01/1714.1.ogg (opus) or .mp3."""
    return str(Path(original).with_suffix("." + audio.CONTAINERS[fmt]))


def peaks_file(root: Path, kept_relative: str) -> Path:
    return root / (kept_relative + db.PEAKS_SUFFIX)


def legs(root: Path, original: str) -> tuple[Path, Path]:
    base = root / original
    stem = base.with_suffix("")
    return stem.with_name(stem.name + CALLER_LEG), stem.with_name(stem.name + STAFF_LEG)


def _work(root: Path, rec: Recording, conf: RecordingsSettings) -> _Kept:
    """The blocking part (decode, encode, verify), run in a worker thread."""
    original = root / rec.path
    caller_leg, staff_leg = legs(root, rec.path)
    sources: tuple[Path, ...] = ()
    if original.exists():
        source, reference = original, None
        sources = (original,)
    elif rec.kept_path and (root / rec.kept_path).exists():
        # Re-transcoding the archive: the kept copy is the source, its row the reference.
        source, reference = root / rec.kept_path, rec.duration_seconds
    else:
        raise audio.AudioError(f"{rec.path}: the file is missing")
    sound = audio.load(source)
    if caller_leg.exists() and staff_leg.exists():
        sound = audio.merge_legs(audio.load(caller_leg), audio.load(staff_leg))
        sources += (caller_leg, staff_leg)
    level = audio.level(sound)
    target_relative = kept_name(rec.path, conf.format)
    target = root / target_relative
    partial = target.with_name(target.name + ".part")
    channels = 2 if sound.channels == 2 else 1
    audio.transcode(sound, partial, conf.format, conf.bitrate, channels)
    copy_seconds = len(audio.load(partial)) / 1000.0
    expected = reference or level.duration_seconds
    if not audio.same_length(expected, copy_seconds):
        partial.unlink(missing_ok=True)
        raise audio.AudioError(f"{target.name}: decodes to {copy_seconds:.2f} s, the "
                               f"original is {expected:.2f} s")
    audio.write_peaks(peaks_file(root, target_relative), sound)
    partial.replace(target)
    if rec.kept_path and rec.kept_path != target_relative:
        sources += (root / rec.kept_path, peaks_file(root, rec.kept_path))
    return _Kept(target_relative, target.stat().st_size, level, channels, sources)


async def process_one(sessions: async_sessionmaker[AsyncSession], root: Path, rec_id: int,
                      conf: RecordingsSettings) -> Outcome:
    """Post-process one recording; never raises for a bad file (the row says what failed)."""
    async with session_scope(sessions) as session:
        rec = await db.get_recording(session, rec_id)
        if rec is None or rec.deleted_at is not None:
            return Outcome(rec_id, False, "no such recording")
        session.expunge(rec)
    try:
        # Low CPU and I/O priority, ffmpeg included: live calls come first.
        kept = await priority.in_background(_work, root, rec, conf)
    except audio.AudioError as exc:
        return await _failed(sessions, rec, str(exc), conf)
    async with session_scope(sessions) as session:
        await _keep(session, rec_id, kept, conf)
    # Only now that the row names the verified copy does the original go.
    for path in kept.sources:
        path.unlink(missing_ok=True)
    return Outcome(rec_id, True, f"{rec.path} → {kept.relative} ({kept.size} bytes)",
                   kept.level.duration_seconds)


async def _keep(session: AsyncSession, rec_id: int, kept: _Kept,
                conf: RecordingsSettings) -> None:
    rec = await db.get_recording(session, rec_id)
    assert rec is not None
    silent = kept.level.peak_dbfs < conf.silent_below_dbfs
    rec.kept_path, rec.kept_format, rec.kept_size_bytes = kept.relative, conf.format, kept.size
    rec.original_deleted, rec.channels = True, kept.channels
    rec.level_dbfs, rec.silent = kept.level.peak_dbfs, silent
    rec.process_state, rec.process_error, rec.processed_at = db.DONE, "", utcnow()
    await alerts.resolve_alert(session, alerts.RECORDING_FAILED, rec.path)
    if silent:
        await alerts.raise_alert(session, alerts.RECORDING_SILENT, rec.path,
                                 ALERTS["silent"].format(level=kept.level.peak_dbfs,
                                                         path=rec.path))
    else:
        await alerts.resolve_alert(session, alerts.RECORDING_SILENT, rec.path)


async def _failed(sessions: async_sessionmaker[AsyncSession], rec: Recording, why: str,
                  conf: RecordingsSettings) -> Outcome:
    attempt = db.failed_attempts(rec) + 1
    log.warning("recording %s: post-processing attempt %d failed: %s", rec.path, attempt, why)
    async with session_scope(sessions) as session:
        row = await db.get_recording(session, rec.id)
        if row is not None:
            row.process_state, row.process_error = db.FAILED, f"[attempt {attempt}] {why}"
        if attempt >= conf.max_attempts:
            await alerts.raise_alert(session, alerts.RECORDING_FAILED, rec.path,
                                     ALERTS["failed"].format(attempts=attempt, path=rec.path,
                                                             why=why))
    return Outcome(rec.id, False, why)


# --- batches --------------------------------------------------------------------------

@dataclass
class Progress:
    done: int
    total: int
    failed: int
    audio_seconds: float
    elapsed: float

    @property
    def rate(self) -> float:
        """Recordings per second so far."""
        return self.done / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta_seconds(self) -> float | None:
        return (self.total - self.done) / self.rate if self.rate > 0 else None

    def line(self) -> str:
        eta = self.eta_seconds
        speed = self.audio_seconds / self.elapsed if self.elapsed > 0 else 0.0
        return (f"{self.done}/{self.total}  {self.rate:.2f}/s  {speed:.0f}× real time  "
                f"failed {self.failed}  ETA {'?' if eta is None else _clock(eta)}")


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds + 0.5), 60)
    return f"{minutes // 60}:{minutes % 60:02d}:{secs:02d}"


async def run_batch(sessions: async_sessionmaker[AsyncSession], root: Path,
                    conf: RecordingsSettings, *, since: datetime | None = None,
                    limit: int | None = None,
                    report: Callable[[Progress, Outcome], None] | None = None,
                    budget: Callable[[], int] | None = None) -> Progress:
    """Process every recording waiting for it (at most `limit`), oldest first. `budget`,
    asked before each recording, may end the batch sooner: it stops once it has done that
    many (recordings.jobs shrinks it while calls are up)."""
    async with session_scope(sessions) as session:
        total = await db.count_to_process(session, conf.max_attempts, since)
    total = min(total, limit) if limit is not None else total
    progress = Progress(0, total, 0, 0.0, 0.0)
    started, after_id = time.monotonic(), 0
    while progress.done < total:
        async with session_scope(sessions) as session:
            batch = [r.id for r in await db.to_process(session, conf.max_attempts,
                                                       limit=20, since=since,
                                                       after_id=after_id)]
        if not batch:
            break
        for rec_id in batch[: total - progress.done]:
            if budget is not None and progress.done >= budget():
                return progress
            outcome = await process_one(sessions, root, rec_id, conf)
            after_id = rec_id
            progress.done += 1
            progress.failed += not outcome.ok
            progress.audio_seconds += outcome.seconds
            progress.elapsed = time.monotonic() - started
            if report is not None:
                report(progress, outcome)
    return progress
