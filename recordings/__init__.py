"""Full-call recordings: checking the files MixMonitor writes, processing and keeping them.

The face other parts use: what a recording file holds (probe, wait_finished, Probe and its
COMPLETE status), the timed work the scheduler runs (schedule), and the low-priority worker
that other heavy background work shares (in_background: the nightly backup).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from recordings.files import COMPLETE, Probe, probe, wait_finished

if TYPE_CHECKING:
    from hotline.settings import Settings
    from recordings.jobs import JobFunction

T = TypeVar("T")

__all__ = ["COMPLETE", "Probe", "in_background", "probe", "schedule", "wait_finished"]


def schedule(settings: Settings) -> list[tuple[str, float, JobFunction]]:
    """The recordings' jobs for the scheduler: (name, every seconds, job)."""
    from recordings import jobs  # its database and audio imports only where jobs run

    return jobs.schedule(settings)


async def in_background(func: Callable[..., T], *args: object) -> T:
    """Run blocking work on the recordings' worker thread, at nice 19 and the idle I/O
    class (recordings/priority.py), so that it yields to live calls."""
    from recordings import priority

    return await priority.in_background(func, *args)
