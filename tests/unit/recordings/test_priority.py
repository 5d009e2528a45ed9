"""recordings.priority: post-processing runs at low CPU and I/O priority (ffmpeg included)
and takes smaller batches while the bridge serves calls. Real processes, real ffmpeg."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import threading
import time
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.settings import PathsSettings, RecordingsSettings, Settings
from recordings import jobs, priority, process
from tests.unit.recordings.helpers import add_call_recording, tone_wav


def _nice(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


def _children(parent: int) -> dict[int, str]:
    """pid → command name of the live processes whose parent is `parent`."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            head, tail = stat.read_text().rsplit(")", 1)
        except OSError:
            continue
        if int(tail.split()[1]) == parent:
            found[int(stat.parent.name)] = head.split("(", 1)[1]
    return found


def _beat(settings: Settings, sessions: int, age: float = 0.0) -> None:
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    settings.bridge_heartbeat_file.write_text(
        json.dumps({"pid": 1, "time": time.time() - age, "agi_sessions": sessions}))


async def test_what_background_work_starts_runs_at_nice_19_in_the_idle_io_class() -> None:
    def start_a_child() -> tuple[int, int]:
        child = subprocess.Popen(["sleep", "10"])
        try:
            return _nice(child.pid), priority.io_class(child.pid)
        finally:
            child.kill()
            child.wait()

    own_nice = os.getpriority(os.PRIO_PROCESS, 0)

    assert await priority.in_background(start_a_child) == (19, priority.IOPRIO_CLASS_IDLE)
    # Only the worker thread was lowered: the rest of the process keeps its priority.
    assert os.getpriority(os.PRIO_PROCESS, 0) == own_nice
    assert priority.io_class(threading.get_native_id()) != priority.IOPRIO_CLASS_IDLE


def test_calls_in_progress_come_from_a_fresh_bridge_heartbeat(tmp_path: Path) -> None:
    settings = Settings(paths=PathsSettings(data_dir=tmp_path))
    heartbeat = settings.bridge_heartbeat_file
    assert priority.calls_in_progress(heartbeat) == 0  # no bridge
    _beat(settings, 7)
    assert priority.calls_in_progress(heartbeat) == 7
    _beat(settings, 7, age=priority.HEARTBEAT_FRESH_SECONDS + 5)
    assert priority.calls_in_progress(heartbeat) == 0  # a bridge that stopped
    heartbeat.write_text("{not json")
    assert priority.calls_in_progress(heartbeat) == 0


async def test_the_batch_shrinks_while_calls_are_up(
        sessions: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    settings = Settings(paths=PathsSettings(data_dir=tmp_path / "data"))
    root = tmp_path / "recordings"
    for n in range(jobs.PROCESS_WHILE_CALLS + 3):
        rel = f"2026/05/06/17780000{n:02d}.1.wav"
        tone_wav(root / rel, 1.0)
        await add_call_recording(sessions, f"17780000{n:02d}.1", rel, seconds=1.0)

    def calls_come_in(_progress: process.Progress, _outcome: process.Outcome) -> None:
        _beat(settings, 40)

    _beat(settings, 0)
    busy = await process.run_batch(sessions, root, RecordingsSettings(),
                                   limit=jobs.PROCESS_PER_RUN, report=calls_come_in,
                                   budget=lambda: jobs.process_budget(settings))
    _beat(settings, 0)
    quiet = await process.run_batch(sessions, root, RecordingsSettings(),
                                    limit=jobs.PROCESS_PER_RUN,
                                    budget=lambda: jobs.process_budget(settings))

    assert busy.done == jobs.PROCESS_WHILE_CALLS  # calls came up after the first one
    assert quiet.done == 3  # the rest, once the calls are over


async def test_ffmpeg_transcoding_a_recording_runs_at_the_low_priority(
        sessions: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    rel = "2026/05/06/1778000000.1.wav"
    tone_wav(tmp_path / rel, 240.0)
    rec_id = await add_call_recording(sessions, "1778000000.1", rel, seconds=240.0)
    seen: dict[int, tuple[int, int]] = {}  # ffmpeg pid → (nice, I/O class)
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            for pid, name in _children(os.getpid()).items():
                if name == "ffmpeg" and pid not in seen:
                    with contextlib.suppress(OSError):  # it ended between the two reads
                        seen[pid] = (_nice(pid), priority.io_class(pid))
            time.sleep(0.002)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        outcome = await process.process_one(sessions, tmp_path, rec_id, RecordingsSettings())
    finally:
        done.set()
        watcher.join()

    assert outcome.ok, outcome.message
    assert seen, "no ffmpeg process was seen"
    assert set(seen.values()) == {(19, priority.IOPRIO_CLASS_IDLE)}
