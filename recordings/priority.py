"""Background work yields to live calls.

Post-processing (decoding, ffmpeg, peaks) runs on one worker thread that has lowered its own
CPU priority to nice 19 and its I/O priority to the idle class: Linux keeps both per
thread, and the ffmpeg processes that pydub starts from that thread inherit them. So the
scheduler's other jobs, and everything else in its process, keep their priority, and a
transcode takes only what Asterisk and the bridge leave over.

While calls are up (the bridge's heartbeat counts its AGI sessions) the jobs also take
smaller batches (recordings.jobs): the work waits for a quieter moment instead of queueing
behind the calls for the same cores.
"""

from __future__ import annotations

import asyncio
import ctypes
import functools
import json
import logging
import os
import platform
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

log = logging.getLogger(__name__)

NICE = 19
IOPRIO_CLASS_IDLE = 3
_IOPRIO_WHO_PROCESS = 1  # a pid or, on Linux, one thread's id
_IOPRIO_CLASS_SHIFT = 13
_SYSCALLS = {"x86_64": (251, 252), "aarch64": (30, 31)}  # ioprio_set, ioprio_get
# The bridge writes its heartbeat every 2 s; one older than this is from a bridge that
# stopped, and says nothing about calls now.
HEARTBEAT_FRESH_SECONDS = 30.0

T = TypeVar("T")
_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def lower_this_thread() -> None:
    """nice 19 and the idle I/O class for the calling thread (and what it starts)."""
    tid = threading.get_native_id()
    os.setpriority(os.PRIO_PROCESS, tid, NICE)
    try:
        _ioprio_set(tid, IOPRIO_CLASS_IDLE << _IOPRIO_CLASS_SHIFT)
    except OSError as exc:
        log.warning("cannot lower the I/O priority of background work: %s", exc)


def io_class(pid: int) -> int:
    """The I/O scheduling class of a process or thread (3 = idle; 0 = none set, which the
    kernel treats as best effort from the CPU priority)."""
    return _ioprio_get(pid) >> _IOPRIO_CLASS_SHIFT


def _syscall(index: int, *args: int) -> int:
    numbers = _SYSCALLS.get(platform.machine())
    if numbers is None:
        raise OSError(f"ioprio syscalls unknown on {platform.machine()}")
    libc = ctypes.CDLL(None, use_errno=True)
    result = int(libc.syscall(numbers[index], *args))
    if result < 0:
        errno = ctypes.get_errno()
        raise OSError(errno, os.strerror(errno))
    return result


def _ioprio_set(tid: int, value: int) -> None:
    _syscall(0, _IOPRIO_WHO_PROCESS, tid, value)


def _ioprio_get(pid: int) -> int:
    return _syscall(1, _IOPRIO_WHO_PROCESS, pid)


def background_executor() -> ThreadPoolExecutor:
    """The one low-priority worker thread, started on first use."""
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="background",
                                           initializer=lower_this_thread)
        return _executor


async def in_background(func: Callable[..., T], *args: object) -> T:
    """Run blocking work on the low-priority thread (asyncio.to_thread's low twin)."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(background_executor(), functools.partial(func, *args))


def calls_in_progress(heartbeat: Path, now: float | None = None) -> int:
    """Calls the bridge is serving (its AGI sessions), from its heartbeat file; 0 when there
    is no fresh heartbeat (no bridge: nothing to say about calls)."""
    try:
        beat = json.loads(heartbeat.read_text())
        sessions, written = int(beat.get("agi_sessions", 0)), float(beat["time"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return 0
    fresh = (time.time() if now is None else now) - written <= HEARTBEAT_FRESH_SECONDS
    return max(sessions, 0) if fresh else 0
