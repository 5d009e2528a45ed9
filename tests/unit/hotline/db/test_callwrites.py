"""hotline.db.callwrites on SQLite and PostgreSQL: a batch of the bridge's writes, applied in
a few statements, says what the same writes one by one said."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.db import calls
from hotline.db import callwrites as w
from hotline.db.base import session_scope
from hotline.db.models import Call, CallEvent

Sessions = async_sessionmaker[AsyncSession]
T0 = datetime(2026, 11, 27, 2, 0, 0, 123456, tzinfo=UTC)
CALL, OTHER, STAFF = "1795747054.0", "1795747055.0", "1795748000.5"


async def _apply(sessions: Sessions, *writes: w.Write) -> None:
    async with session_scope(sessions) as session:
        await w.apply(session, writes)


async def _call(sessions: Sessions, call_id: str = CALL) -> Call:
    async with session_scope(sessions) as session:
        call = await calls.get_call(session, call_id)
    assert call is not None
    return call


async def test_one_batch_writes_two_whole_calls(sessions: Sessions) -> None:
    await _apply(
        sessions,
        w.ensure(CALL, caller_number="13812345678", started_at=T0),
        w.ensure(OTHER, caller_number="13900000000", started_at=T0),
        w.update(CALL, route="menu"), w.event(CALL, "route", {"route": "menu"}, at=T0),
        w.menu_key(CALL, "5"), w.update(CALL, answered_at=T0 + timedelta(seconds=1)),
        w.menu_key(CALL, "1"), w.event(OTHER, "prompt", {"prompt": "welcome"}, at=T0),
        w.recording(CALL, "2026/11/27/a.wav"), w.hangup(CALL, T0 + timedelta(seconds=30), 16),
        w.hangup(OTHER, T0 + timedelta(seconds=9), 16))
    await _apply(sessions, w.menu_key(CALL, "0"),
                 w.finish_recording(CALL, "2026/11/27/a.wav", "complete", 29.5, 472000))

    call, other = await _call(sessions), await _call(sessions, OTHER)
    assert (call.route, call.menu_path, call.caller_number) == ("menu", "5,1,0", "13812345678")
    assert (call.disposition, call.hangup_cause) == ("answered", 16)
    assert call.ended_at == T0 + timedelta(seconds=30) and call.started_at == T0
    assert other.disposition == "unanswered" and other.menu_path == ""
    assert [(e.kind, e.detail, e.at) for e in call.events] == [
        ("route", {"route": "menu"}, T0)]
    [recording] = call.recordings
    assert (recording.status, recording.duration_seconds) == ("complete", 29.5)


async def test_the_first_to_create_a_call_wins(sessions: Sessions) -> None:
    await _apply(sessions, w.ensure(CALL, caller_number="1", started_at=T0))
    await _apply(sessions, w.ensure(CALL, caller_number="2"),
                 w.ensure(CALL, caller_number="3"))

    assert (await _call(sessions)).caller_number == "1"


async def test_facts_about_unknown_calls_are_left_out_when_asked(sessions: Sessions) -> None:
    await _apply(sessions, w.ensure(CALL, started_at=T0))
    await _apply(sessions, w.event(STAFF, "queue", {}, if_known=True),
                 w.event(CALL, "queue", {}, if_known=True), w.update(STAFF, route="fallback"),
                 w.hangup(STAFF, T0, 16))

    async with session_scope(sessions) as session:
        kinds = list((await session.execute(select(CallEvent.call_id))).scalars())
        count = (await session.execute(select(func.count()).select_from(Call))).scalar_one()
    assert kinds == [CALL] and count == 1


def _stored(conn: Connection, table: str, call_column: str) -> dict[str, tuple[Any, ...]]:
    """Each call's row as the database holds it, without the columns that name it."""
    result = conn.exec_driver_sql(f"SELECT * FROM {table}")
    names = list(result.keys())
    return {row[names.index(call_column)]: tuple(value for name, value in zip(names, row,
                                                                           strict=True)
                                                 if name not in ("id", "call_id"))
            for row in result}


async def test_the_drivers_executemany_stores_what_sqlalchemy_stores(sessions: Sessions) -> None:
    """_execute_many hands the driver the values itself: the same rows through it (CALL) and
    through SQLAlchemy's execute (OTHER) must be stored alike, defaults and literals too."""
    def both(conn: Connection) -> None:
        for call_id, run in ((CALL, w._execute_many), (OTHER, Connection.execute)):
            run(conn, w._INSERT_IGNORE[conn.dialect.name, "calls"],
                [{"id": call_id, "caller_number": "13812345678", "started_at": T0}])
            run(conn, w._EVENTS_INSERT, [{"call_id": call_id, "kind": "menu", "at": T0,
                                          "detail": {"prompt": "欢迎", "key": "1"}}])
            run(conn, w._HANGUP, [{"h_id": call_id, "h_at": T0 + timedelta(seconds=30),
                                   "h_cause": 16}])

    async with session_scope(sessions) as session:
        await session.run_sync(lambda sync: both(sync.connection()))
        calls_stored = await session.run_sync(
            lambda sync: _stored(sync.connection(), "calls", "id"))
        events = await session.run_sync(
            lambda sync: _stored(sync.connection(), "call_events", "call_id"))

    assert calls_stored[CALL] == calls_stored[OTHER]
    assert "unanswered" in calls_stored[CALL] and "live" in calls_stored[CALL]
    assert events[CALL] == events[OTHER]


def test_writes_survive_their_journal_record_as_plain_values() -> None:
    writes = [w.event(CALL, "menu", {"prompt": "欢迎", "key": "1"}, at=T0, if_known=True),
              w.ensure(CALL, caller_number="13812345678", started_at=T0)]

    record = w.encode_record(writes)

    assert w.decode_record(record) == writes
    assert b"callwrites" not in record and b"datetime" not in record  # no class is named
    with pytest.raises(ValueError, match="not a journal record"):
        w.decode_record(record[:-3])


async def test_a_journal_line_from_before_times_were_numbers_is_applied_alike(
        sessions: Sessions) -> None:
    """A journal left by an older bridge wrote times as {"$t": ISO}: read after an upgrade,
    its writes say what they said."""
    old = (b'["ensure","' + CALL.encode() + b'",{"caller_number":"13812345678",'
           b'"started_at":{"$t":"2026-11-27T02:00:00.123456+00:00"}}]\n')

    write = w.Write.decode(old)
    await _apply(sessions, write, w.event(CALL, "route", {}, at=T0 + timedelta(seconds=1)))

    assert write == w.ensure(CALL, caller_number="13812345678", started_at=T0)
    call = await _call(sessions)
    assert call.started_at == T0 and call.events[0].at == T0 + timedelta(seconds=1)


def test_a_time_under_a_key_that_is_not_a_time_is_refused() -> None:
    """Only TIME_KEYS are turned back into datetimes for the database: a datetime anywhere
    else would be stored as a number."""
    with pytest.raises(ValueError, match="'left_at' is not one of a call write's times"):
        w.update(CALL, left_at=T0)
    assert w.update(CALL, ended_at=T0).values == {"ended_at": w.micros(T0)}
