"""Schemathesis against the console's own /api/openapi.json, as every role: no answer is a
500, and every answer (status, content type, body) is one the schema documents.

The real app on a migrated SQLite database with one user of each role; the examples are
few per operation and derandomized, so the run is repeatable and stays well under a minute
or two on a small machine. Operations that end the caller's own login are left out (they
would turn the rest of the run into 401s).
"""

from __future__ import annotations

import dataclasses
import sqlite3
from datetime import timedelta
from pathlib import Path

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy.ext.asyncio import AsyncSession

from agent_console import accounts
from agent_console.app import create_app
from agent_console.texts import ROLES
from hotline.db.base import make_engine, make_sessionmaker, run_once, utcnow
from hotline.settings import DatabaseSettings, PathsSettings, Settings

EXAMPLES = 8
HUGE = 99999999999999999999999


def no_500(_ctx: schemathesis.CheckContext, response: schemathesis.Response,
           case: schemathesis.Case) -> bool | None:
    """A crash, unlike a documented 502/503 from a PBX that is not there (none in this test)."""
    if response.status_code == 500:
        raise AssertionError(f"500 from {case.method} {case.formatted_path}: {response.text}")
    return None


CHECKS = [no_500, status_code_conformance, content_type_conformance,
          response_schema_conformance]
LEFT_OUT = {("POST", "/api/logout"), ("DELETE", "/api/users/{user_id}/sessions")}


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory, _sqlite_template: Path
           ) -> tuple[schemathesis.BaseSchema, dict[str, str]]:
    """The schema of the real app, and a bearer token per role."""
    path = tmp_path_factory.mktemp("fuzz") / "hotline.db"
    with sqlite3.connect(_sqlite_template) as source, sqlite3.connect(path) as copy:
        source.backup(copy)
    url = f"sqlite:///{path}"
    settings = dataclasses.replace(Settings(), paths=PathsSettings(data_dir=path.parent),
                                   database=DatabaseSettings(url=url))
    lifetime = accounts.Lifetime(timedelta(hours=8), timedelta(hours=12))

    async def users_and_tokens(db: AsyncSession) -> dict[str, str]:
        tokens = {}
        for role in ROLES:
            user = await accounts.add_user(db, f"fuzz-{role}", "fuzz-12368", role, role)
            tokens[role], _ = await accounts.issue_token(db, user.id, utcnow(), lifetime)
        return tokens

    tokens = run_once(url, users_and_tokens)
    app = create_app(settings, make_sessionmaker(make_engine(url)))
    return schemathesis.openapi.from_asgi("/api/openapi.json", app), tokens


@pytest.mark.parametrize("role", ROLES)
def test_every_api_answer_matches_the_schema(
        fuzzed: tuple[schemathesis.BaseSchema, dict[str, str]], role: str) -> None:
    schema, tokens = fuzzed
    headers = {"Authorization": f"Bearer {tokens[role]}"}
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in LEFT_OUT:
            continue
        try:
            _fuzz(operation, headers)
        except Exception as exc:  # every operation's failures, reported together
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    assert not failures, "\n\n".join(failures)


def _fuzz(operation: schemathesis.APIOperation, headers: dict[str, str]) -> None:
    huge = {p.name: HUGE for p in operation.path_parameters
            if p.definition["schema"].get("type") == "integer"}

    @hypothesis.given(case=operation.as_strategy())
    @hypothesis.settings(max_examples=EXAMPLES, derandomize=True, deadline=None,
                         database=None, phases=[hypothesis.Phase.generate],
                         suppress_health_check=list(HealthCheck))
    def check(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)
        if huge:  # ids no column can hold, beside what the generator picks
            case.path_parameters = {**(case.path_parameters or {}), **huge}
            case.call_and_validate(headers=headers, checks=CHECKS)

    check()
