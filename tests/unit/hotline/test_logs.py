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
