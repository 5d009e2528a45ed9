"""`hotline status`'s clock line: a clock NOT synchronised is a WARNING; one that no source
can read is "unknown", never a warning."""

from __future__ import annotations

from cli.health import clock_line
from hotline.clock import ClockState


def test_the_clock_line() -> None:
    assert clock_line(ClockState(True, "chronyc tracking, leap status")) == (
        "clock     synchronised (chronyc tracking, leap status)")
    assert clock_line(ClockState(None, "systemd is not running")) == (
        "clock     unknown (systemd is not running)")
    warning = clock_line(ClockState(False, "timedatectl NTPSynchronized"))
    assert warning.startswith("WARNING   NOT synchronised (timedatectl NTPSynchronized): ")
    assert "run NTP" in warning
