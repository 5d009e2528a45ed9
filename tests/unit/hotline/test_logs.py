"""Our own log files rotate themselves: a bridge that logs for months cannot fill the disk."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import pytest

from hotline import logs


def test_a_log_file_rotates_at_its_size_and_keeps_a_few(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(logs, "ROTATE_BYTES", 2000)
    monkeypatch.setattr(logs, "ROTATE_KEEP", 2)
    logfile = tmp_path / "log" / "bridge.log"
    logs.configure(logfile)
    try:
        for n in range(200):
            logging.getLogger("test").info("line %d of a long day, caller 13800138000", n)
    finally:
        logging.basicConfig(handlers=[logging.NullHandler()], force=True)

    kept = sorted(p.name for p in logfile.parent.iterdir())
    assert kept == ["bridge.log", "bridge.log.1", "bridge.log.2"]
    assert all(p.stat().st_size <= 2000 for p in logfile.parent.iterdir())
    assert "line 199" in logfile.read_text()
    assert "13800138000" not in logfile.read_text()  # still masked


def test_lines_go_to_a_stderr_that_is_a_file_only_when_asked(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`hotline up` gives each process a file for stderr (bridge.out) that nothing rotates:
    every line went there too, twice the disk forever. A terminal or the journal (a pipe or
    socket) still gets them."""
    logfile, out = tmp_path / "bridge.log", tmp_path / "bridge.out"
    try:
        with out.open("w") as stderr:
            monkeypatch.setattr(sys, "stderr", stderr)
            logs.configure(logfile)
            logging.getLogger("test").info("quiet line")
            logs.configure(logfile, echo=True)
            logging.getLogger("test").info("echoed line, caller 13800138000")
    finally:
        logging.basicConfig(handlers=[logging.NullHandler()], force=True)

    err = out.read_text()
    assert "quiet line" not in err and "echoed line" in err
    assert "13800138000" not in err  # masked on stderr as in the file
    assert "quiet line" in logfile.read_text() and "echoed line" in logfile.read_text()
    read, write = os.pipe()
    with os.fdopen(read), os.fdopen(write, "w") as journal_like, out.open() as a_file:
        assert not logs.plain_file(journal_like) and logs.plain_file(a_file)
