"""Fixtures shared by the unit tests: a database on each backend, sessions, the bridge's
services.

``db_url`` runs a test twice: on a SQLite file and on a fresh PostgreSQL database (skipped
when the server at HOTLINE_TEST_PG_URL cannot be reached).
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import sqlite3
import wave
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.db.base import make_engine, make_sessionmaker
from hotline.db.migrate import upgrade
from hotline.settings import DatabaseSettings, PathsSettings, Settings
from ivr.services import Services
from pbx import PbxInstance

PG_URL_VAR = "HOTLINE_TEST_PG_URL"
PG_DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"


def _libpq(url: URL) -> str:
    """The URL as libpq (psycopg.connect) reads it: no SQLAlchemy driver suffix."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _real_calls(nodeid: str) -> bool:
    return nodeid.startswith("tests/integration/")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The real-call tests first, so that under `make test` one worker starts on them at
    once (see pytest_xdist_make_scheduler)."""
    items.sort(key=lambda item: not _real_calls(item.nodeid))


def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """`make test` runs the suite on two workers (pytest-xdist, -n 2). The real-call tests
    share one Asterisk, one bridge and one database, so all of them go to one worker as
    one unit of work; every other module is a unit of its own (its module-scoped fixtures
    made once) and runs on the other worker meanwhile. (xdist's own --dist loadgroup does
    not group on pytest 9.2: it renames the node ids through an attribute pytest no longer
    reads.)"""
    from xdist.scheduler import LoadScopeScheduling

    class RealCallsTogether(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return "tests/integration" if _real_calls(nodeid) else super()._split_scope(nodeid)

    return RealCallsTogether(config, log)


@pytest.fixture(scope="session")
def pg_server() -> URL | None:
    """The PostgreSQL server's URL when it answers, else None (checked once per run)."""
    url = make_url(os.environ.get(PG_URL_VAR, PG_DEFAULT_URL))
    try:
        with psycopg.connect(_libpq(url), autocommit=True, connect_timeout=3):
            return url
    except psycopg.OperationalError:
        return None


@pytest.fixture
def _pg_database(request: pytest.FixtureRequest, pg_server: URL | None) -> Iterator[str]:
    if pg_server is None:
        url = os.environ.get(PG_URL_VAR, PG_DEFAULT_URL)
        pytest.skip(f"PostgreSQL not reachable at {url} (set {PG_URL_VAR} to another server)")
    name = f"hotline_t_{secrets.token_hex(6)}"
    # A test that asks for sessions gets a copy of the migrated template at once.
    template = (f' TEMPLATE "{request.getfixturevalue("_pg_template")}"'
                if "sessions" in request.fixturenames else "")
    with psycopg.connect(_libpq(pg_server), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"{template}')
    try:
        yield _libpq(pg_server.set(database=name))
    finally:
        with psycopg.connect(_libpq(pg_server), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database nobody else uses, not yet migrated."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'db' / 'hotline.db'}"
    return str(request.getfixturevalue("_pg_database"))


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database migrated once per run; tests get copies (migrating every test's
    own database took most of the unit tests' time)."""
    path = tmp_path_factory.mktemp("template") / "hotline.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def _pg_template(pg_server: URL | None) -> Iterator[str]:
    """A PostgreSQL database migrated once per run, the template of every test's own."""
    assert pg_server is not None
    name = f"hotline_tpl_{secrets.token_hex(6)}"
    with psycopg.connect(_libpq(pg_server), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        upgrade(_libpq(pg_server.set(database=name)))
        yield name
    finally:
        with psycopg.connect(_libpq(pg_server), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _clone_migrated(request: pytest.FixtureRequest, db_url: str) -> None:
    """Make the test's empty database a copy of the migrated template."""
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":
        target = Path(str(url.database))
        if target.exists():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        template: Path = request.getfixturevalue("_sqlite_template")
        with sqlite3.connect(template) as source, sqlite3.connect(target) as copy:
            source.backup(copy)
        return
    # PostgreSQL: _pg_database made it from the template already.


@pytest.fixture
async def sessions(request: pytest.FixtureRequest,
                   db_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on a migrated database."""
    _clone_migrated(request, db_url)
    upgrade(db_url)  # a no-op on the copy; it still proves the copy is at head
    engine = make_engine(db_url)
    try:
        yield make_sessionmaker(engine)
    finally:
        await engine.dispose()


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    """Settings() defaults, with the data folder and the database of this test."""
    return dataclasses.replace(Settings(), paths=PathsSettings(data_dir=tmp_path),
                               database=DatabaseSettings(url=db_url))


@pytest.fixture
def services(settings: Settings, sessions: async_sessionmaker[AsyncSession],
             tmp_path: Path) -> Services:
    return Services(settings, sessions, PbxInstance(chroot=None, pbx_root=tmp_path / "pbx"))


WavWriter = Callable[[Path, float], Path]


def write_wav(path: Path, seconds: float, rate: int = 8000) -> Path:
    """A real 8 kHz mono 16-bit WAV of quiet noise, like MixMonitor's files."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = int(seconds * rate)
    with wave.open(str(path), "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(rate)
        audio.writeframes(bytes((i * 7) % 32 for i in range(frames * 2)))
    return path


@pytest.fixture
def make_wav() -> WavWriter:
    """write_wav(path, seconds): for tests that need a recording on disk."""
    return write_wav
