"""Whether the server's clock is kept right by NTP (issue 16): deadlines (2 working days),
office hours, escalation and the recordings' times all read it, so `hotline status` warns
when it is not synchronised, and says "unknown" (with why) rather than warn falsely when
no source can tell.

Sources, in order: systemd's `timedatectl` (which reports the kernel's own flag, whoever
sets the clock: systemd-timesyncd or chrony), then `chronyc tracking`, then the flag file
systemd-timesyncd leaves once it has synchronised.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

SYSTEMD_RUNNING = Path("/run/systemd/system")  # sd_booted(): systemd is PID 1
TIMESYNCD_FLAG = Path("/run/systemd/timesync/synchronized")
COMMAND_TIMEOUT = 3.0
# chronyc's leap status: any but "Not synchronised" means chronyd follows a source.
_LEAP = re.compile(r"^Leap status\s*:\s*(.+?)\s*$", re.MULTILINE)
_NTP_SYNCHRONIZED = re.compile(r"^NTPSynchronized=(yes|no)\s*$", re.MULTILINE)

Run = Callable[[list[str]], tuple[int, str]]


@dataclass(frozen=True)
class ClockState:
    synchronised: bool | None  # None: no source could tell
    detail: str  # where the answer came from, or why there is none

    def line(self) -> str:
        """One line for `hotline status`."""
        if self.synchronised:
            return f"synchronised ({self.detail})"
        if self.synchronised is None:
            return f"unknown ({self.detail})"
        return (f"NOT synchronised ({self.detail}): deadlines and office hours follow this "
                "clock; run NTP (docs/operations.md, \"The clock\")")


def parse_timedatectl(output: str) -> bool | None:
    """`timedatectl show -p NTPSynchronized`: "NTPSynchronized=yes" or "=no"; None for
    anything else (an error: systemd not running, no D-Bus)."""
    match = _NTP_SYNCHRONIZED.search(output)
    return None if match is None else match.group(1) == "yes"


def parse_chronyc_tracking(output: str) -> bool | None:
    """`chronyc tracking`'s "Leap status": Normal, Insert second or Delete second when
    chronyd is synchronised, "Not synchronised" when not; None without that line (no
    daemon: "506 Cannot talk to daemon")."""
    match = _LEAP.search(output)
    return None if match is None else match.group(1) != "Not synchronised"


def clock_state(run: Run | None = None, systemd: Path = SYSTEMD_RUNNING,
                timesyncd_flag: Path = TIMESYNCD_FLAG) -> ClockState:
    """Ask each source in turn; the first that can tell answers."""
    run = run or _run
    why_not = []
    if not systemd.exists():
        why_not.append("systemd is not running")
    else:
        code, out = run(["timedatectl", "show", "-p", "NTPSynchronized"])
        if (answer := parse_timedatectl(out)) is not None:
            return ClockState(answer, "timedatectl NTPSynchronized")
        why_not.append(f"timedatectl answered {_first_line(out, code)}")
    code, out = run(["chronyc", "-n", "tracking"])
    if (answer := parse_chronyc_tracking(out)) is not None:
        return ClockState(answer, "chronyc tracking, leap status")
    why_not.append(f"chronyc: {_first_line(out, code)}")
    if timesyncd_flag.exists():
        return ClockState(True, f"{timesyncd_flag} exists")
    why_not.append("no systemd-timesyncd flag")
    return ClockState(None, "; ".join(why_not))


def _run(command: list[str]) -> tuple[int, str]:
    """(exit status, stdout and stderr); 127 and a sentence when it cannot run at all."""
    if shutil.which(command[0]) is None:
        return 127, "not installed"
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False,
                              timeout=COMMAND_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return 127, str(exc)
    return done.returncode, done.stdout + done.stderr


def _first_line(output: str, code: int) -> str:
    line = next((s.strip() for s in output.splitlines() if s.strip()), "")
    return line or f"nothing (exit status {code})"
