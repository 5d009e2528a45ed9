"""`hotline ... | head`: every command behaves in a pipe whose reader has gone — the real
console script, its stdout a real pipe whose reading end is already closed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cli.main import SIGPIPE_EXIT
from hotline.db.migrate import upgrade

HOTLINE = Path(sys.executable).parent / "hotline"


def into_closed_pipe(*argv: str, env: dict[str, str] | None = None
                     ) -> subprocess.CompletedProcess[str]:
    """Run `hotline argv...` writing into a pipe nobody reads any more (as `| head` leaves
    it once head has its lines): the first write fails with EPIPE."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run([str(HOTLINE), *argv], stdout=write_end, stderr=subprocess.PIPE,
                              text=True, env=env, timeout=60, check=False)
    finally:
        os.close(write_end)


@pytest.fixture
def site(tmp_path: Path) -> dict[str, str]:
    """The environment of a hotline with its own data folder and (migrated) database."""
    config, url = tmp_path / "hotline.toml", f"sqlite:///{tmp_path / 'hotline.db'}"
    config.write_text(f'[paths]\ndata_dir = "data"\n[database]\nurl = "{url}"\n',
                      encoding="utf-8")
    upgrade(url)
    return {**os.environ, "HOTLINE_CONFIG": str(config)}


@pytest.mark.parametrize("argv", [["status"], ["calendar", "show", "2027-02"]])
def test_a_closed_pipe_ends_the_command_quietly(site: dict[str, str], argv: list[str]) -> None:
    done = into_closed_pipe(*argv, env=site)
    assert done.stderr == ""
    assert done.returncode == SIGPIPE_EXIT


def test_help_into_a_closed_pipe_is_quiet_too(site: dict[str, str]) -> None:
    # argparse ignores the failed write itself; the flush at exit did not.
    assert into_closed_pipe("--help", env=site).stderr == ""


def test_an_open_pipe_still_gets_everything(site: dict[str, str]) -> None:
    done = subprocess.run([str(HOTLINE), "status"], capture_output=True, text=True, env=site,
                          timeout=60, check=False)
    assert done.stdout.startswith("pbx ") and "database" in done.stdout
