"""hotline.db.calls on SQLite and PostgreSQL: every write the bridge and the reconciler make."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.db import calls
from hotline.db.base import session_scope
from hotline.db.models import Call, CallEvent, Recording

Sessions = async_sessionmaker[AsyncSession]
T0 = datetime(2026, 11, 27, 2, 0, 0, 123456, tzinfo=UTC)
CALL = "1795747054.0"


async def _call(sessions: Sessions, call_id: str = CALL) -> Call:
    async with session_scope(sessions) as session:
        call = await calls.get_call(session, call_id)
    assert call is not None, f"call {call_id} is not in the database"
    return call


async def _count(sessions: Sessions, model: type[Call] | type[CallEvent] | type[Recording]) -> int:
    async with session_scope(sessions) as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def test_ensure_call_creates_with_defaults(sessions: Sessions) -> None:
    async with session_scope(sessions) as session:
        await calls.ensure_call(session, CALL, caller_number="13812345678", started_at=T0)

    call = await _call(sessions)
    assert (call.caller_number, call.started_at, call.source) == ("13812345678", T0, "live")
    assert (call.route, call.menu_path, call.agent, call.disposition) == ("", "", "", "")
    assert call.answered_at is None and call.ended_at is None


async def test_ensure_call_without_start_uses_now(sessions: Sessions) -> None:
    before = datetime.now(UTC)
    async with session_scope(sessions) as session:
        await calls.ensure_call(session, CALL)

    call = await _call(sessions)
    assert before <= call.started_at <= datetime.now(UTC)


async def test_ensure_call_is_idempotent_first_writer_wins(sessions: Sessions) -> None:
    async with session_scope(sessions) as session:
        await calls.ensure_call(session, CALL, caller_number="13812345678", started_at=T0,
                                channel="PJSIP/carrier-00000000", source="live")
    async with session_scope(sessions) as session:
        await calls.ensure_call(session, CALL, caller_number="999", started_at=T0 + timedelta(1),
                                channel="PJSIP/other", source="reconciled")

    call = await _call(sessions)
    assert (call.caller_number, call.channel, call.source) == (
        "13812345678", "PJSIP/carrier-00000000", "live")
    assert call.started_at == T0
    assert await _count(sessions, Call) == 1


async def test_update_call_changes_only_that_call(sessions: Sessions) -> None:
    async with session_scope(sessions) as session:
        await calls.ensure_call(session, CALL, started_at=T0)
        await calls.ensure_call(session, "other", started_at=T0)
    ended = T0 + timedelta(minutes=3)
    async with session_scope(sessions) as session:
        await calls.update_call(session, CALL, ended_at=ended, disposition="answered",
                                hangup_cause=16, agent="8001")

    call, other = await _call(sessions), await _call(sessions, "other")
    assert (call.ended_at, call.disposition, call.hangup_cause, call.agent) == (
        ended, "answered", 16, "8001")
    assert (other.ended_at, other.disposition, other.agent) == (None, "", "")


async def test_events_come_back_in_the_order_added(sessions: Sessions) -> None:
    kinds = ["recording", "route", "menu", "queue", "agent", "hangup"]
    async with session_scope(sessions) as session:
        await calls.ensure_call(session, CALL, started_at=T0)
        # Times deliberately out of order: the order is the order of arrival.
        for i, kind in enumerate(kinds):
            await calls.add_event(session, CALL, kind, {"n": str(i)},
                                  at=T0 + timedelta(seconds=10 - i))
    async with session_scope(sessions) as session:
        await calls.add_event(session, CALL, "late")

    call = await _call(sessions)
    assert [e.kind for e in call.events] == [*kinds, "late"]
    assert [e.detail for e in call.events[:-1]] == [{"n": str(i)} for i in range(len(kinds))]
    assert call.events[0].at == T0 + timedelta(seconds=10)
    assert call.events[-1].detail == {}
    assert call.events[-1].at.tzinfo is not None


async def test_append_menu_key_builds_the_path(sessions: Sessions) -> None:
    async with session_scope(sessions) as session:
        await calls.ensure_call(session, CALL, started_at=T0)
    for key in ("1", "0", "#"):
        async with session_scope(sessions) as session:
            await calls.append_menu_key(session, CALL, key)

    assert (await _call(sessions)).menu_path == "1,0,#"


async def test_append_menu_key_of_unknown_call_does_nothing(sessions: Sessions) -> None:
    async with session_scope(sessions) as session:
        await calls.append_menu_key(session, "no-such-call", "1")

    assert await _count(sessions, Call) == 0


async def test_add_recording_is_idempotent_by_path(sessions: Sessions) -> None:
    path = "2026/11/27/1795747054.0.wav"
    async with session_scope(sessions) as session:
        await calls.ensure_call(session, CALL, started_at=T0)
        await calls.add_recording(session, CALL, path)
    async with session_scope(sessions) as session:
        await calls.add_recording(session, CALL, path, kind="message")
        await calls.add_recording(session, CALL, "2026/11/27/1795747054.0-message.wav",
                                  kind="message")

    call = await _call(sessions)
    assert [(r.path, r.kind, r.status) for r in call.recordings] == [
        (path, "call", "recording"),
        ("2026/11/27/1795747054.0-message.wav", "message", "recording"),
    ]
    assert call.recordings[0].duration_seconds is None
    assert call.recordings[0].created_at.tzinfo is not None


async def test_finish_recording_sets_status_duration_size(sessions: Sessions) -> None:
    done, other = "2026/11/27/a.wav", "2026/11/27/b.wav"
    async with session_scope(sessions) as session:
        await calls.ensure_call(session, CALL, started_at=T0)
        await calls.add_recording(session, CALL, done)
        await calls.add_recording(session, CALL, other)
    async with session_scope(sessions) as session:
        await calls.finish_recording(session, done, "complete", 12.5, 200044)
        assert [r.path for r in await calls.recordings_in_progress(session)] == [other]

    by_path = {r.path: r for r in (await _call(sessions)).recordings}
    assert (by_path[done].status, by_path[done].duration_seconds, by_path[done].size_bytes) == (
        "complete", 12.5, 200044)
    assert (by_path[other].status, by_path[other].duration_seconds) == ("recording", None)


async def test_recent_calls_newest_first_and_limited(sessions: Sessions) -> None:
    starts = {"b": T0 + timedelta(minutes=2), "a": T0, "d": T0 + timedelta(minutes=5),
              "c": T0 + timedelta(minutes=3)}
    async with session_scope(sessions) as session:
        for call_id, started in starts.items():
            await calls.ensure_call(session, call_id, started_at=started)
        await calls.add_recording(session, "d", "d.wav")

    async with session_scope(sessions) as session:
        recent = await calls.recent_calls(session, limit=3)
        everything = await calls.recent_calls(session)
    assert [c.id for c in recent] == ["d", "c", "b"]
    assert [c.id for c in everything] == ["d", "c", "b", "a"]
    assert [r.path for r in recent[0].recordings] == ["d.wav"]  # loaded with the call


async def test_existing_ids_returns_only_known_calls(sessions: Sessions) -> None:
    async with session_scope(sessions) as session:
        await calls.ensure_call(session, "a", started_at=T0)
        await calls.ensure_call(session, "b", started_at=T0)

    async with session_scope(sessions) as session:
        found = await calls.existing_ids(session, iter(["a", "zz", "b"]))
        nothing = await calls.existing_ids(session, [])
    assert sorted(found) == ["a", "b"]
    assert all(found[call_id].id == call_id for call_id in found)
    assert nothing == {}


async def test_reconcile_marks_are_created_then_moved(sessions: Sessions) -> None:
    async with session_scope(sessions) as session:
        assert await calls.get_mark(session, "cdr-custom") is None
        await calls.set_mark(session, "cdr-custom", 120, "2049:77")
    async with session_scope(sessions) as session:
        await calls.set_mark(session, "cdr-custom", 480, "2049:78")
        await calls.set_mark(session, "other", 5, "1:1")

    async with session_scope(sessions) as session:
        mark = await calls.get_mark(session, "cdr-custom")
        other = await calls.get_mark(session, "other")
    assert mark is not None and (mark.position, mark.fingerprint) == (480, "2049:78")
    assert other is not None and (other.position, other.fingerprint) == (5, "1:1")


async def test_deleting_a_call_deletes_its_events_and_recordings(sessions: Sessions) -> None:
    async with session_scope(sessions) as session:
        await calls.ensure_call(session, CALL, started_at=T0)
        await calls.add_event(session, CALL, "route")
        await calls.add_recording(session, CALL, "x.wav")
    async with session_scope(sessions) as session:
        await session.delete(await calls.get_call(session, CALL))

    assert [await _count(sessions, m) for m in (Call, CallEvent, Recording)] == [0, 0, 0]


async def test_times_from_any_zone_come_back_equal_and_in_utc(sessions: Sessions) -> None:
    shanghai = timezone(timedelta(hours=8))
    started = datetime(2026, 11, 27, 10, 0, 0, 654321, tzinfo=shanghai)
    async with session_scope(sessions) as session:
        await calls.ensure_call(session, CALL, started_at=started)
        await calls.add_event(session, CALL, "route", at=started)

    call = await _call(sessions)
    assert call.started_at == started
    assert call.started_at.utcoffset() == timedelta(0)
    assert call.started_at.replace(tzinfo=None) == datetime(2026, 11, 27, 2, 0, 0, 654321)
    assert call.events[0].at == started and call.events[0].at.utcoffset() == timedelta(0)
