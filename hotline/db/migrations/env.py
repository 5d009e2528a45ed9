"""Alembic environment: the URL comes from hotline.db.migrate, never from a file."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from hotline.db import models  # noqa: F401  (registers every table on Base.metadata)
from hotline.db.base import Base

target_metadata = Base.metadata


def run_migrations() -> None:
    url = context.config.attributes["url"]
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata,
                          render_as_batch=connection.dialect.name == "sqlite")
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations()
