"""hotline.blocklist on each database: the list the bridge keeps in memory (a number in
any form, until its last moment; reloaded only when a change was made), the entry's
checks, the change record, and the repeat-caller count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline import blocklist
from hotline.db import calls
from hotline.db.base import session_scope
from hotline.db.models import BlockChange, User

Sessions = async_sessionmaker[AsyncSession]
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def test_each_wrong_field_is_named() -> None:
    with pytest.raises(blocklist.BlockInvalid) as wrong:
        blocklist.check_entry("abc", " ", NOW - timedelta(days=1), NOW)
    assert wrong.value.errors == {"number": "number", "reason": "required", "expires": "past"}
    with pytest.raises(blocklist.BlockInvalid) as wrong:
        blocklist.check_entry("", "x" * 201, NOW + timedelta(days=400), NOW)
    assert wrong.value.errors == {"number": "required", "reason": "too_long",
                                  "expires": "too_far"}
    entry = blocklist.check_entry("+86 137-0015-0001", " 辱骂 ", NOW + timedelta(days=1), NOW)
    assert (entry.number, entry.reason) == ("13700150001", "辱骂")


async def test_the_bridge_list_follows_every_change(sessions: Sessions) -> None:
    memory = blocklist.BlockList()
    async with session_scope(sessions) as db:
        admin = User(username="bl-admin", role="admin", password_hash="x")
        db.add(admin)
        await db.flush()
        assert await memory.refresh(db) and not memory.blocks("13700150001", NOW)
        entry = blocklist.check_entry("13700150001", "辱骂", NOW + timedelta(hours=1), NOW)
        await blocklist.save_block(db, entry, admin, NOW)
    async with session_scope(sessions) as db:
        assert await memory.refresh(db)
        assert not await memory.refresh(db)  # nothing changed: nothing reloaded
    # however the carrier writes the number; until the entry's moment, not after it
    for number in ("13700150001", "+8613700150001", "8613700150001"):
        assert memory.blocks(number, NOW + timedelta(minutes=59)), number
    assert not memory.blocks("13700150001", NOW + timedelta(hours=1))
    assert not memory.blocks("13700150002", NOW)
    assert not memory.blocks("anonymous", NOW)
    async with session_scope(sessions) as db:
        changed = blocklist.check_entry("13700150001", "骚扰", NOW + timedelta(days=2), NOW)
        await blocklist.save_block(db, changed, admin, NOW)
        assert await blocklist.remove_block(db, "13700150001", None, NOW)
        assert not await blocklist.remove_block(db, "13700150001", None, NOW)
    async with session_scope(sessions) as db:
        assert await memory.refresh(db) and memory.expiries == {}
        rows = (await db.execute(select(BlockChange).order_by(BlockChange.id))).scalars()
        record = [(c.action, c.number, c.reason, c.username) for c in rows]
    assert record == [("added", "13700150001", "辱骂", "bl-admin"),
                      ("changed", "13700150001", "骚扰", "bl-admin"),
                      ("removed", "13700150001", "骚扰", "")]


async def test_repeat_callers_are_counted_over_seven_days(sessions: Sessions) -> None:
    async with session_scope(sessions) as db:
        for n, days in enumerate((0, 1, 6.9, 8)):
            await calls.ensure_call(db, f"1764000000.{n}", caller_number="13700150003",
                                    started_at=NOW - timedelta(days=days))
    async with session_scope(sessions) as db:
        assert await blocklist.recent_calls(db, "13700150003", NOW) == 3
        assert await blocklist.recent_calls(db, "13700150003",
                                            NOW + timedelta(days=1)) == 2
        assert await blocklist.recent_calls(db, "anonymous", NOW) == 0
