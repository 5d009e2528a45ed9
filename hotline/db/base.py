"""Engine, sessions and the column types every model shares.

Sessions go through :func:`session_scope`, which commits on success and rolls back on any
error, so no caller forgets either.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import DateTime, create_engine, event
from sqlalchemy.engine import Dialect, Engine, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

T = TypeVar("T")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite hands back naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use UTC-aware datetimes")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


# Session.info key: this session's transaction already holds SQLite's write lock (a write
# came before it in the same transaction). The bridge's writer sets it for the jobs it runs
# after a batch's writes, so hotline.db.tickets need not take the lock with a write of its own.
HOLDS_WRITE_LOCK = "holds_sqlite_write_lock"


def utcnow() -> datetime:
    return datetime.now(UTC)


def async_url(url: str) -> str:
    """The async driver for a configured URL: aiosqlite for SQLite, psycopg 3 for PostgreSQL."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return str(parsed.set(drivername="sqlite+aiosqlite"))
    if parsed.get_backend_name() == "postgresql":
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    raise ValueError(f"database URL {parsed.render_as_string()}: use sqlite or postgresql")


def sync_url(url: str) -> str:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return str(parsed.set(drivername="sqlite"))
    return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def make_engine(url: str) -> AsyncEngine:
    # A ping before each use finds a PostgreSQL connection the server dropped; a SQLite
    # file has no server to lose, and the ping was a SELECT 1 on every session.
    remote = make_url(url).get_backend_name() != "sqlite"
    engine = create_async_engine(async_url(url), pool_pre_ping=remote)
    _sqlite_ways(engine.sync_engine)
    return engine


def make_sync_engine(url: str, **pool: Any) -> Engine:
    """A synchronous engine with the same SQLite settings as make_engine's (the bridge's
    writer thread: ivr/writebehind.py)."""
    engine = create_engine(sync_url(url), **pool)
    _sqlite_ways(engine)
    return engine


def _sqlite_ways(engine: Engine) -> None:
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "handle_error", _sqlite_reopen_if_read_only)


def _sqlite_reopen_if_read_only(context: Any) -> None:
    # SQLite opens a file it may not write read-only, and such a connection stays read-only
    # after the file is writable again (a permission or mount fixed): every write through it
    # fails with "attempt to write a readonly database" until the process restarts. Counted
    # as a lost connection instead, it is dropped from the pool, the error says so
    # (connection_invalidated), and the next try opens the file afresh.
    if "readonly database" in str(context.original_exception):
        context.is_disconnect = True


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL: readers (the CLI, the console, the bridge's menu reads) never wait for the writer
    # nor it for them. synchronous=NORMAL: in WAL mode a commit is safe against a process
    # dying (kill -9) and only a power cut can take the last commits, which spares an fsync
    # per commit. Contention is answered by having few writers (the bridge has one, batching:
    # ivr/writebehind.py); the busy timeout only lets another process's short transaction
    # finish instead of failing at once. pysqlite's own lazy transactions are kept on purpose:
    # a transaction begins at its first write, so a read-then-write unit never holds a stale
    # snapshot that SQLite would refuse to upgrade ("database is locked", which no busy
    # timeout cures). Under it a SAVEPOINT with no write before it in its transaction is the
    # transaction itself, and commits on its own when released.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def run_once(url: str, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """One unit of work from a synchronous command (the CLI): its own engine, disposed after,
    committed or rolled back like any session_scope."""
    async def run() -> T:
        engine = make_engine(url)
        try:
            async with session_scope(make_sessionmaker(engine)) as session:
                return await work(session)
        finally:
            await engine.dispose()
    return asyncio.run(run())


@asynccontextmanager
async def session_scope(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One unit of work: commit if the block succeeds, roll back if it raises."""
    async with factory() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise
