"""hotline.db.migrate: the schema from Alembic, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from hotline.db import calls
from hotline.db.base import make_engine, make_sessionmaker, session_scope, sync_url
from hotline.db.migrate import upgrade

TABLES = {"alembic_version", "calls", "call_events", "recordings", "reconcile_marks", "state"}


def _schema(url: str) -> tuple[set[str], list[str]]:
    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as connection:
            tables = set(inspect(connection).get_table_names())
            versions = list(connection.execute(text("SELECT version_num FROM alembic_version"))
                            .scalars())
    finally:
        engine.dispose()
    return tables, versions


def test_upgrade_creates_every_table(db_url: str) -> None:
    upgrade(db_url)

    tables, versions = _schema(db_url)
    assert tables == TABLES
    assert versions == ["0001"]


def test_upgrade_creates_the_sqlite_folder(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a' / 'b' / 'hotline.db'}"
    upgrade(url)

    assert Path(str(make_url(url).database)).is_file()


async def test_upgrade_twice_is_harmless_and_keeps_data(db_url: str) -> None:
    upgrade(db_url)
    engine = make_engine(db_url)
    try:
        async with session_scope(make_sessionmaker(engine)) as session:
            await calls.ensure_call(session, "c1", started_at=datetime(2026, 11, 27, tzinfo=UTC))
    finally:
        await engine.dispose()

    upgrade(db_url)

    tables, versions = _schema(db_url)
    assert tables == TABLES and versions == ["0001"]
    engine = make_engine(db_url)
    try:
        async with session_scope(make_sessionmaker(engine)) as session:
            assert await calls.get_call(session, "c1") is not None
    finally:
        await engine.dispose()
