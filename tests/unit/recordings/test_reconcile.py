"""recordings.reconcile: a call without its file and a file without its call are both
reported, and the alerts clear once the problem is gone. Real files, real database."""

from __future__ import annotations

import os
import time
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.db import alerts
from hotline.db.base import session_scope, utcnow
from recordings import reconcile
from tests.unit.recordings.helpers import add_call_recording, tone_wav


def _aged(path: Path) -> Path:
    then = time.time() - reconcile.GRACE_SECONDS - 5
    os.utime(path, (then, then))
    return path


async def _open(sessions: async_sessionmaker[AsyncSession]) -> set[tuple[str, str]]:
    async with session_scope(sessions) as session:
        return {(a.kind, a.key) for a in await alerts.list_open_alerts(session)}


async def test_removed_file_and_call_without_file_and_orphan_file_are_reported(
        sessions: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    now = utcnow()
    day = now.strftime("%Y/%m/%d")
    good, gone = f"{day}/100.1.wav", f"{day}/200.1.wav"
    _aged(tone_wav(tmp_path / good, 1.0))
    _aged(tone_wav(tmp_path / gone, 1.0))
    await add_call_recording(sessions, "100.1", good, seconds=1.0)
    await add_call_recording(sessions, "200.1", gone, seconds=1.0)
    # An answered call the dialplan never recorded (no row, no file) ...
    await add_call_recording(sessions, "300.1", f"{day}/300.1.wav", status="missing")
    # ... an unanswered one needs no recording ...
    await add_call_recording(sessions, "400.1", f"{day}/400.1.wav", status="missing",
                             answered=False)
    # ... and a file nobody knows.
    stray = _aged(tone_wav(tmp_path / day / "999.9.wav", 1.0)).relative_to(tmp_path).as_posix()
    (tmp_path / gone).unlink()  # removed behind the system's back

    found = await reconcile.reconcile(sessions, tmp_path, now, days=3)

    assert set(found.missing) == {"200.1", "300.1"}
    assert "文件已不在磁盘上" in found.missing["200.1"]
    assert set(found.orphans) == {stray}
    assert await _open(sessions) == {(alerts.RECORDING_MISSING, "200.1"),
                                     (alerts.RECORDING_MISSING, "300.1"),
                                     (alerts.RECORDING_ORPHAN, stray)}

    # The file comes back and the stray one is taken away: those alerts resolve themselves.
    _aged(tone_wav(tmp_path / gone, 1.0))
    (tmp_path / stray).unlink()
    await reconcile.reconcile(sessions, tmp_path, now, days=3)
    assert await _open(sessions) == {(alerts.RECORDING_MISSING, "300.1")}


async def test_kept_copy_counts_and_fresh_files_wait_for_their_call(
        sessions: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    now = utcnow()
    day = now.strftime("%Y/%m/%d")
    rec_id = await add_call_recording(sessions, "100.1", f"{day}/100.1.wav", seconds=1.0)
    kept = _aged(tone_wav(tmp_path / day / "100.1.ogg", 1.0))  # stands in for the kept copy
    async with session_scope(sessions) as session:
        from hotline.db.models import Recording
        rec = await session.get(Recording, rec_id)
        assert rec is not None
        rec.kept_path, rec.original_deleted = f"{day}/100.1.ogg", True
    tone_wav(tmp_path / day / "500.1.wav", 1.0)  # being recorded right now

    found = await reconcile.reconcile(sessions, tmp_path, now, days=3)

    assert found.missing == {} and found.orphans == {}
    assert kept.exists()


async def test_a_call_cut_by_its_nodes_death_raises_no_missing_alert(
        sessions: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    """Issue 17: node pbx1 died mid-call; the active scheduler ended its calls as node-lost
    (hotline.cluster.close_lost_calls). Their recordings never finished: no false alarm for
    them, while an ordinary call of the same node without its file still raises one."""
    from sqlalchemy import update

    from hotline.cluster import NODE_LOST
    from hotline.db.models import Call

    now = utcnow()
    day = now.strftime("%Y/%m/%d")
    await add_call_recording(sessions, "500.1", f"{day}/500.1.wav", status="recording")
    await add_call_recording(sessions, "600.1", f"{day}/600.1.wav", status="recording")
    async with session_scope(sessions) as session:
        await session.execute(update(Call).values(node="pbx1"))
        await session.execute(update(Call).where(Call.id == "500.1").values(ended_by=NODE_LOST))

    found = await reconcile.reconcile(sessions, tmp_path, now, days=3)

    assert set(found.missing) == {"600.1"}
    assert await _open(sessions) == {(alerts.RECORDING_MISSING, "600.1")}
