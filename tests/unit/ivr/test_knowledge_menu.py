"""hotline.knowledge.KnowledgeMenu as the bridge uses it: the consultation menu's entries in
memory, reloaded only when the knowledge base changed (an edit, a deletion, a new entry)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.db import knowledge
from hotline.db.base import session_scope
from hotline.knowledge import KnowledgeMenu

Sessions = async_sessionmaker[AsyncSession]


async def refreshed(menu: KnowledgeMenu, sessions: Sessions) -> bool:
    async with session_scope(sessions) as session:
        return await menu.refresh(session)


async def upsert(sessions: Sessions, title: str, answer: str, menu_key: str) -> None:
    async with session_scope(sessions) as session:
        await knowledge.upsert_entry(session, title, answer, menu_key)


async def test_entries_by_key_reloaded_only_after_a_change(sessions: Sessions) -> None:
    await upsert(sessions, "上诉期限", "十五日。", "3")
    await upsert(sessions, "只在坐席", "不在菜单。", "")
    menu = KnowledgeMenu()
    assert not menu.loaded

    assert await refreshed(menu, sessions) is True
    assert {k: (e.title, e.answer) for k, e in menu.entries.items()} == {
        "3": ("上诉期限", "十五日。")}
    assert await refreshed(menu, sessions) is False, "nothing changed: nothing read again"

    await upsert(sessions, "上诉期限", "判决十五日，裁定十日。", "3")
    assert await refreshed(menu, sessions) is True
    assert menu.entries["3"].answer == "判决十五日，裁定十日。"

    async with session_scope(sessions) as session:
        [entry] = [e for e in await knowledge.active_entries(session) if e.menu_key == "3"]
        await knowledge.delete_entry(session, entry.id, knowledge.CLI)
    assert await refreshed(menu, sessions) is True
    assert menu.entries == {}
