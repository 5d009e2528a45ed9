"""The clock's sources read from what they really print (tests/fixtures/clock/README.md),
and the order they are asked in: the first that can tell answers; none: "unknown", why."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotline import clock

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "clock"


def _output(name: str) -> str:
    return (FIXTURES / name).read_text()


@pytest.mark.parametrize(("name", "synchronised"), [
    ("timedatectl-synchronised.txt", True),
    ("timedatectl-not-synchronised.txt", False),
    ("timedatectl-no-systemd.txt", None),
])
def test_timedatectl(name: str, synchronised: bool | None) -> None:
    assert clock.parse_timedatectl(_output(name)) is synchronised


@pytest.mark.parametrize(("name", "synchronised"), [
    ("chronyc-tracking-synchronised.txt", True),
    ("chronyc-tracking-not-synchronised.txt", False),
    ("chronyc-tracking-no-daemon.txt", None),
])
def test_chronyc_tracking(name: str, synchronised: bool | None) -> None:
    assert clock.parse_chronyc_tracking(_output(name)) is synchronised


def test_a_pending_leap_second_is_still_synchronised() -> None:
    text = _output("chronyc-tracking-synchronised.txt").replace("Normal", "Insert second")
    assert clock.parse_chronyc_tracking(text) is True


class Machine:
    """What each command prints on an imagined server, and which were run."""

    def __init__(self, **outputs: tuple[int, str]) -> None:
        self.outputs = outputs
        self.asked: list[str] = []

    def __call__(self, command: list[str]) -> tuple[int, str]:
        self.asked.append(command[0])
        return self.outputs.get(command[0], (127, "not installed"))


@pytest.fixture
def systemd(tmp_path: Path) -> Path:
    (tmp_path / "system").mkdir()
    return tmp_path / "system"


def test_timedatectl_answers_first_when_systemd_runs(systemd: Path, tmp_path: Path) -> None:
    machine = Machine(timedatectl=(0, _output("timedatectl-not-synchronised.txt")),
                      chronyc=(0, _output("chronyc-tracking-synchronised.txt")))
    state = clock.clock_state(machine, systemd, tmp_path / "flag")
    assert state == clock.ClockState(False, "timedatectl NTPSynchronized")
    assert machine.asked == ["timedatectl"]
    assert state.line().startswith("NOT synchronised (timedatectl NTPSynchronized): ")


def test_without_systemd_chrony_answers(tmp_path: Path) -> None:
    machine = Machine(chronyc=(0, _output("chronyc-tracking-synchronised.txt")))
    state = clock.clock_state(machine, tmp_path / "no-systemd", tmp_path / "flag")
    assert state.synchronised is True and machine.asked == ["chronyc"]
    assert state.line() == "synchronised (chronyc tracking, leap status)"


def test_the_timesyncd_flag_answers_last(systemd: Path, tmp_path: Path) -> None:
    flag = tmp_path / "synchronized"
    flag.touch()
    machine = Machine(timedatectl=(1, _output("timedatectl-no-systemd.txt")),
                      chronyc=(1, _output("chronyc-tracking-no-daemon.txt")))
    assert clock.clock_state(machine, systemd, flag).synchronised is True


def test_unknown_says_why_and_does_not_warn(tmp_path: Path) -> None:
    machine = Machine(chronyc=(1, _output("chronyc-tracking-no-daemon.txt")))
    state = clock.clock_state(machine, tmp_path / "no-systemd", tmp_path / "flag")
    assert state.synchronised is None
    assert state.line() == ("unknown (systemd is not running; chronyc: 506 Cannot talk to "
                            "daemon; no systemd-timesyncd flag)")

