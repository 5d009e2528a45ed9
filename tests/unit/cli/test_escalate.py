"""`hotline escalate --now`: time travel through the real command (a subprocess on this
test's database): level 1 and level 2 at their moments and not before, nothing twice after
a rerun, two commands at once, or a command killed in the middle of its pass."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.db.models import Escalation, Notice
from hotline.settings import REPO_ROOT
from tests.unit.hotline.test_escalation import counts, seed

FAR_LATER = "2026-03-10T09:00"  # both levels overdue


@pytest.fixture
def config(tmp_path: Path, db_url: str) -> Path:
    path = tmp_path / "hotline.toml"
    path.write_text(f'[paths]\ndata_dir = "data"\n[database]\nurl = "{db_url}"\n',
                    encoding="utf-8")
    return path


def _command(*argv: str) -> list[str]:
    return [sys.executable, "-m", "cli", "escalate", *argv]


def _env(config: Path) -> dict[str, str]:
    return {**os.environ, "HOTLINE_CONFIG": str(config)}


def escalate(config: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(_command(*argv), env=_env(config), cwd=REPO_ROOT, text=True,
                          capture_output=True, timeout=120)


def start(config: Path, *argv: str) -> subprocess.Popen[str]:
    return subprocess.Popen(_command(*argv), env=_env(config), cwd=REPO_ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


async def test_time_travel_level_1_then_2_each_once(
        sessions: async_sessionmaker[AsyncSession], config: Path) -> None:
    await seed(sessions)

    def run(now: str, *more: str) -> str:
        done = escalate(config, "--now", now, *more)
        assert done.returncode == 0, done.stderr
        assert "13900000001" not in done.stdout and "13812345678" not in done.stdout
        return done.stdout

    assert "escalated 0 step(s)" in run("2026-02-24T17:29")
    dry = run("2026-02-24T17:30", "--dry-run")
    assert "would: 2602130001  level 1" in dry and "王主任 (139****0001)" in dry
    assert (await counts(sessions))["Escalation"] == 0

    out = run("2026-02-24T17:30")
    assert "2602130001  level 1 (due 2026-02-24 17:30 +0800) → 部门负责人 王主任" in out
    assert "next level due 2026-02-26 17:30 +0800" in out
    assert "escalated 0 step(s)" in run("2026-02-24T17:30"), "a rerun notifies nobody"
    assert "escalated 0 step(s)" in run("2026-02-26T17:29")
    out = run("2026-02-26T09:30:00+00:00")  # the same moment, written in UTC
    assert "2602130001  level 2" in out and "分管院领导 李院长 (139****0002)" in out
    assert "last level" in out
    assert "escalated 0 step(s)" in run(FAR_LATER)
    assert (await counts(sessions))["Notice"] == 2


def test_bad_time_names_the_option(config: Path) -> None:
    done = escalate(config, "--now", "2026-02-30T10:00")
    assert done.returncode == 2
    assert "--now: '2026-02-30T10:00' is not a time" in done.stderr


async def test_two_commands_at_once_notify_each_once(
        sessions: async_sessionmaker[AsyncSession], config: Path) -> None:
    data = await seed(sessions, tickets=150)
    both = [start(config, "--now", FAR_LATER) for _ in range(2)]
    outputs = [p.communicate(timeout=180) for p in both]
    for process, (_out, err) in zip(both, outputs, strict=True):
        assert process.returncode == 0, err
        assert "Traceback" not in err
    said = [re.search(r"escalated (\d+) step", out) for out, _err in outputs]
    assert sum(int(m.group(1)) for m in said if m) == 300, "each step reported by one command"
    async with sessions() as session:
        pairs = (await session.execute(select(Escalation.ticket_id, Escalation.level))).all()
        notices = (await session.execute(select(func.count()).select_from(Notice))).scalar()
    assert sorted(pairs) == [(t, level) for t in data.ticket_ids for level in (1, 2)]
    assert notices == 300


async def test_killed_mid_pass_the_rerun_finishes_without_repeats(
        sessions: async_sessionmaker[AsyncSession], config: Path) -> None:
    data = await seed(sessions, tickets=500)
    process = start(config, "--now", FAR_LATER)
    try:
        for _ in range(3000):
            if (await counts(sessions))["Escalation"] >= 20:
                break
            await asyncio.sleep(0.01)
        process.send_signal(signal.SIGKILL)
    finally:
        process.communicate(timeout=30)
    done_before = (await counts(sessions))["Escalation"]
    assert 20 <= done_before < 1000, "killed in the middle of the pass"

    rerun = escalate(config, "--now", FAR_LATER)
    assert rerun.returncode == 0, rerun.stderr
    after = await counts(sessions)
    assert after["Escalation"] == after["Notice"] == after["TicketEvent"] == 1000
    async with sessions() as session:
        pairs = (await session.execute(select(Escalation.ticket_id, Escalation.level))).all()
    assert sorted(pairs) == [(t, level) for t in data.ticket_ids for level in (1, 2)]
