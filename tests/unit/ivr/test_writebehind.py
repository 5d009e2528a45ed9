"""ivr.writebehind: writes return at once and are committed in batches by one writer; a
killed writer's journal is applied at the next start, exactly once; a bad write sinks no
other; the database refusing writes for a while loses none (real database, both backends
where it applies)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import pickle
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, exists, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.db import calls, tickets
from hotline.db import callwrites as w
from hotline.db.base import session_scope
from hotline.db.models import Call, CallEvent
from ivr.writebehind import Journal, WriteBehind, WriterThread

Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture(params=["async", "thread"])
def writer_of(request: pytest.FixtureRequest, db_url: str) -> object:
    """WriteBehind as the bridge makes it (its batches of writes on a connection of its own,
    in a thread) and without the thread (everything through the async sessions)."""
    def make(sessions: Sessions, journal: Journal | None = None,
             batch_delay: float = 0.05) -> WriteBehind:
        thread = WriterThread(db_url) if request.param == "thread" else None
        return WriteBehind(sessions, journal, batch_delay, thread=thread)
    return make


def a_call(n: int) -> list[w.Write]:
    call_id = f"1795747054.{n}"
    return [w.ensure(call_id, caller_number="13812345678"), w.update(call_id, route="menu"),
            w.event(call_id, "route", {"route": "menu"}),
            w.event(call_id, "prompt", {"prompt": "welcome"})]


async def counts(sessions: Sessions) -> tuple[int, int]:
    async with session_scope(sessions) as session:
        found = [(await session.execute(select(func.count()).select_from(m))).scalar_one()
                 for m in (Call, CallEvent)]
    return found[0], found[1]


def killed(writer: WriteBehind) -> None:
    """What kill -9 leaves: the task gone mid-wait, nothing flushed, the journal as it is."""
    assert writer._task is not None
    writer._task.cancel()
    assert writer.journal is not None
    writer.journal.close()
    if writer.thread is not None:  # what the dead process's connection was
        writer.thread.close()


async def test_writes_return_at_once_and_are_committed_together(sessions: Sessions) -> None:
    writer = WriteBehind(sessions, batch_delay=60)
    for n in range(50):
        writer.write(*a_call(n))

    assert await counts(sessions) == (0, 0)  # nothing waited for a commit
    await writer.flush()
    assert await counts(sessions) == (50, 100)
    await writer.close()


async def test_a_killed_writers_journal_is_applied_once_at_the_next_start(
        sessions: Sessions, tmp_path: Path, writer_of: Any) -> None:
    first = writer_of(sessions, Journal(tmp_path / "journal"), batch_delay=60)
    await first.open()
    for n in range(3):
        first.write(*a_call(n))
    await asyncio.sleep(0)
    killed(first)
    assert await counts(sessions) == (0, 0)

    second = writer_of(sessions, Journal(tmp_path / "journal"))
    assert await second.open() == 12
    second.write(*a_call(3))
    await second.flush()
    killed(second)  # everything committed: nothing left to apply again
    third = WriteBehind(sessions, Journal(tmp_path / "journal"))

    assert await third.open() == 0
    assert await counts(sessions) == (4, 8)
    # The first generation went once the second's writes were committed.
    assert sorted(p.name for p in (tmp_path / "journal").iterdir()) == [
        "00000002.journal", "00000003.journal"]
    await third.close()


async def logged(session: AsyncSession, values: dict[str, Any]) -> str:
    """A job the journal may name: a step in the call's log."""
    await w.apply(session, [w.event(values["call_id"], "ticket", {"n": str(values["n"])})])
    return "done"


async def test_a_journaled_job_runs_behind_the_writes_before_it_and_once_after_a_kill(
        sessions: Sessions, tmp_path: Path, writer_of: Any) -> None:
    """Issue 12: a hung-up caller's ticket goes with the next batch, not a transaction of
    its own; kept in the journal by name, a killed bridge's next start runs it, once."""
    first = writer_of(sessions, Journal(tmp_path / "journal"), batch_delay=60)
    first.register("log", logged)
    await first.open()
    first.write(*a_call(0))
    first.later_journaled("log", "1795747054.0", {"call_id": "1795747054.0", "n": 1})
    with pytest.raises(KeyError):
        first.later_journaled("unknown", "1795747054.0", {})
    await asyncio.sleep(0.2)
    assert await counts(sessions) == (0, 0)  # waiting for the batch, in the journal only
    killed(first)

    second = writer_of(sessions, Journal(tmp_path / "journal"))
    second.register("log", logged)
    assert await second.open() == 5
    await second.flush()  # the call first, then the job: its event needs the call
    assert await counts(sessions) == (1, 3)
    second.later_journaled("log", "1795747054.0", {"call_id": "1795747054.0", "n": 2})
    await second.flush()
    killed(second)

    third = WriteBehind(sessions, Journal(tmp_path / "journal"))
    third.register("log", logged)
    assert await third.open() == 0
    await third.flush()
    async with session_scope(sessions) as session:
        steps = (await session.execute(select(CallEvent.detail).where(
            CallEvent.kind == "ticket"))).scalars().all()
    assert sorted(step["n"] for step in steps) == ["1", "2"]
    await third.close()


async def test_a_job_the_journal_names_that_nobody_registered_is_refused_and_passed_over(
        sessions: Sessions, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    first = WriteBehind(sessions, Journal(tmp_path / "journal"), batch_delay=60)
    first.register("log", logged)
    await first.open()
    first.write(*a_call(0))
    first.later_journaled("log", "1795747054.0", {"call_id": "1795747054.0", "n": 1})
    await asyncio.sleep(0)
    killed(first)

    second = WriteBehind(sessions, Journal(tmp_path / "journal"))  # "log" is gone
    assert await second.open() == 5
    with caplog.at_level(logging.ERROR):
        await second.flush()
    assert await counts(sessions) == (1, 2)
    assert "no job 'log' registered" in caplog.text
    await second.close()
    third = WriteBehind(sessions, Journal(tmp_path / "journal"))
    assert await third.open() == 0  # passed over in the journal too
    await third.close()


async def test_one_turn_of_the_loops_writes_reach_the_journal_in_one_write_before_it_waits(
        sessions: Sessions, tmp_path: Path, writer_of: Any) -> None:
    writer = writer_of(sessions, Journal(tmp_path / "journal"), batch_delay=60)
    await writer.open()
    assert writer.journal is not None
    appends = []
    append = writer.journal.append
    writer.journal.append = lambda writes: appends.append(len(writes)) or append(writes)
    made = [a_call(n) for n in range(3)]
    for writes in made:  # three callers' steps in one turn of the loop
        writer.write(*writes)

    await asyncio.sleep(0)  # the loop's turn ends
    records = writer.journal.unapplied((writer.journal.generation, 0))
    assert appends == [12] and len(records) == 1
    assert records[0][0] == [x for writes in made for x in writes]

    # A job asked for in the same turn as writes still runs after them.
    writer.write(*a_call(3))
    async def known(session: AsyncSession) -> bool:
        return bool(await session.scalar(select(exists().where(Call.id == "1795747054.3"))))
    assert await writer.run(known)
    assert appends == [12, 4]
    await writer.close()


async def test_a_full_disk_under_the_journal_loses_no_write(
        sessions: Sessions, tmp_path: Path, caplog: pytest.LogCaptureFixture,
        writer_of: Any) -> None:
    writer = writer_of(sessions, Journal(tmp_path / "journal"), batch_delay=60)
    await writer.open()
    assert writer.journal is not None
    os.close(writer.journal._fd)
    writer.journal._fd = os.open("/dev/full", os.O_WRONLY)  # every write(2): ENOSPC
    with caplog.at_level(logging.ERROR, "ivr.writebehind"):
        writer.write(*a_call(1))
        await writer.flush()

    assert await counts(sessions) == (1, 2)
    assert "4 write(s) kept in memory only" in caplog.text
    await writer.close()


async def test_a_write_the_database_refuses_sinks_no_other(
        sessions: Sessions, caplog: pytest.LogCaptureFixture, writer_of: Any) -> None:
    writer = writer_of(sessions)
    # An event of a call that does not exist breaks the calls' foreign key.
    writer.write(*a_call(1), w.event("no-such-call", "prompt", {}), *a_call(2))

    with caplog.at_level(logging.ERROR, "ivr.writebehind"):
        await writer.flush()

    assert await counts(sessions) == (2, 4)
    assert "call no-such-call: event not written" in caplog.text
    await writer.close()


async def test_jobs_run_after_the_writes_before_them_and_answer(
        sessions: Sessions, writer_of: Any) -> None:
    writer = writer_of(sessions, batch_delay=60)
    writer.write(*a_call(1))

    async def read_back(session: AsyncSession) -> str:
        call = await calls.get_call(session, "1795747054.1")
        return call.route if call else "missing"

    assert await asyncio.wait_for(writer.run(read_back), 5) == "menu"
    writer.write(*a_call(2))  # after the job: in a transaction of its own
    await writer.flush()
    assert await counts(sessions) == (2, 4)
    await writer.close()


async def test_work_nobody_waits_for_waits_for_the_batch_and_awaited_work_does_not(
        sessions: Sessions) -> None:
    """Issue 12: later() (a case query's note, an SMS to queue) made the writer commit at
    once, a transaction for each; it goes with the next batch. run() still goes at once."""
    writer = WriteBehind(sessions, batch_delay=60)
    noted = asyncio.Event()

    async def note(_session: AsyncSession) -> None:
        noted.set()
    writer.write(*a_call(1))
    writer.later(note, "a note")
    await asyncio.sleep(0.2)
    assert not noted.is_set() and await counts(sessions) == (0, 0)

    async def ask(session: AsyncSession) -> int:
        return (await session.execute(select(func.count()).select_from(Call))).scalar_one()
    assert await asyncio.wait_for(writer.run(ask), 5) == 1  # the queue before it too
    assert noted.is_set()
    await writer.close()


async def until_counted(sessions: Sessions, expected: tuple[int, int], seconds: float) -> bool:
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        if await counts(sessions) == expected:
            return True
        await asyncio.sleep(0.02)
    return False


async def test_writes_that_come_fast_gather_longer_and_a_hurry_commits_them_at_once(
        sessions: Sessions) -> None:
    """Issue 12: under load a commit every 0.5 s cost the bridge an eighth of its CPU; while
    writes come at BUSY_WRITES_PER_SECOND or more they gather for busy_delay. A few writes
    still go after batch_delay, and hurry() (a caller handed to the seats) sends them now."""
    writer = WriteBehind(sessions, batch_delay=0.05, busy_delay=60)
    writer.write(*a_call(0))  # a trickle: committed after the short delay
    assert await until_counted(sessions, (1, 2), 5)
    for n in range(1, 41):  # 160 writes within a few milliseconds: busy
        writer.write(*a_call(n))
    assert await until_counted(sessions, (41, 82), 5)  # (taken before it knew)

    writer.write(*a_call(41))
    assert not await until_counted(sessions, (42, 84), 0.5)  # gathering for 60 s now
    writer.hurry()
    assert await until_counted(sessions, (42, 84), 5)
    await writer.close()


async def test_a_job_awaited_just_after_a_batch_does_not_make_a_quiet_writer_busy(
        sessions: Sessions) -> None:
    """One write a moment after a commit is no rate: busy is judged over batch_delay."""
    writer = WriteBehind(sessions, batch_delay=0.3, busy_delay=60)
    writer.write(*a_call(0))
    assert await until_counted(sessions, (1, 2), 5)
    await writer.run(_count_calls)  # a caller waiting for a reference, at once

    writer.write(*a_call(1))
    assert await until_counted(sessions, (2, 4), 5)
    await writer.close()


async def _count_calls(session: AsyncSession) -> int:
    return (await session.execute(select(func.count()).select_from(Call))).scalar_one()


async def test_a_failing_job_sinks_neither_the_writes_around_it_nor_other_jobs(
        sessions: Sessions, writer_of: Any) -> None:
    """One batch: writes, a job that fails half-way through its own writes, writes, a
    job that files a ticket (ORM objects, a SAVEPOINT). The batch is one transaction: its
    failure is answered by committing the parts again, each job alone."""
    writer = writer_of(sessions, batch_delay=60)

    async def fails(session: AsyncSession) -> None:
        await calls.add_event(session, "1795747054.1", "half-done")
        await session.flush()
        raise ValueError("a job's own error")

    async def files(session: AsyncSession) -> str:
        ticket = await tickets.create_ticket(session, "callback", "13812345678",
                                             "1795747054.2")
        return ticket.reference

    writer.write(*a_call(1))
    failed = writer.submit(fails)
    writer.write(*a_call(2))
    reference = await asyncio.wait_for(writer.run(files), 5)

    with pytest.raises(ValueError, match="a job's own error"):
        await failed
    assert await counts(sessions) == (2, 4)  # not the failed job's half-done event
    async with session_scope(sessions) as session:
        [ticket] = await tickets.tickets_for_call(session, "1795747054.2")
    assert ticket.reference == reference
    await writer.close()


async def test_the_writers_thread_runs_the_jobs_in_its_own_thread(
        sessions: Sessions, db_url: str) -> None:
    """The bridge's loop does not run a job's statements: the writer's thread does, on its
    synchronous connection (through aiosqlite each statement was hops between threads)."""
    writer = WriteBehind(sessions, None, 0.05, thread=WriterThread(db_url))

    async def where(session: AsyncSession) -> tuple[str, str, bool]:
        # ORM-enabled and plain statements both (the SMS's "sent lately?" is the first)
        found = (await session.execute(select(exists().where(Call.id == "none")))).scalar()
        await session.execute(select(func.count()).select_from(Call))
        return threading.current_thread().name, type(session.get_bind()).__name__, found

    thread, bind, found = await asyncio.wait_for(writer.run(where), 5)
    assert thread.startswith("call-writer")
    assert bind == "Connection"  # the batch's own, not a pool's engine
    assert found is False
    await writer.close()


async def test_a_locked_database_delays_writes_and_loses_none(
        sessions: Sessions, db_url: str, caplog: pytest.LogCaptureFixture,
        writer_of: Any) -> None:
    url = make_url(db_url)
    if url.get_backend_name() != "sqlite":
        pytest.skip("another process holding SQLite's write lock")
    other = sqlite3.connect(str(url.database), isolation_level=None, timeout=0)
    other.execute("BEGIN IMMEDIATE")
    writer = writer_of(sessions, batch_delay=0.01)
    writer.write(*a_call(1))

    with caplog.at_level(logging.WARNING, "ivr.writebehind"):
        await asyncio.sleep(6.5)  # past SQLite's busy timeout: the writer is refused
        other.execute("ROLLBACK")
        other.close()
        await asyncio.wait_for(writer.flush(), 15)

    assert await counts(sessions) == (1, 2)
    assert "does not take the bridge's writes" in caplog.text
    await writer.close()


async def test_the_writers_thread_opens_a_read_only_database_again(
        sessions: Sessions, db_url: str, caplog: pytest.LogCaptureFixture) -> None:
    """The database file was read-only when the writer's thread connected (fixed since):
    its writes resume on a connection opened afresh, none lost (bench/faults.py)."""
    if make_url(db_url).get_backend_name() != "sqlite":
        pytest.skip("SQLite's read-only connections")
    thread = WriterThread(db_url)
    opened: list[object] = []

    def first_read_only(dbapi_connection: Any, _record: Any) -> None:
        if not opened:  # SQLite's own way to give a connection that refuses writes
            dbapi_connection.execute("PRAGMA query_only=ON")
        opened.append(dbapi_connection)
    event.listen(thread.engine, "connect", first_read_only)
    writer = WriteBehind(sessions, thread=thread)
    writer.write(*a_call(1))

    with caplog.at_level(logging.WARNING, "ivr.writebehind"):
        await asyncio.wait_for(writer.flush(), 15)

    assert await counts(sessions) == (1, 2)
    assert "readonly database" in caplog.text and len(opened) == 2
    await writer.close()


def test_a_journal_drops_each_generation_once_everything_in_it_is_committed(
        tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal", rotate_bytes=100)  # a generation every call
    journal.open(after=0)
    marks = [journal.append(a_call(n)) for n in range(4)]
    names = lambda: sorted(p.name for p in (tmp_path / "journal").iterdir())  # noqa: E731
    assert names() == [f"0000000{g}.journal" for g in range(1, 6)]

    journal.applied(marks[1])  # committed up to the second call: the generations before its go
    assert names() == [f"0000000{g}.journal" for g in range(2, 6)]
    (tmp_path / "journal" / "00000001.journal").write_text("")  # (as if never swept)
    journal.applied(marks[1])  # the same generation again: the folder is not looked at
    assert "00000001.journal" in names()
    journal.applied(marks[3])
    assert names() == ["00000004.journal", "00000005.journal"]
    journal.close()


async def test_a_write_refused_in_a_record_moves_the_journals_mark_past_that_record(
        sessions: Sessions, tmp_path: Path, writer_of: Any) -> None:
    """The writes of one turn of the loop are one record: one refused write is committed
    alone and skipped, its record-mates are committed, and nothing is applied again."""
    writer = writer_of(sessions, Journal(tmp_path / "journal"))
    await writer.open()
    writer.write(*a_call(1), w.event("no-such-call", "prompt", {}), *a_call(2))
    await writer.flush()
    await writer.close()

    again = writer_of(sessions, Journal(tmp_path / "journal"))
    assert await again.open() == 0
    assert await counts(sessions) == (2, 4)
    await again.close()


async def test_a_journal_of_json_lines_left_by_an_older_bridge_is_applied(
        sessions: Sessions, tmp_path: Path, writer_of: Any) -> None:
    folder = tmp_path / "journal"
    folder.mkdir()
    lines = [json.dumps([write.op, write.call_id, write.values]).encode() + b"\n"
             for write in a_call(1)]
    (folder / "00000007.jsonl").write_bytes(b"".join(lines) + b'["ensure", "cut sh')

    writer = writer_of(sessions, Journal(folder))
    assert await writer.open() == 4  # the line cut short never was a write
    await writer.flush()

    assert await counts(sessions) == (1, 2)
    assert writer.journal.generation == 8
    writer.write(*a_call(2))  # once a write of the new generation is committed, the old goes
    await writer.flush()
    assert sorted(p.name for p in folder.iterdir()) == ["00000008.journal"]
    await writer.close()


class _Shell:
    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (os.system, ("touch pwned",))


def test_a_damaged_record_is_skipped_a_cut_one_was_never_written_and_no_code_runs(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    journal = Journal(tmp_path / "journal")
    journal.open(after=0)
    made = [a_call(n) for n in range(3)]
    for writes in made:
        journal.append(writes)
    journal.close()
    path = journal.path(1)
    data = bytearray(path.read_bytes())
    length = int.from_bytes(data[:4], "little")
    data[4 + length + 4:4 + length + 12] = b"\xff" * 8  # inside the second record
    evil = pickle.dumps([("ensure", "1.1", {}), _Shell()])
    data += len(evil).to_bytes(4, "little") + evil
    data += (500).to_bytes(4, "little") + b"\x80\x05"  # the process died inside write(2)
    path.write_bytes(bytes(data))

    with caplog.at_level(logging.WARNING, "ivr.writebehind"):
        found = journal.unapplied((0, 0))

    assert [writes for writes, _ in found] == [made[0], made[2]]
    assert caplog.text.count("an unreadable record") == 2
    assert "may not name posix.system" in caplog.text
    assert not (tmp_path / "pwned").exists()


async def test_a_ticket_after_writes_in_the_writers_batch_takes_no_lock_of_its_own(
        sessions: Sessions, db_url: str) -> None:
    """SQLite: a ticket's reference is read under the write lock. A job after the batch's
    writes holds it already (the driver began the transaction at the first write); a job
    that comes first takes it with a write that changes nothing."""
    thread = WriterThread(db_url)
    writer = WriteBehind(sessions, None, 0.05, thread=thread)
    statements: list[str] = []
    event.listen(thread.engine, "before_cursor_execute",
                 lambda *args: statements.append(args[2]))

    async def ticket(session: AsyncSession) -> str:
        made = await tickets.create_ticket(session, "consultation", "13812345678", None)
        return made.reference

    first = await writer.run(ticket)  # nothing written before it in its transaction
    writer.write(*a_call(1))
    second = await writer.run(ticket)

    takes = [n for n, sql in enumerate(statements) if sql.startswith("UPDATE tickets SET id")]
    inserts = [n for n, sql in enumerate(statements) if sql.startswith("INSERT INTO tickets")]
    sqlite = make_url(db_url).get_backend_name() == "sqlite"
    assert len(inserts) == 2 and second == f"{first[:-4]}{int(first[-4:]) + 1:04d}"
    # SQLite: one write that changes nothing, before the first ticket only
    assert takes == ([takes[0]] if sqlite and takes and takes[0] < inserts[0] else [])
    assert bool(takes) == sqlite
    await writer.close()
