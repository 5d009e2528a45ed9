"""Alembic migrations, run from code: `hotline db upgrade` and every start-up use this."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from hotline.db import report_marks
from hotline.db.base import sync_url

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str, court_name: str = "") -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["url"] = sync_url(url)
    # what migration 0018 names court 1 (the installation as it stood): [court] name
    config.attributes["court_name"] = court_name
    return config


def upgrade(url: str, revision: str = "head", *, court_name: str = "") -> None:
    """Bring the database at url up to revision (creating the SQLite file's folder).
    court_name is [court] name, the name court 1 gets if the courts are created now.

    Every part of the hotline migrates as it starts, and on a cluster several nodes start
    at once: one migrates at a time (a lock; see _one_at_a_time), the others then find
    nothing left to do."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    config = alembic_config(url, court_name)
    engine = create_engine(sync_url(url))
    try:
        with _one_at_a_time(engine):
            with engine.begin() as connection:
                current = MigrationContext.configure(connection).get_current_revision()
                pending = current != ScriptDirectory.from_config(config).get_current_head()
                if pending:  # the report marks' triggers stay out of the migrations' way
                    report_marks.remove(connection)
            command.upgrade(config, revision)
            with engine.begin() as connection:
                if report_marks.install(connection) and pending:
                    # writes while they were out left no mark: count every day again
                    connection.execute(text("DELETE FROM report_days"))
    finally:
        engine.dispose()


def pending(url: str) -> tuple[str | None, str | None]:
    """(the database's revision, this code's head) when they differ and the database has
    one (a schema that a migration would change); (None, None) otherwise: up to date, or
    a new database (nothing in it to lose)."""
    config = alembic_config(url)
    head = ScriptDirectory.from_config(config).get_current_head()
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and not Path(str(parsed.database)).is_file():
        return None, None
    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()
    return (current, head) if current is not None and current != head else (None, None)


# PostgreSQL's advisory lock key for migrating: any number of our own, the same on every
# node ("12368" and "migrate").
MIGRATE_LOCK = 12368_0001


@contextmanager
def _one_at_a_time(engine: Engine) -> Iterator[None]:
    """Hold the migration lock: PostgreSQL's advisory lock on a connection of its own (the
    nodes of a cluster), or a lock on the SQLite file's folder (the parts of one server)."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as holder:
            holder.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATE_LOCK})
            holder.commit()
            try:
                yield
            finally:
                holder.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATE_LOCK})
                holder.commit()
        return
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield
        return
    # The folder, not a file of ours: whoever runs the part (root, or the service's
    # user) can open it read-only, and SQLite's own locks on the file are not touched.
    folder = os.open(Path(database).resolve().parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(folder, fcntl.LOCK_EX)
        yield
    finally:
        os.close(folder)  # and with it the lock
