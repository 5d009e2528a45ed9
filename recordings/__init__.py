"""Full-call recordings: checking the files MixMonitor writes, processing and keeping them.

The face other parts use: what a recording file holds (probe, wait_finished, Probe and its
COMPLETE status), and the timed work the scheduler runs (schedule).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from recordings.files import COMPLETE, Probe, probe, wait_finished

if TYPE_CHECKING:
    from hotline.settings import Settings
    from recordings.jobs import JobFunction

__all__ = ["COMPLETE", "Probe", "probe", "schedule", "wait_finished"]


def schedule(settings: Settings) -> list[tuple[str, float, JobFunction]]:
    """The recordings' jobs for the scheduler: (name, every seconds, job)."""
    from recordings import jobs  # its database and audio imports only where jobs run

    return jobs.schedule(settings)
