"""hotline.db.phones on each backend: validation naming the field, add, disable, re-key,
and seeding from hotline.toml with an older site's passwords."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.db import phones
from hotline.db.base import session_scope
from hotline.db.phones import PhoneError
from hotline.settings import PbxSettings

PBX = PbxSettings(seats=("8001", "8002"), judges=("8101",))


@pytest.mark.parametrize(("extension", "kind", "label", "field"), [
    ("80", "seat", "", "extension"),
    ("8001234", "seat", "", "extension"),
    ("80a1", "seat", "", "extension"),
    ("12368", "seat", "", "extension"),
    ("", "seat", "", "extension"),
    ("8009", "boss", "", "kind"),
    ("8009", "seat", "长" * 61, "label"),
])
async def test_bad_input_names_the_field(sessions: async_sessionmaker[AsyncSession],
                                         extension: str, kind: str, label: str,
                                         field: str) -> None:
    async with session_scope(sessions) as db:
        with pytest.raises(PhoneError) as caught:
            await phones.add_phone(db, extension, kind, label)
        assert caught.value.field == field
        assert caught.value.message  # a sentence for the admin, in Chinese
        assert await phones.list_phones(db) == []


async def test_add_gives_a_fresh_password_and_refuses_a_duplicate(
        sessions: async_sessionmaker[AsyncSession]) -> None:
    async with session_scope(sessions) as db:
        one = await phones.add_phone(db, " 8005 ", "seat", " 三号窗口 ")
        two = await phones.add_phone(db, "8102", "judge")
    assert (one.extension, one.kind, one.label, one.enabled) == ("8005", "seat", "三号窗口", True)
    assert len(one.password) >= 16 and one.password != two.password

    async with session_scope(sessions) as db:
        with pytest.raises(PhoneError) as caught:
            await phones.add_phone(db, "8005", "judge")
        assert caught.value.field == "extension" and "已存在" in caught.value.message
        # the failed add left the session usable and the first phone as it was
        listed = await phones.list_phones(db)
    assert [(p.extension, p.kind) for p in listed] == [("8005", "seat"), ("8102", "judge")]


async def test_disable_enable_and_reset_password(
        sessions: async_sessionmaker[AsyncSession]) -> None:
    async with session_scope(sessions) as db:
        old = (await phones.add_phone(db, "8005", "seat")).password
    async with session_scope(sessions) as db:
        await phones.set_enabled(db, "8005", False)
    async with session_scope(sessions) as db:
        assert (await phones.get_phone(db, "8005")).enabled is False
        await phones.set_enabled(db, "8005", True)
        new = (await phones.reset_password(db, "8005")).password
    async with session_scope(sessions) as db:
        phone = await phones.get_phone(db, "8005")
    assert phone.enabled is True
    assert phone.password == new != old

    async with session_scope(sessions) as db:
        for change in (phones.reset_password(db, "8999"), phones.set_enabled(db, "8999", False)):
            with pytest.raises(PhoneError) as caught:
                await change
            assert caught.value.field == "extension"


async def test_seed_inserts_missing_phones_once_with_the_old_passwords(
        sessions: async_sessionmaker[AsyncSession]) -> None:
    async with session_scope(sessions) as db:
        added = await phones.seed(db, PBX, {"8001": "old-8001"})
    assert added == ["8001", "8002", "8101"]
    async with session_scope(sessions) as db:
        rows = {p.extension: p for p in await phones.list_phones(db)}
        assert rows["8001"].password == "old-8001"  # the desk phone keeps working
        assert len(rows["8002"].password) >= 16
        assert (rows["8101"].kind, rows["8002"].kind) == ("judge", "seat")
        # After seeding the table is the truth: a disabled, re-keyed phone stays so.
        await phones.set_enabled(db, "8002", False)
        await phones.reset_password(db, "8001")
    async with session_scope(sessions) as db:
        again = await phones.seed(db, PbxSettings(seats=("8001", "8002", "8003"), judges=()),
                                  {"8001": "old-8001"})
        rows = {p.extension: p for p in await phones.list_phones(db)}
    assert again == ["8003"]
    assert rows["8002"].enabled is False
    assert rows["8001"].password != "old-8001"


def test_seed_rows_refuse_a_bad_extension_in_hotline_toml() -> None:
    with pytest.raises(PhoneError) as caught:
        phones.seed_rows(PbxSettings(seats=("8001", "80x"), judges=()), {})
    assert caught.value.field == "[pbx] seats" and "80x" in caught.value.message
