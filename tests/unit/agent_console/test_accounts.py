"""agent_console.accounts: argon2 passwords, hashed session secrets, role checks."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agent_console import accounts
from agent_console.accounts import AccountError
from agent_console.auth import require_role
from agent_console.texts import ADMIN, AGENT, ROLE_LABELS, ROLES
from hotline.db.base import session_scope
from hotline.db.models import User, WebSession

NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
IDLE = timedelta(hours=8)
LIFETIME = accounts.Lifetime(idle=IDLE, absolute=timedelta(hours=12))


async def a_user(db: AsyncSession) -> int:
    return (await accounts.add_user(db, "zhang", "secret-12368", AGENT)).id


async def test_passwords_are_stored_as_argon2_hashes(
        sessions: async_sessionmaker[AsyncSession]) -> None:
    async with session_scope(sessions) as db:
        await accounts.add_user(db, "zhang", "secret-12368", AGENT)

    async with session_scope(sessions) as db:
        stored = (await db.scalars(select(User.password_hash))).one()
        assert stored.startswith("$argon2id$") and "secret-12368" not in stored
        assert PasswordHasher().verify(stored, "secret-12368")
        assert await accounts.authenticate(db, "zhang", "secret-12368") is not None
        assert await accounts.authenticate(db, "zhang", "secret-12369") is None


async def test_a_new_password_replaces_the_old_one(
        sessions: async_sessionmaker[AsyncSession]) -> None:
    async with session_scope(sessions) as db:
        await accounts.add_user(db, "zhang", "secret-12368", AGENT)
        await accounts.set_password(db, "zhang", "another-12368")

        assert await accounts.authenticate(db, "zhang", "secret-12368") is None
        assert await accounts.authenticate(db, "zhang", "another-12368") is not None
        with pytest.raises(AccountError, match="no user 'li'"):
            await accounts.set_password(db, "li", "another-12368")


async def test_bad_users_are_refused(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with session_scope(sessions) as db:
        await accounts.add_user(db, "zhang", "secret-12368", AGENT)
        with pytest.raises(AccountError, match="already exists"):
            await accounts.add_user(db, "zhang", "secret-12368", ADMIN)
        with pytest.raises(AccountError, match="unknown role 'judge'"):
            await accounts.add_user(db, "li", "secret-12368", "judge")
        with pytest.raises(AccountError, match="at least 8 characters"):
            await accounts.add_user(db, "li", "short", AGENT)


async def test_only_the_sha256_of_a_session_secret_is_stored(
        sessions: async_sessionmaker[AsyncSession]) -> None:
    async with session_scope(sessions) as db:
        secret, row = await accounts.open_session(db, await a_user(db), NOW, LIFETIME)

    assert row.id_hash == hashlib.sha256(secret.encode()).hexdigest() != secret
    async with session_scope(sessions) as db:
        assert await accounts.find_session(db, secret, NOW + IDLE / 2, LIFETIME) is not None
        assert await accounts.find_session(db, secret + "x", NOW, LIFETIME) is None


async def test_expired_sessions_are_purged(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with session_scope(sessions) as db:
        user_id = await a_user(db)
        await accounts.open_session(db, user_id, NOW, LIFETIME)
        await accounts.open_session(db, user_id, NOW + IDLE, LIFETIME)
        await accounts.purge_expired(db, NOW + IDLE)

    async with session_scope(sessions) as db:
        left = (await db.scalars(select(WebSession.created_at))).all()
    assert left == [NOW + IDLE]


def test_every_role_has_a_chinese_label() -> None:
    assert ROLES == ("agent", "duty_judge", "dept_handler", "dept_head", "leader", "admin")
    assert list(ROLE_LABELS.values()) == ["座席员", "值班法官", "部门专人", "部门负责人",
                                          "院领导", "管理员"]


def test_require_role_refuses_unknown_or_missing_roles() -> None:
    with pytest.raises(ValueError, match="known roles"):
        require_role()
    with pytest.raises(ValueError, match="known roles"):
        require_role(ADMIN, "root")
    assert callable(require_role(ADMIN))
