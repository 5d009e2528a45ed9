"""ivr.main: the bridge process refuses, at start, to listen where anyone could act as
Asterisk (run as `python -m ivr`, as `hotline up` starts it)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from hotline.settings import REPO_ROOT


def start_bridge(tmp_path: Path, pbx: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "hotline.toml"
    config.write_text(f'[paths]\ndata_dir = "{tmp_path / "data"}"\n[pbx]\nmode = "sandbox"\n'
                      f"agi_port = 0\n{pbx}\n", encoding="utf-8")
    env = {**os.environ, "HOTLINE_CONFIG": str(config)}
    return subprocess.run([sys.executable, "-m", "ivr"], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def test_bridge_refuses_a_public_fastagi_address_without_an_allow_list(tmp_path: Path) -> None:
    done = start_bridge(tmp_path, 'agi_host = "0.0.0.0"')

    assert done.returncode == 2, done.stderr
    assert "refusing to listen on '0.0.0.0'" in done.stderr
    assert "[pbx] agi_allow" in done.stderr
    assert "refusing to listen" in (tmp_path / "data" / "log" / "bridge.log").read_text()


def test_bridge_refuses_an_allow_list_entry_that_is_not_an_address(tmp_path: Path) -> None:
    done = start_bridge(tmp_path, 'agi_host = "0.0.0.0"\nagi_allow = ["asterisk.court"]')

    assert done.returncode == 2, done.stderr
    assert "'asterisk.court' is not an IP address" in done.stderr
