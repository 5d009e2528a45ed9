"""Each part's share of the cores when they are all busy: callers first.

Linux shares the cores between groups of processes before it shares them between threads:
between sessions (autogroups: `hotline up` starts every part with setsid) or, under systemd,
between services (cgroups, the units' CPUWeight). Within a group a thread's nice counts only
against the group's other threads.

So the bridge, one event loop that every caller's next prompt waits on, competes as one group
against Asterisk's hundreds of threads (one or more per call): at 300 concurrent calls on two
cores, in a group with the load generator's RTP threads, its loop waited for a core 0.9 s of
every second and callers waited seconds for the welcome (bench/README.md, 2026-12-01). With
its group at nice -10 it waited 0.07 s a second. It costs the calls' media little: the bridge
takes a few ms of CPU per call, and a weight caps nothing it does not ask for.

The scheduler's jobs (escalation, messages, recordings' transcoding, reports, backups) go
the other way, nice 10 (a ninth of a normal group's weight): they take what the calls
leave over, yet still move on a machine kept busy by other work. Its transcoding thread's own
nice 19 counts only inside its group: without the group's nice, `hotline up`'s scheduler
competed with Asterisk as an equal.

Raising a group's priority needs root (or CAP_SYS_NICE); lowering it does not. A process
changes its group only when it leads its own session: started by hand from a shell it would
change the whole shell's share.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

BRIDGE_NICE = -10
BACKGROUND_NICE = 10
_AUTOGROUP = Path("/proc/self/autogroup")


def set_session_nice(nice: int, what: str, autogroup: Path = _AUTOGROUP) -> bool:
    """Give this process's session (its autogroup) `nice`; True when done. Logs why not."""
    if os.getsid(0) != os.getpid():
        log.info("%s: not a session leader; its CPU share is its parent's", what)
        return False
    try:
        autogroup.write_text(f"{nice}\n")
    except PermissionError:
        log.info("%s: may not set its CPU share to nice %d (needs root or CAP_SYS_NICE); "
                 "the service manager's weight applies", what, nice)
        return False
    except OSError as exc:  # no autogroups in this kernel, or switched off
        log.info("%s: CPU share not set (%s)", what, exc)
        return False
    log.info("%s: its session's CPU share is nice %d", what, nice)
    return True


def session_nice(pid: int) -> int | None:
    """The nice of a process's autogroup ("/autogroup-12 nice -10"), None without one."""
    try:
        return int(Path(f"/proc/{pid}/autogroup").read_text().split()[-1])
    except (OSError, ValueError, IndexError):
        return None
