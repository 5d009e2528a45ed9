"""hotline.db.base: driver URLs, UTC-aware times, the commit-or-rollback session scope."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from hotline.db import calls
from hotline.db.base import (
    UTCDateTime,
    _sqlite_reopen_if_read_only,
    async_url,
    make_engine,
    make_sessionmaker,
    session_scope,
    sync_url,
)

Sessions = async_sessionmaker[AsyncSession]
T0 = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize(("url", "expected"), [
    ("sqlite:////var/lib/hotline/hotline.db", "sqlite+aiosqlite:////var/lib/hotline/hotline.db"),
    ("sqlite:///relative.db", "sqlite+aiosqlite:///relative.db"),
    ("postgresql://u:p%40ss@db:5432/hotline", "postgresql+psycopg://u:p%40ss@db:5432/hotline"),
    ("postgresql+psycopg2://u@db/hotline", "postgresql+psycopg://u@db/hotline"),
])
def test_async_url_picks_the_async_driver(url: str, expected: str) -> None:
    assert async_url(url) == expected


@pytest.mark.parametrize(("url", "expected"), [
    ("sqlite+aiosqlite:////data/hotline.db", "sqlite:////data/hotline.db"),
    ("postgresql://u:secret@db/hotline", "postgresql+psycopg://u:secret@db/hotline"),
])
def test_sync_url_keeps_the_password_for_migrations(url: str, expected: str) -> None:
    assert sync_url(url) == expected


def test_async_url_refuses_other_databases() -> None:
    with pytest.raises(ValueError, match="use sqlite or postgresql"):
        async_url("mysql://u@db/hotline")


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.dialect()])
def test_utc_datetime_binds_utc_and_reads_aware(dialect: object) -> None:
    column = UTCDateTime()
    local = datetime(2026, 11, 27, 10, 0, tzinfo=timezone(timedelta(hours=8)))

    bound = column.process_bind_param(local, dialect)  # type: ignore[arg-type]
    assert bound == local and bound is not None and bound.utcoffset() == timedelta(0)
    naive_from_db = column.process_result_value(datetime(2026, 11, 27, 2, 0), dialect)  # type: ignore[arg-type]
    assert naive_from_db == T0 and naive_from_db.tzinfo is UTC
    assert column.process_bind_param(None, dialect) is None  # type: ignore[arg-type]
    assert column.process_result_value(None, dialect) is None  # type: ignore[arg-type]


def test_utc_datetime_refuses_naive_values() -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        UTCDateTime().process_bind_param(datetime(2026, 11, 27, 10, 0), sqlite.dialect())


async def test_naive_datetime_is_refused_by_the_database_layer(sessions: Sessions) -> None:
    with pytest.raises(StatementError, match="naive datetime"):
        async with session_scope(sessions) as session:
            await calls.ensure_call(session, "c1", started_at=datetime(2026, 11, 27, 10, 0))

    async with session_scope(sessions) as session:
        assert await calls.get_call(session, "c1") is None


async def test_session_scope_commits_on_success(sessions: Sessions) -> None:
    async with session_scope(sessions) as session:
        await calls.ensure_call(session, "c1", started_at=T0)

    async with session_scope(sessions) as session:
        assert await calls.get_call(session, "c1") is not None


async def test_session_scope_rolls_back_on_exception(sessions: Sessions) -> None:
    async with session_scope(sessions) as session:
        await calls.ensure_call(session, "kept", started_at=T0)

    with pytest.raises(RuntimeError, match="boom"):
        async with session_scope(sessions) as session:
            await calls.ensure_call(session, "lost", started_at=T0)
            await calls.update_call(session, "kept", agent="8001")
            await session.flush()  # the writes reached the database before the failure
            raise RuntimeError("boom")

    async with session_scope(sessions) as session:
        assert await calls.get_call(session, "lost") is None
        kept = await calls.get_call(session, "kept")
    assert kept is not None and kept.agent == ""


async def _write_twice(engine: AsyncEngine) -> tuple[BaseException | None, int]:
    """A write through the engine's first connection, then another: (the first's error,
    the rows there after the second)."""
    sessions = make_sessionmaker(engine)
    failed: BaseException | None = None
    try:
        async with session_scope(sessions) as session:
            await session.execute(text("INSERT INTO t VALUES (1)"))
    except DBAPIError as exc:
        failed = exc
    try:
        async with session_scope(sessions) as session:
            await session.execute(text("INSERT INTO t VALUES (2)"))
    except DBAPIError:
        pass
    async with session_scope(sessions) as session:
        rows = int(await session.scalar(text("SELECT count(*) FROM t")) or 0)
    return failed, rows


@pytest.mark.parametrize("reopen", [True, False])
async def test_a_read_only_sqlite_connection_is_dropped_and_the_file_opened_again(
        tmp_path: Path, reopen: bool) -> None:
    # A connection opened while the file was read-only (query_only is SQLite's own way to
    # give one) refuses writes with the same error; a fresh connection takes them.
    url = f"sqlite:///{tmp_path / 'ro.db'}"
    engine = make_engine(url)
    if not reopen:
        event.remove(engine.sync_engine, "handle_error", _sqlite_reopen_if_read_only)
    opened = []

    def first_read_only(dbapi_connection: Any, _record: Any) -> None:
        if not opened:
            dbapi_connection.execute("PRAGMA query_only=ON")
        opened.append(dbapi_connection)
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE t (n INTEGER)"))
    await engine.dispose()
    event.listen(engine.sync_engine, "connect", first_read_only)
    try:
        failed, rows = await _write_twice(engine)
    finally:
        await engine.dispose()
    assert isinstance(failed, DBAPIError)
    assert "readonly database" in str(failed)
    assert failed.connection_invalidated is reopen
    # With the hook the second write gets a new connection; without it, the same one.
    assert (rows, len(opened)) == ((1, 2) if reopen else (0, 1))
