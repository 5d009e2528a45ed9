"""hotline.db.migrate: the schema from Alembic, on SQLite and PostgreSQL."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from hotline.db import calls
from hotline.db import models as _models  # noqa: F401  (every table on Base.metadata)
from hotline.db.base import Base, make_engine, make_sessionmaker, session_scope, sync_url
from hotline.db.migrate import alembic_config, pending, upgrade

TABLES = {"alembic_version", *Base.metadata.tables}
HEAD = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


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
    assert versions == [HEAD]


def test_migrations_match_the_models(db_url: str) -> None:
    # A model changed without a migration would pass every other test on a fresh database
    # and break the first server that upgrades.
    upgrade(db_url)
    engine = create_engine(sync_url(db_url))
    try:
        with engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        engine.dispose()
    assert diff == []


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
    assert tables == TABLES and versions == [HEAD]
    engine = make_engine(db_url)
    try:
        async with session_scope(make_sessionmaker(engine)) as session:
            assert await calls.get_call(session, "c1") is not None
    finally:
        await engine.dispose()


def _migrate_when_all_are_ready(db_url: str, ready: Any) -> None:
    ready.wait()
    upgrade(db_url)


def test_parts_starting_together_migrate_one_at_a_time(db_url: str) -> None:
    # The bridge, the console and the scheduler each migrate as they start, and on a
    # cluster every node's do, at the same moment: one migrates, the others find it done.
    # Three processes, as the parts are.
    spawn = multiprocessing.get_context("spawn")
    ready = spawn.Barrier(3)
    parts = [spawn.Process(target=_migrate_when_all_are_ready, args=(db_url, ready))
             for _ in range(3)]
    for part in parts:
        part.start()
    for part in parts:
        part.join(timeout=120)
    assert [part.exitcode for part in parts] == [0, 0, 0]
    tables, versions = _schema(db_url)
    assert tables == TABLES
    assert versions == [HEAD]


def test_pending_names_the_revisions_only_for_a_database_behind(db_url: str) -> None:
    assert pending(db_url) == (None, None)  # nothing there yet: nothing to lose
    upgrade(db_url, "0020")
    assert pending(db_url) == ("0020", HEAD)
    upgrade(db_url)
    assert pending(db_url) == (None, None)
