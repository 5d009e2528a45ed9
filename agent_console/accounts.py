"""Console users and their credentials: argon2 password hashes, browser sessions and API
tokens. Secrets (session cookies, bearer tokens) are random and stored only as SHA-256."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import CursorResult, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from agent_console.forms import field_error
from agent_console.texts import ROLE_LABELS, ROLES
from hotline.db import presence as presence_db
from hotline.db.base import utcnow
from hotline.db.models import ApiToken, User, WebSession

_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 8


class AccountError(ValueError):
    """A user command cannot be done; the message says why (in English, for the CLI)."""


class ExtensionRefused(AccountError):
    """The extension cannot be the user's (another user has it, or it is not a number); the
    message, Chinese for the console, its API and the CLI alike, names the field and who
    has it."""


@dataclass(frozen=True)
class Account:
    """A logged-in user, as the pages and the API see them (no password hash)."""

    id: int
    username: str
    display_name: str
    role: str
    extension: str

    @classmethod
    def of(cls, user: User) -> Account:
        return cls(user.id, user.username, user.display_name, user.role, user.extension)

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)

    @property
    def name(self) -> str:
        return self.display_name or self.username


@dataclass(frozen=True)
class FoundSession:
    row: WebSession
    user: User


@dataclass(frozen=True)
class Lifetime:
    """How long a session or token lives: idle, counted again at each use, and never past
    absolute from its creation (a stolen cookie kept busy still dies)."""

    idle: timedelta
    absolute: timedelta

    def end(self, created: datetime, now: datetime) -> datetime:
        return min(now + self.idle, created + self.absolute)


def check_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")


def hash_password(password: str) -> str:
    check_new_password(password)
    return _hasher.hash(password)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@functools.cache
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


# --- users ------------------------------------------------------------------------------

async def add_user(session: AsyncSession, username: str, password: str, role: str,
                   display_name: str = "", extension: str = "", *,
                   move_extension: bool = False) -> User:
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r} (one of {', '.join(ROLES)})")
    if await get_user(session, username) is not None:
        raise AccountError(f"user {username!r} already exists")
    user = User(username=username, password_hash=await asyncio.to_thread(hash_password, password),
                role=role, display_name=display_name, extension="", active=True)
    session.add(user)
    await session.flush()
    await assign_extension(session, user, extension, move=move_extension)
    return user


async def assign_extension(session: AsyncSession, user: User, extension: str, *,
                           move: bool = False) -> list[str]:
    """Give the user this seat ("" for none). An extension is one user's at a time: one
    held by someone else is refused (ExtensionRefused), unless move, which takes it from
    them and signs them out of it. Returns the seats whose sign-ins this ended, for the
    caller to take out of the PBX's queue if it can (the next sign-in on a seat replaces
    its queue member anyway)."""
    extension = extension.strip()
    if problem := await extension_problem(session, extension, user.id, move=move):
        raise ExtensionRefused(problem)
    holder = await _holder(session, extension, user.id)
    if holder is not None:
        holder.extension = ""
        await session.flush()
    # Nobody stays signed in on a seat that is no longer theirs.
    vacated = [seat for seat, gone in ((user.extension, user.extension != extension),
                                       (extension, holder is not None)) if seat and gone]
    for seat in vacated:
        await presence_db.vacate(session, seat, utcnow())
    user.extension = extension
    await session.flush()
    return vacated


async def extension_problem(session: AsyncSession, extension: str, user_id: int | None, *,
                            move: bool = False) -> str:
    """Why this user (None: one not yet added) cannot have the extension, in Chinese naming
    the field and who holds it; "" when they can."""
    if extension and not extension.isdigit():
        return field_error("extension", "extension_digits")
    holder = await _holder(session, extension, user_id or 0)
    if holder is not None and not move:
        return field_error("extension", "extension_taken", extension=extension,
                           holder=_who(holder))
    return ""


async def set_active(session: AsyncSession, user: User, active: bool, now: datetime) -> str:
    """Enable or disable a user. A disabled user cannot log in, every session and token of
    theirs ends, and their seat is signed out; returns that seat ("" for none) for the
    caller to take out of the PBX's queue."""
    user.active = active
    if active:
        await session.flush()
        return ""
    await end_sessions(session, user.id)
    await presence_db.vacate(session, user.extension, now)
    await session.flush()
    return user.extension


# Letters and digits that cannot be misread when a password is read out or copied by hand.
_PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
GENERATED_PASSWORD_LENGTH = 12


def generate_password() -> str:
    """A new random password for an administrator to hand over once (never stored in
    clear: hash_password it)."""
    while True:
        password = "".join(secrets.choice(_PASSWORD_ALPHABET)
                           for _ in range(GENERATED_PASSWORD_LENGTH))
        if any(c.isdigit() for c in password) and any(c.isalpha() for c in password):
            return password


async def set_extension(session: AsyncSession, username: str, extension: str, *,
                        move: bool = False) -> User:
    """assign_extension for the user of this name (the CLI and the API name users so)."""
    user = await get_user(session, username)
    if user is None:
        raise AccountError(f"no user {username!r}")
    await assign_extension(session, user, extension, move=move)
    return user


async def _holder(session: AsyncSession, extension: str, user_id: int) -> User | None:
    if not extension:
        return None
    found: User | None = await session.scalar(
        select(User).where(User.extension == extension, User.id != user_id))
    return found


def _who(user: User) -> str:
    return f"{user.username}（{user.display_name}）" if user.display_name else user.username


async def get_user(session: AsyncSession, username: str) -> User | None:
    user: User | None = await session.scalar(select(User).where(User.username == username))
    return user


async def set_password(session: AsyncSession, username: str, password: str) -> None:
    """The new password, and every session and token of the user ended: whoever knew the
    old one is out."""
    user = await get_user(session, username)
    if user is None:
        raise AccountError(f"no user {username!r}")
    user.password_hash = await asyncio.to_thread(hash_password, password)
    await end_sessions(session, user.id)


async def end_sessions(session: AsyncSession, user_id: int) -> int:
    """Log the user out everywhere: every browser session and API token; how many ended."""
    ended = 0
    for table in (WebSession, ApiToken):
        result = await session.execute(delete(table).where(table.user_id == user_id))
        ended += cast(CursorResult[Any], result).rowcount or 0
    return ended


async def list_users(session: AsyncSession) -> Sequence[User]:
    return (await session.scalars(select(User).order_by(User.username))).all()


async def authenticate(session: AsyncSession, username: str, password: str) -> User | None:
    """The active user with this name and password, or None. An unknown name costs the same
    hashing work as a wrong password, so the answer's timing does not tell them apart."""
    user = await get_user(session, username)
    if user is None or not user.active:
        await asyncio.to_thread(_verify, _dummy_hash(), password)
        return None
    if not await asyncio.to_thread(_verify, user.password_hash, password):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = await asyncio.to_thread(_hasher.hash, password)
    return user


# --- browser sessions -------------------------------------------------------------------

async def open_session(session: AsyncSession, user_id: int, now: datetime,
                       lifetime: Lifetime) -> tuple[str, WebSession]:
    """A new session: the secret for the cookie, and its row (with the CSRF token)."""
    secret = secrets.token_urlsafe(32)
    row = WebSession(id_hash=_digest(secret), user_id=user_id,
                     csrf_token=secrets.token_urlsafe(32), created_at=now, last_seen_at=now,
                     expires_at=lifetime.end(now, now))
    session.add(row)
    await session.flush()
    return secret, row


async def find_session(session: AsyncSession, secret: str, now: datetime,
                       lifetime: Lifetime) -> FoundSession | None:
    """The live session with this cookie secret, its idle time started again; None when
    unknown, expired, or its user was deactivated."""
    row = await session.get(WebSession, _digest(secret))
    if row is None or row.expires_at <= now:
        return None
    user = await session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    row.last_seen_at, row.expires_at = now, lifetime.end(row.created_at, now)
    return FoundSession(row, user)


async def close_session(session: AsyncSession, secret: str) -> None:
    await session.execute(delete(WebSession).where(WebSession.id_hash == _digest(secret)))


async def purge_expired(session: AsyncSession, now: datetime) -> None:
    await session.execute(delete(WebSession).where(WebSession.expires_at <= now))
    await session.execute(delete(ApiToken).where(ApiToken.expires_at <= now))


# --- API tokens -------------------------------------------------------------------------

async def issue_token(session: AsyncSession, user_id: int, now: datetime,
                      lifetime: Lifetime) -> tuple[str, ApiToken]:
    secret = secrets.token_urlsafe(32)
    row = ApiToken(token_hash=_digest(secret), user_id=user_id, created_at=now,
                   last_used_at=now, expires_at=lifetime.end(now, now))
    session.add(row)
    await session.flush()
    return secret, row


async def find_token_user(session: AsyncSession, secret: str, now: datetime,
                          lifetime: Lifetime) -> User | None:
    row = await session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(secret)))
    if row is None or row.expires_at <= now:
        return None
    user = await session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    row.last_used_at, row.expires_at = now, lifetime.end(row.created_at, now)
    return user


async def revoke_token(session: AsyncSession, secret: str) -> None:
    await session.execute(delete(ApiToken).where(ApiToken.token_hash == _digest(secret)))
