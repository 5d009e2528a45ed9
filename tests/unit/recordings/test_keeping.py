"""recordings.keeping: retention with legal hold, deletion logged; the disk watch."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.db import alerts
from hotline.db import recordings as db
from hotline.db.base import session_scope, utcnow
from hotline.db.models import CallLog, Recording, RecordingAccess, Ticket, User
from hotline.settings import RecordingsSettings
from recordings import keeping
from tests.unit.recordings.helpers import add_call_recording, tone_wav

CONF = RecordingsSettings(retention_days=30)


async def _old(sessions: async_sessionmaker[AsyncSession], root: Path, name: str,
               days_ago: int) -> int:
    rel = f"2026/01/01/{name}.wav"
    tone_wav(root / rel, 0.5)
    return await add_call_recording(sessions, name, rel, seconds=0.5,
                                    created_at=utcnow() - timedelta(days=days_ago))


async def test_retention_deletes_old_unheld_recordings_and_logs_it(
        sessions: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    old = await _old(sessions, tmp_path, "1.1", 40)
    young = await _old(sessions, tmp_path, "2.1", 10)
    ticketed = await _old(sessions, tmp_path, "3.1", 40)
    with_case = await _old(sessions, tmp_path, "4.1", 40)
    casual_log = await _old(sessions, tmp_path, "5.1", 40)
    async with session_scope(sessions) as session:
        session.add(Ticket(reference="2601010001", type="consult", call_id="3.1"))
        session.add(CallLog(call_id="4.1", caller_name="张三", caller_kind="party",
                            contact="x", case_number="(2025)豫03民初1号", category="consult",
                            question="q", outcome="answered"))
        session.add(CallLog(call_id="5.1", caller_name="李四", caller_kind="public",
                            contact="x", category="consult", question="q",
                            outcome="answered"))

    result = await keeping.retention_pass(sessions, tmp_path, CONF, utcnow())

    assert (result.deleted, result.held) == (2, 2)
    async with session_scope(sessions) as session:
        rows = {r.id: r for r in (await session.execute(select(Recording))).scalars()}
        log = list((await session.execute(select(RecordingAccess))).scalars())
    for rec_id in (old, casual_log):
        assert rows[rec_id].deleted_at is not None and not (tmp_path / rows[rec_id].path).exists()
    for rec_id in (young, ticketed, with_case):
        assert rows[rec_id].deleted_at is None and (tmp_path / rows[rec_id].path).exists()
    assert rows[ticketed].legal_hold and rows[with_case].legal_hold
    assert not rows[young].legal_hold
    assert sorted((e.recording_id, e.action, e.user_id) for e in log) == [
        (old, "delete", None), (casual_log, "delete", None)]
    assert all(e.reason == "retention: 30 days passed" for e in log)
    # A second run finds nothing more to do.
    assert await keeping.retention_pass(sessions, tmp_path, CONF, utcnow()) == \
        keeping.RetentionResult(0, 0)


async def test_only_an_administrator_deletes_by_hand_and_gives_a_reason(
        sessions: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    rec_id = await _old(sessions, tmp_path, "1.1", 1)
    async with session_scope(sessions) as session:
        agent = User(username="agent1", role="agent", password_hash="x")
        admin = User(username="admin1", role="admin", password_hash="x")
        session.add_all([agent, admin])
        await session.flush()
        rec = await db.get_recording(session, rec_id)
        assert rec is not None
        with pytest.raises(PermissionError, match="agent1"):
            await db.delete_recording(session, rec, tmp_path, agent, "不需要")
        with pytest.raises(ValueError, match="reason"):
            await db.delete_recording(session, rec, tmp_path, admin, "  ")
        assert (tmp_path / rec.path).exists()
        await db.delete_recording(session, rec, tmp_path, admin, "误录，当事人申请删除")
        admin_id = admin.id
    async with session_scope(sessions) as session:
        entry = (await session.execute(select(RecordingAccess))).scalar_one()
        rec = await db.get_recording(session, rec_id)
    assert rec is not None and rec.deleted_at is not None
    assert not (tmp_path / rec.path).exists()
    assert (entry.user_id, entry.action, entry.reason) == (admin_id, "delete", "误录，当事人申请删除")


async def test_disk_alert_raised_below_the_threshold_and_resolved_above(
        sessions: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    now = utcnow()
    low = keeping.DiskSpace(tmp_path, 100 * 10**9, 10 * 10**9)
    fine = keeping.DiskSpace(tmp_path, 100 * 10**9, 50 * 10**9)

    assert await keeping.disk_check(sessions, low, RecordingsSettings(), now)
    async with session_scope(sessions) as session:
        open_alerts = await alerts.list_open_alerts(session)
    assert [(a.kind, a.key) for a in open_alerts] == [(alerts.DISK, str(tmp_path))]
    assert "10.0%" in open_alerts[0].message

    assert not await keeping.disk_check(sessions, fine, RecordingsSettings(), now)
    async with session_scope(sessions) as session:
        assert await alerts.list_open_alerts(session) == []


def test_disk_space_reads_the_real_filesystem(tmp_path: Path) -> None:
    space = keeping.disk_space(tmp_path / "not" / "made" / "yet")

    assert space.total_bytes > 0 and 0 < space.free_percent <= 100
