"""Migration 0008: one user per extension, on a database that already gave one extension
to several users (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError

from hotline.db.base import sync_url
from hotline.db.migrate import upgrade

USERS = [  # id, username, extension, active
    (1, "zhang", "8001", True), (2, "li", "8001", True), (3, "wang", "8001", False),
    (4, "zhao", "8002", False), (5, "qian", "8002", True),
    (6, "sun", "8003", True), (7, "chen", "", True), (8, "zhou", "", True)]


def _execute(url: str, sql: str, rows: list[dict[str, object]] | None = None
             ) -> list[tuple[Any, ...]]:
    engine = create_engine(sync_url(url))
    try:
        with engine.begin() as connection:
            result = connection.execute(text(sql), rows or [{}])
            return [tuple(r) for r in result.all()] if result.returns_rows else []
    finally:
        engine.dispose()


def _old_database(url: str) -> None:
    upgrade(url, "0007")
    at = datetime(2026, 11, 30, 8, tzinfo=UTC)
    _execute(url, "INSERT INTO users (id, username, display_name, role, password_hash, active, "
             "extension, mobile, created_at) VALUES (:id, :name, :name, 'agent', 'x', :active, "
             ":ext, '', :at)",
             [{"id": i, "name": n, "ext": e, "active": a, "at": at} for i, n, e, a in USERS])
    # li signed in on 8001 last: the PBX rings li there now
    _execute(url, "INSERT INTO agent_presence (user_id, extension, state, reason, since) "
             "VALUES (:id, '8001', :state, '', :since)",
             [{"id": 1, "state": "ready", "since": at},
              {"id": 2, "state": "ready", "since": at.replace(hour=9)},
              {"id": 3, "state": "out", "since": at.replace(hour=10)}])


def test_duplicates_keep_one_holder_and_the_rest_lose_the_extension(db_url: str) -> None:
    _old_database(db_url)

    upgrade(db_url)

    found = dict(_execute(db_url, "SELECT username, extension FROM users"))
    assert found == {"zhang": "", "li": "8001", "wang": "",  # the one signed in on it last
                     "zhao": "", "qian": "8002",  # nobody signed in: the active user
                     "sun": "8003", "chen": "", "zhou": ""}
    presence = dict(_execute(db_url, "SELECT user_id, state FROM agent_presence"))
    assert presence == {1: "out", 2: "ready", 3: "out"}


def test_after_it_the_database_refuses_a_second_holder(db_url: str) -> None:
    _old_database(db_url)
    upgrade(db_url)

    _execute(db_url, "UPDATE users SET extension = '' WHERE username = 'sun'")
    with pytest.raises(IntegrityError):
        _execute(db_url, "UPDATE users SET extension = '8001' WHERE username = 'sun'")
