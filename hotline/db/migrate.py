"""Alembic migrations, run from code: `hotline db upgrade` and every start-up use this."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text
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
    court_name is [court] name, the name court 1 gets if the courts are created now."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    config = alembic_config(url, court_name)
    engine = create_engine(sync_url(url))
    try:
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
