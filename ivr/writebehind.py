"""The bridge's one database writer: calls are written behind the caller, never in their way.

What a call does (its record, its menu path, each prompt and key, its recordings) is handed
to :meth:`WriteBehind.write`, which returns at once: the write is appended to a journal file
and queued. One task drains the queue in batches, one transaction per batch
(hotline.db.callwrites.apply), so the caller's audio path never waits on a commit and the
process has one writer (SQLite takes one at a time; a pile of small transactions waiting on
its lock is what made callers wait before).

Work that needs an answer from the database (a ticket's reference) goes through
:meth:`WriteBehind.run`: the same writer, in order with the queued writes, awaited by the
one who asked. Work nobody waits for goes with the next batch: :meth:`WriteBehind.later`
(in memory), or :meth:`WriteBehind.later_journaled` for work that must not be lost (a hung-up
caller's voice message, ivr/journaled.py): a job named in the journal with plain values.

Nothing queued is lost when the process dies (kill -9 included): each write is in the journal
(data/journal/<generation>.journal) before the event loop next waits for anything, so it is
in the kernel's hands. The writes of one turn of the loop go in one record, one write(2), at
its end (a write(2) for each cost a system call on the callers' loop every time, a JSON line
for each five times the CPU of one pickled record for all of them). The database
remembers, in the same transaction as each batch, how far the journal is applied
(reconcile_marks, source "bridge-journal"). At start the writes after that mark are applied
first, exactly once. A power cut can still take the last moments of the journal with it (it
is not fsync'd per write); the reconciler then rebuilds those calls from
Asterisk's CDR (without their menu steps).

A database that cannot take the writes (locked by another process, PostgreSQL down) holds
nothing up: the writer retries the same batch with a back-off while calls go on and the queue
(and the journal) grows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import struct
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from hotline.db import calls, callwrites
from hotline.db.base import HOLDS_WRITE_LOCK, make_sync_engine, session_scope
from hotline.db.callwrites import Write

log = logging.getLogger(__name__)

T = TypeVar("T")
Job = Callable[[AsyncSession], Awaitable[Any]]
# A job kept in the journal (ivr/journaled.py): job(session, values), found by its name.
NamedJob = Callable[[AsyncSession, dict[str, Any]], Awaitable[Any]]

MARK_SOURCE = "bridge-journal"
# How long the writer lets writes gather before a commit (none when someone awaits a job).
# A commit costs ~2 ms of CPU whatever its size: every 50 ms that was most of the bridge's CPU
# per call at a few calls a second; nobody waits on these writes (they are journaled).
BATCH_DELAY = 0.5
# Busy (writes coming at BUSY_WRITES_PER_SECOND or more, about 30 callers in the voice
# menu), the writes gather longer: in place, under load, a commit cost several times what
# it costs alone, and a commit every 2 s rather than every 0.5 s took about a tenth off the
# bridge's CPU a call at 100 concurrent (bench/README.md, 2026-12-03). The
# console sees a busy hour's calls up to 2 s behind; a caller handed to the seats is
# committed at once (hurry), for the agent's screen.
BUSY_BATCH_DELAY = 2.0
BUSY_WRITES_PER_SECOND = 25
MAX_BATCH = 2000
RETRY_FIRST, RETRY_MAX = 0.2, 5.0
ROTATE_BYTES = 16 * 1024 * 1024

Position = tuple[int, int]  # (journal generation, offset just after the record)
SUFFIX, OLD_SUFFIX = ".journal", ".jsonl"
_LENGTH = struct.Struct("<I")  # a record's length, before it


class Journal:
    """Append-only files of the writes not yet known to be committed. Each record is the
    writes of one turn of the bridge's loop (callwrites.encode_record), behind its length
    (4 bytes, little-endian); a position is the offset just after a record. A bridge from
    before wrote a JSON line for each write (.jsonl): such a generation is still read."""

    def __init__(self, folder: Path, rotate_bytes: int = ROTATE_BYTES) -> None:
        self.folder, self.rotate_bytes = folder, rotate_bytes
        self._fd = -1
        self.generation, self._offset = 0, 0
        self._swept = -1  # no generation older than this is left

    def generations(self) -> list[int]:
        if not self.folder.is_dir():
            return []
        return sorted({int(p.stem) for suffix in (SUFFIX, OLD_SUFFIX)
                       for p in self.folder.glob(f"*{suffix}") if p.stem.isdigit()})

    def path(self, generation: int) -> Path:
        return self.folder / f"{generation:08d}{SUFFIX}"

    def _paths(self, generation: int) -> tuple[Path, Path]:
        return self.path(generation), self.path(generation).with_suffix(OLD_SUFFIX)

    def unapplied(self, mark: Position) -> list[tuple[list[Write], Position]]:
        """The records after `mark`, in the order they were made: each one's writes and
        position."""
        found: list[tuple[list[Write], Position]] = []
        for generation in self.generations():
            if generation >= mark[0]:
                start = mark[1] if generation == mark[0] else 0
                found += self._read(generation, start)
        return found

    def _read(self, generation: int, start: int) -> list[tuple[list[Write], Position]]:
        path, old = self._paths(generation)
        if not path.exists():
            return self._read_lines(old, generation, start)
        data = path.read_bytes()
        found, offset = [], start
        # A record cut short (the process died inside write(2)) never was one.
        while offset + _LENGTH.size <= len(data):
            (length,) = _LENGTH.unpack_from(data, offset)
            end = offset + _LENGTH.size + length
            if end > len(data):
                break
            try:
                found.append((callwrites.decode_record(data[offset + _LENGTH.size:end]),
                              (generation, end)))
            except ValueError as exc:
                log.warning("journal %s: an unreadable record at %d skipped (%s)", path,
                            offset, exc)
            offset = end
        return found

    def _read_lines(self, path: Path, generation: int,
                    start: int) -> list[tuple[list[Write], Position]]:
        data = path.read_bytes()
        found, offset = [], start
        for line in data[start:].splitlines(keepends=True):
            offset += len(line)
            if not line.endswith(b"\n"):
                break
            try:
                found.append(([Write.decode(line)], (generation, offset)))
            except ValueError:
                log.warning("journal %s: an unreadable line at %d skipped", path,
                            offset - len(line))
        return found

    def open(self, after: int) -> None:
        """Start a new generation, newer than every file and than `after` (the mark's)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.generation = max([after, *self.generations()]) + 1
        self._fd = os.open(self.path(self.generation), os.O_WRONLY | os.O_CREAT | os.O_APPEND,
                           0o600)
        self._offset = 0

    def append(self, writes: list[Write]) -> Position:
        """The writes as one record, in one write(2); the position after it."""
        payload = callwrites.encode_record(writes)
        os.write(self._fd, _LENGTH.pack(len(payload)) + payload)
        self._offset += _LENGTH.size + len(payload)
        position = (self.generation, self._offset)
        if self._offset >= self.rotate_bytes:
            os.close(self._fd)
            self.open(self.generation)
        return position

    def applied(self, mark: Position) -> None:
        """Everything up to `mark` is committed: older generations can go. The folder is
        looked at only when the mark has reached a newer generation (after every batch it
        was a directory listing on the bridge's loop)."""
        if mark[0] <= self._swept:
            return
        for generation in self.generations():
            if generation < mark[0]:
                for path in self._paths(generation):
                    path.unlink(missing_ok=True)
        self._swept = mark[0]

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class WriterThread:
    """The writer's own synchronous connection, used from one thread of its own: a batch
    (writes and the jobs among them) is one hop to that thread and one transaction there.
    Through the async engine (aiosqlite) every statement is several hops between the event
    loop and the driver's thread, which cost more CPU than the statements themselves and
    held the loop up: a voice message's ticket took 3.7-3.9 ms of CPU that way, 1.8-2.0 here.

    A job is the same coroutine function as anywhere else (job(AsyncSession)): here its
    session is an AsyncSession over the thread's synchronous connection, in the batch's
    transaction, and the thread's own event loop runs it. A synchronous driver never
    suspends, so each of the job's statements runs at once, in this thread; the bridge's
    loop only hears when the whole batch is committed."""

    def __init__(self, url: str) -> None:
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="call-writer")
        self.engine = make_sync_engine(url, pool_size=1, max_overflow=0)
        self._loop: asyncio.AbstractEventLoop | None = None  # the thread's, made there

    async def run(self, batch: list[_Item], mark: Position | None) -> list[Any]:
        """Each item's result (None for a write), in one transaction."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._run,
                                                                batch, mark)

    async def read(self, query: Callable[[Connection], T]) -> T:
        """query(connection) in this thread, between batches: one hop for the loop (the
        bridge's look at its routing books every second, ivr/routing.py; through aiosqlite
        each statement was several)."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._read,
                                                                query)

    def _read(self, query: Callable[[Connection], T]) -> T:
        with self.engine.connect() as conn:
            return query(conn)

    def _run(self, batch: list[_Item], mark: Position | None) -> list[Any]:
        with self.engine.connect() as conn, conn.begin():
            if all(item.job is None for item in batch):
                results: list[Any] = _apply_parts_on(conn, batch)
            else:
                # The batch's jobs in one pass of the thread's loop, not one each: starting
                # and stopping the loop cost more than a ticket's statements (issue 12).
                if self._loop is None:
                    self._loop = asyncio.new_event_loop()
                results = self._loop.run_until_complete(self._with_jobs(conn, batch))
            if mark is not None:
                callwrites.move_mark(conn, MARK_SOURCE, mark[1], str(mark[0]))
        return results

    async def _with_jobs(self, conn: Connection, batch: list[_Item]) -> list[Any]:
        results: list[Any] = []
        for part in _parts(batch):
            if part[0].job is None:
                results += _apply_parts_on(conn, part)
            else:
                results.append(await self._job(conn, part[0].job))
        return results

    async def _job(self, conn: Connection, job: Job) -> Any:
        # The session joins the batch's transaction: its commit flushes, and leaves the
        # transaction to the batch (join_transaction_mode's default for a connection that
        # is in one); an error rolls the whole batch back, as session_scope would.
        # (sync_session_class takes "a Session subclass or other callable")
        # SQLite's driver begins a transaction at its first write (hotline.db.base): one
        # begun already holds the write lock, which the job's own writes need not take.
        info = {HOLDS_WRITE_LOCK: True} if _writing_sqlite(conn) else {}
        joined = cast(type[Session], lambda **_: Session(bind=conn, expire_on_commit=False,
                                                          info=info))
        async with _ThreadSession(sync_session_class=joined) as session:
            result = await job(session)
            await session.commit()
            return result

    def close(self) -> None:
        # The connection and the loop are closed in the thread that made them.
        def close() -> None:
            self.engine.dispose()
            if self._loop is not None:
                self._loop.close()
        self._executor.submit(close).result()
        self._executor.shutdown()


def _writing_sqlite(conn: Connection) -> bool:
    if conn.dialect.name != "sqlite":
        return False
    return bool(getattr(conn.connection.driver_connection, "in_transaction", False))


class _ThreadSession(AsyncSession):
    """A job's AsyncSession in the writer's thread. AsyncSession.execute closes the driver's
    cursor the asynchronous way (an async driver's cursor method, which the synchronous
    driver's cursor does not have); here the statement runs as Session.execute runs it,
    its rows read at once (prebuffer_rows, as AsyncSession asks for them too)."""

    async def execute(self, statement: Any, params: Any = None, *,
                      execution_options: Any = None, bind_arguments: Any = None,
                      **kw: Any) -> Any:
        return self.sync_session.execute(
            statement, params, execution_options={**(execution_options or {}),
                                                  "prebuffer_rows": True},
            bind_arguments=bind_arguments, **kw)


@dataclass(slots=True)
class _Item:
    """Writes made together (one journal record), or a job; a job kept in the journal
    (later_journaled) is both: its record and what runs it."""
    writes: list[Write] | None = None
    position: Position | None = None
    job: Job | None = None
    future: asyncio.Future[Any] | None = None


def transient(exc: BaseException) -> bool:
    """A database that cannot take writes now (locked, down), rather than a bad write."""
    if isinstance(exc, OperationalError | InterfaceError):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


class WriteBehind:
    def __init__(self, sessions: async_sessionmaker[AsyncSession],
                 journal: Journal | None = None, batch_delay: float = BATCH_DELAY,
                 thread: WriterThread | None = None,
                 busy_delay: float = BUSY_BATCH_DELAY) -> None:
        """journal: None keeps the queue in memory only (tests of one piece). thread: runs
        the batches of writes (jobs still run on `sessions`); None: everything on sessions.
        batch_delay: how long writes gather; busy_delay: how long while they come fast."""
        self.sessions, self.journal, self.batch_delay = sessions, journal, batch_delay
        self.busy_delay = busy_delay
        self._busy = False  # writes come fast (_note_rate)
        self._named: dict[str, NamedJob] = {}  # the jobs the journal may name
        self._taken, self._judged_at = 0, 0.0  # writes taken since busy was judged, when
        self.thread = thread
        self._items: list[_Item] = []
        self._unjournaled: list[Write] = []  # this turn of the loop's writes
        self._running_loop: asyncio.AbstractEventLoop | None = None
        self._wake = asyncio.Event()
        self._urgent = asyncio.Event()  # someone awaits a job: no gathering time
        self._task: asyncio.Task[None] | None = None
        self._failing = False

    # --- what the bridge calls -----------------------------------------------------------

    def write(self, *writes: Write) -> None:
        """Queue facts about calls; returns at once. They reach the journal at the end of
        this turn of the event loop, with the others made in it, before it waits again."""
        if self.journal is None:
            self._items.append(_Item(writes=list(writes)))
        else:
            if not self._unjournaled:
                self._loop().call_soon(self._journal_now)
            self._unjournaled += writes
        self._kick()

    def _journal_now(self) -> None:
        """The writes made since the last call, into the journal in one write(2) and into
        the queue. Also called before anything else is queued, so the order holds."""
        writes, self._unjournaled = self._unjournaled, []
        if not writes or self.journal is None:
            return
        position: Position | None = None
        try:
            position = self.journal.append(writes)
        except OSError as exc:  # the disk is full: the writes are still queued, in memory
            log.error("journal %s not written (%s): %d write(s) kept in memory only",
                      self.journal.folder, exc, len(writes))
        self._items.append(_Item(writes=writes, position=position))

    def register(self, name: str, job: NamedJob) -> None:
        """A job later_journaled() may name; registered before open(), which runs the ones
        a killed bridge left in the journal."""
        self._named[name] = job

    def later_journaled(self, name: str, call_id: str, values: dict[str, Any]) -> None:
        """Work nobody waits for, kept in the journal by name with plain values (as the
        call facts are), so a bridge killed before it is committed runs it at its next
        start; in the next batch, after the writes queued before it."""
        if name not in self._named:
            raise KeyError(f"no job {name!r} registered with the writer")
        write = Write(callwrites.JOB, call_id, {**values, "job": name})
        self._journal_now()  # the writes before it: a record of their own, first
        position: Position | None = None
        if self.journal is not None:
            try:
                position = self.journal.append([write])
            except OSError as exc:
                log.error("journal %s not written (%s): job %s of call %s kept in memory "
                          "only", self.journal.folder, exc, name, call_id)
        self._items.append(self._item([write], position))
        self._kick()

    def _item(self, writes: list[Write], position: Position | None) -> _Item:
        """A journal record as the queue holds it: a named job's is that job."""
        if len(writes) == 1 and writes[0].op == callwrites.JOB:
            values = dict(writes[0].values)
            name = values.pop("job", "")

            async def named(session: AsyncSession) -> Any:
                if name not in self._named:
                    raise LookupError(f"no job {name!r} registered with the writer")
                return await self._named[name](session, values)
            return _Item(writes=writes, position=position, job=named)
        return _Item(writes=writes, position=position)

    def hurry(self) -> None:
        """Commit what is queued now rather than after the gathering time: someone will
        read it in a moment (a caller handed to the seats: the agent's screen shows how
        they came through the menu)."""
        self._urgent.set()
        self._kick()

    def submit(self, job: Callable[[AsyncSession], Awaitable[T]],
               urgent: bool = True) -> asyncio.Future[T]:
        """Run job(session) in the writer's transaction, after everything queued before it;
        the future has its result once committed. urgent: someone waits for it, so the
        batch goes without the gathering time."""
        future: asyncio.Future[T] = self._loop().create_future()
        self._journal_now()
        self._items.append(_Item(job=job, future=future))
        if urgent:
            self._urgent.set()
        self._kick()
        return future

    async def run(self, job: Callable[[AsyncSession], Awaitable[T]]) -> T:
        return await self.submit(job)

    def later(self, job: Job, what: str) -> None:
        """submit() for work nobody waits on, in the next batch as the writes are (issue
        12: made urgent, every case query's note cost a transaction of its own); a failure
        is logged."""
        def report(done: asyncio.Future[Any]) -> None:
            if not done.cancelled() and done.exception() is not None:
                log.error("%s failed", what, exc_info=done.exception())
        self.submit(job, urgent=False).add_done_callback(report)

    async def read(self, query: Callable[[Connection], T]) -> T:
        """query(connection): a read on the writer's thread (WriterThread.read), or on one
        of the sessions without it. Not ordered with the queued writes."""
        if self.thread is not None:
            return await self.thread.read(query)
        async with self.sessions() as session:
            return await session.run_sync(lambda sync: query(sync.connection()))

    async def flush(self) -> None:
        """Return once everything queued so far is committed."""
        await self.run(_nothing)

    @property
    def queued(self) -> int:
        """Writes and jobs not yet committed."""
        return (sum(len(item.writes) if item.writes is not None else 1 for item in self._items)
                + len(self._unjournaled))

    # --- start and stop ------------------------------------------------------------------

    async def open(self) -> int:
        """Queue what the journal holds beyond the database's mark (a previous process died
        with it), then start a new journal generation; how many writes were recovered."""
        if self.journal is None:
            return 0
        async with session_scope(self.sessions) as session:
            mark = await calls.get_mark(session, MARK_SOURCE)
        position = (int(mark.fingerprint or 0), mark.position) if mark else (0, 0)
        recovered = self.journal.unapplied(position)
        self._items[:0] = [self._item(writes, p) for writes, p in recovered]
        self.journal.open(position[0])
        count = sum(len(writes) for writes, _ in recovered)
        if recovered:
            log.info("journal: %d write(s) a previous bridge had not committed are applied now",
                     count)
            self._kick()
        return count

    async def close(self, timeout: float = 10.0) -> None:
        """Commit what is queued (what is not by `timeout` stays in the journal)."""
        self._journal_now()
        if self._items and self._task is not None:
            try:
                await asyncio.wait_for(self.flush(), timeout)
            except TimeoutError:
                log.warning("%d write(s) left in the journal for the next start",
                            len(self._items))
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        for item in self._items:
            if item.future is not None and not item.future.done():
                item.future.cancel()
        if self.journal is not None:
            self.journal.close()
        if self.thread is not None:
            await asyncio.to_thread(self.thread.close)

    # --- the writer ----------------------------------------------------------------------

    def _kick(self) -> None:
        if self._task is None:
            self._task = self._loop().create_task(self._drain(), name="write-behind")
        self._wake.set()

    def _loop(self) -> asyncio.AbstractEventLoop:
        """The loop the writer serves, found once (each asyncio.get_running_loop() is a
        getpid(2) on Python 3.11)."""
        if self._running_loop is None:
            self._running_loop = asyncio.get_running_loop()
        return self._running_loop

    async def _drain(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            if not self._urgent.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._urgent.wait(),
                                           self.busy_delay if self._busy else self.batch_delay)
            self._urgent.clear()
            self._journal_now()
            self._note_rate()
            while self._items:
                batch, self._items = self._items[:MAX_BATCH], self._items[MAX_BATCH:]
                try:
                    await self._commit(batch)
                except Exception:  # the writer must outlive any surprise
                    log.exception("the bridge's writer failed on a batch of %d", len(batch))

    def _note_rate(self) -> None:
        """Busy or not, by the writes taken since it was last judged, over batch_delay at
        least (a job someone awaits can take a batch a moment after the last one: a few
        writes in a few milliseconds say nothing of the hour)."""
        now = self._loop().time()
        self._taken += self.queued
        elapsed = now - self._judged_at
        if elapsed >= self.batch_delay:
            self._busy = self._taken >= BUSY_WRITES_PER_SECOND * elapsed
            self._taken, self._judged_at = 0, now

    async def _commit(self, batch: list[_Item]) -> None:
        try:
            results = await self._until_it_takes(batch)
        except Exception:
            # One bad write (or a failing job) must not sink the others with it: each job
            # alone, each run of writes together (and one by one if that fails too).
            for part in _parts(batch):
                if len(part) == 1 or not await self._commit_part(part):
                    for item in part:
                        await self._commit_alone(item)
            return
        for item, result in zip(batch, results, strict=True):
            _resolve(item, result)

    async def _commit_part(self, part: list[_Item]) -> bool:
        try:
            await self._until_it_takes(part)
        except Exception:
            return False
        return True

    async def _commit_alone(self, item: _Item) -> None:
        if item.writes is not None and len(item.writes) > 1:
            # Each of a record's writes alone; the journal's mark passes the record with its
            # last write, committed or refused.
            last = len(item.writes) - 1
            for n, write in enumerate(item.writes):
                await self._commit_alone(_Item(writes=[write],
                                               position=item.position if n == last else None))
            return
        try:
            [result] = await self._until_it_takes([item])
        except Exception as exc:
            if item.future is not None:
                if not item.future.done():
                    item.future.set_exception(exc)
                return
            refused = item.writes[0] if item.writes else None
            log.error("call %s: %s not written: %s", refused.call_id if refused else "?",
                      refused.op if refused else "?", exc)
            await self._skip(item)
            return
        _resolve(item, result)

    async def _until_it_takes(self, batch: list[_Item]) -> list[Any]:
        delay = RETRY_FIRST
        while True:
            try:
                results = await self._apply(batch)
            except Exception as exc:
                if not transient(exc):
                    raise
                log.warning("the database does not take the bridge's writes (%s); %d queued, "
                            "trying again in %.1f s", str(exc).splitlines()[0],
                            len(batch) + len(self._items), delay)
                self._failing = True
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX)
                continue
            if self._failing:
                self._failing = False
                log.info("the database takes the bridge's writes again")
            return results

    async def _apply(self, batch: list[_Item]) -> list[Any]:
        positions = [item.position for item in batch if item.position is not None]
        mark = positions[-1] if positions else None
        if self.thread is not None:
            results = await self.thread.run(batch, mark)
        else:
            results = await self._apply_here(batch, mark)
        if mark is not None and self.journal is not None:
            self.journal.applied(mark)
        return results

    async def _apply_here(self, batch: list[_Item], mark: Position | None) -> list[Any]:
        """The batch on the async sessions (without a thread: tests of one piece)."""
        results: list[Any] = []
        async with session_scope(self.sessions) as session:
            for part in _parts(batch):
                if part[0].job is None:
                    await callwrites.apply(session, _writes(part))
                    results += [None] * len(part)
                else:
                    results.append(await part[0].job(session))
            if mark is not None:
                await calls.set_mark(session, MARK_SOURCE, mark[1], str(mark[0]))
        return results

    async def _skip(self, item: _Item) -> None:
        """A write the database refuses for good is passed over in the journal too."""
        if item.position is None:
            return
        try:
            async with session_scope(self.sessions) as session:
                await calls.set_mark(session, MARK_SOURCE, item.position[1],
                                     str(item.position[0]))
        except Exception:  # the next batch's mark passes it over anyway
            log.warning("journal mark not moved past a refused write", exc_info=True)


def _parts(batch: list[_Item]) -> list[list[_Item]]:
    """The batch as runs of writes and single jobs, in order."""
    parts: list[list[_Item]] = []
    for item in batch:
        if (item.job is None and parts and parts[-1][-1].job is None
                and item.writes is not None and parts[-1][-1].writes is not None):
            parts[-1].append(item)
        else:
            parts.append([item])
    return parts


def _apply_parts_on(conn: Connection, items: list[_Item]) -> list[None]:
    """Runs of writes (no jobs) on a synchronous connection; a None for each item."""
    callwrites.apply_on(conn, _writes(items))
    return [None] * len(items)


def _writes(part: list[_Item]) -> list[Write]:
    return [write for item in part if item.writes is not None for write in item.writes]


def _resolve(item: _Item, result: Any) -> None:
    if item.future is not None and not item.future.done():
        item.future.set_result(result)


async def _nothing(_session: AsyncSession) -> None:
    return None
