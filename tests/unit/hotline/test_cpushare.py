"""hotline.cpushare on the real kernel: a part that leads its session sets its autogroup's
nice; one that does not leaves its parent's session alone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hotline import cpushare

REPO = Path(__file__).resolve().parents[3]
PROBE = ("import os, sys; from hotline import cpushare; "
         "done = cpushare.set_session_nice(int(sys.argv[1]), 'probe'); "
         "print(done, cpushare.session_nice(os.getpid()))")

needs_autogroups = pytest.mark.skipif(not Path("/proc/self/autogroup").exists(),
                                      reason="this kernel has no autogroups")


def probe(nice: int, new_session: bool) -> str:
    return subprocess.run([sys.executable, "-c", PROBE, str(nice)], cwd=REPO, check=True,
                          capture_output=True, text=True,
                          start_new_session=new_session).stdout.strip()


@needs_autogroups
def test_a_session_leader_lowers_its_share() -> None:
    assert probe(cpushare.BACKGROUND_NICE, new_session=True) == "True 10"


@needs_autogroups
@pytest.mark.skipif(os.geteuid() != 0, reason="raising a share needs root")
def test_the_bridge_raises_its_share_as_root() -> None:
    assert probe(cpushare.BRIDGE_NICE, new_session=True) == "True -10"


@needs_autogroups
def test_a_process_in_someone_elses_session_leaves_that_session_alone() -> None:
    before = cpushare.session_nice(os.getpid())

    assert probe(cpushare.BRIDGE_NICE, new_session=False) == f"False {before}"
    assert cpushare.session_nice(os.getpid()) == before


def test_a_kernel_without_autogroups_is_not_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "autogroup"
    done = subprocess.run(
        [sys.executable, "-c", "import sys; from pathlib import Path; from hotline import "
         "cpushare; print(cpushare.set_session_nice(5, 'probe', Path(sys.argv[1])))",
         str(missing)], cwd=REPO, check=True, capture_output=True, text=True,
        start_new_session=True)

    assert done.stdout.strip() == "False"
    assert cpushare.session_nice(-1) is None
