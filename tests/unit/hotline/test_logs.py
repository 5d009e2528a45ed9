"""Our own log files rotate themselves: a bridge that logs for months cannot fill the disk."""

from __future__ import annotations

import logging
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


def test_lines_go_to_stderr_too_only_when_someone_watches(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`hotline up` gives each process a file for stderr (bridge.out) that nothing rotates:
    every line went there too, unmasked numbers aside, twice the disk forever."""
    logfile = tmp_path / "bridge.log"
    try:
        logs.configure(logfile)  # stderr here is pytest's capture, not a terminal
        logging.getLogger("test").info("quiet line")
        logs.configure(logfile, echo=True)
        logging.getLogger("test").info("echoed line, caller 13800138000")
    finally:
        logging.basicConfig(handlers=[logging.NullHandler()], force=True)

    err = capsys.readouterr().err
    assert "quiet line" not in err and "echoed line" in err
    assert "13800138000" not in err  # masked on stderr as in the file
    assert "quiet line" in logfile.read_text() and "echoed line" in logfile.read_text()
