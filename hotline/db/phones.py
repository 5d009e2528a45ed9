"""Data access for the SIP desk phones (seats and duty judges): the phones table is what
site/pjsip.conf is rendered from.

hotline.toml's [pbx] seats and judges only seed the table: a phone named there and not yet
in the table is inserted at start-up, with the password secrets.toml already held for it
(so a site set up before the table existed keeps its phones' passwords). After that the
administrators' changes in the console or `hotline phones` are the truth.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.db.models import Phone
from hotline.settings import PbxSettings

SEAT, JUDGE = "seat", "judge"
KINDS = {SEAT: "座席", JUDGE: "值班法官"}
# The hotline's own number: a phone with it would shadow the service in the dialplan.
SERVICE_NUMBER = "12368"
MAX_LABEL = 60
_EXTENSION_RE = re.compile(r"\d{3,6}")


class PhoneError(ValueError):
    """A phone change cannot be made; field names the input at fault, message says why
    (in Chinese: administrators read it in the console)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class PhoneNotFound(PhoneError):
    """No phone has that extension."""


def new_password() -> str:
    """A fresh SIP password: 16 URL-safe characters, typed into a desk phone once."""
    return secrets.token_urlsafe(12)


def check_extension(extension: str) -> str:
    extension = extension.strip()
    if not _EXTENSION_RE.fullmatch(extension):
        raise PhoneError("extension", "分机号须为 3 至 6 位数字。")
    if extension == SERVICE_NUMBER:
        raise PhoneError("extension", f"分机号不能是热线号码 {SERVICE_NUMBER}。")
    return extension


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise PhoneError("kind", "类型须为座席（seat）或值班法官（judge）。")
    return kind


def check_label(label: str) -> str:
    label = label.strip()
    if len(label) > MAX_LABEL:
        raise PhoneError("label", f"备注最多 {MAX_LABEL} 个字。")
    return label


async def list_phones(session: AsyncSession) -> list[Phone]:
    return list((await session.scalars(select(Phone).order_by(Phone.extension))).all())


async def get_phone(session: AsyncSession, extension: str) -> Phone:
    phone = await session.get(Phone, extension)
    if phone is None:
        raise PhoneNotFound("extension", f"分机 {extension} 不存在。")
    return phone


async def add_phone(session: AsyncSession, extension: str, kind: str, label: str = "") -> Phone:
    """A new, enabled phone with a fresh password (the caller shows it to the admin once)."""
    phone = Phone(extension=check_extension(extension), kind=check_kind(kind),
                  label=check_label(label), enabled=True, password=new_password())
    if await session.get(Phone, phone.extension) is not None:
        raise PhoneError("extension", f"分机 {phone.extension} 已存在。")
    try:
        # Two admins adding the same extension at once: the second meets the primary key.
        async with session.begin_nested():
            session.add(phone)
    except IntegrityError:
        raise PhoneError("extension", f"分机 {phone.extension} 已存在。") from None
    return phone


async def set_enabled(session: AsyncSession, extension: str, enabled: bool) -> Phone:
    phone = await get_phone(session, extension)
    phone.enabled = enabled
    await session.flush()
    return phone


async def reset_password(session: AsyncSession, extension: str) -> Phone:
    """A new password; the old one stops working at the next reload."""
    phone = await get_phone(session, extension)
    phone.password = new_password()
    await session.flush()
    return phone


def seed_rows(pbx: PbxSettings, passwords: Mapping[str, str],
              existing: Sequence[str] = ()) -> list[Phone]:
    """The phones hotline.toml names that are not in `existing`, with the password
    `passwords` holds for them or a new one. Raises PhoneError for a bad extension."""
    rows: list[Phone] = []
    taken = set(existing)
    for kind, extensions in ((SEAT, pbx.seats), (JUDGE, pbx.judges)):
        for extension in extensions:
            try:
                ext = check_extension(extension)
            except PhoneError as exc:
                raise PhoneError(f"[pbx] {kind}s", f"{extension!r}: {exc.message}") from None
            if ext in taken:
                continue
            taken.add(ext)
            rows.append(Phone(extension=ext, kind=kind, label="", enabled=True,
                              password=passwords.get(ext) or new_password()))
    return rows


async def seed(session: AsyncSession, pbx: PbxSettings,
               passwords: Mapping[str, str]) -> list[str]:
    """Insert the phones of hotline.toml the table does not have yet; their extensions."""
    existing = [p.extension for p in await list_phones(session)]
    rows = seed_rows(pbx, passwords, existing)
    session.add_all(rows)
    await session.flush()
    return [row.extension for row in rows]
