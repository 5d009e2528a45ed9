"""`hotline recordings list|process|check` on a migrated database of each backend, with
real files in the instance's recordings folder."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import pbx
from hotline.settings import PbxSettings, Settings
from recordings import cli
from recordings.jobs import recordings_root
from tests.unit.recordings.helpers import add_call_recording, tone_wav


@pytest.fixture
def site(settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> Iterator[Settings]:
    """This test's settings, its instance folder (in the sandbox) removed afterwards."""
    ours = dataclasses.replace(settings, pbx=PbxSettings(mode="sandbox"))
    yield ours
    shutil.rmtree(pbx.instance_for(ours).host_root, ignore_errors=True)


def _run(settings: Settings, *argv: str) -> int:
    parser = argparse.ArgumentParser(prog="hotline")
    cli.register(parser.add_subparsers(required=True))
    args = parser.parse_args(argv)
    return int(args.func(settings, args))


async def test_process_shows_progress_and_list_shows_the_result(
        site: Settings, sessions: async_sessionmaker[AsyncSession],
        capsys: pytest.CaptureFixture[str]) -> None:
    root = recordings_root(site)
    tone_wav(root / "2026/05/06/1.1.wav", 2.0)
    (root / "2026/05/06/2.1.wav").write_bytes(b"not audio")
    await add_call_recording(sessions, "1.1", "2026/05/06/1.1.wav", seconds=2.0)
    await add_call_recording(sessions, "2.1", "2026/05/06/2.1.wav", seconds=2.0)

    # The commands run their own event loop, as they do from the shell.
    assert await asyncio.to_thread(_run, site, "recordings", "process") == 1
    out = capsys.readouterr().out
    assert "2/2 " in out and "ETA" in out and "done: 2 processed, 1 failed" in out
    assert (root / "2026/05/06/1.1.ogg").exists() and not (root / "2026/05/06/1.1.wav").exists()

    assert await asyncio.to_thread(_run, site, "recordings", "list") == 0
    listed = capsys.readouterr().out
    assert "done     opus" in listed and "failed   wav" in listed and "[attempt 1]" in listed

    for path in (root / "2026/05/06").iterdir():  # written long enough ago to be judged
        os.utime(path, (time.time() - 600, time.time() - 600))
    assert await asyncio.to_thread(_run, site, "recordings", "check", "--all") == 0
    assert "checked 2 call(s) and 2 file(s)" in capsys.readouterr().out


def test_since_must_be_a_date(site: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        _run(site, "recordings", "process", "--since", "yesterday")
    assert "--since: 'yesterday' is not a date" in capsys.readouterr().err


def test_instance_recordings_folder_is_the_pbx_one(site: Settings) -> None:
    assert recordings_root(site) == pbx.instance_for(site).recordings_dir
    assert isinstance(recordings_root(site), Path)
