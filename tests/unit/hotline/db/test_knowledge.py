"""hotline.db.knowledge on SQLite and PostgreSQL: the menu's answers and the agents' search."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.db import knowledge
from hotline.db.base import session_scope

Sessions = async_sessionmaker[AsyncSession]


async def _add(sessions: Sessions, title: str, answer: str = "答案。", menu_key: str = "",
               category: str = "", active: bool = True) -> bool:
    async with session_scope(sessions) as session:
        return await knowledge.upsert_entry(session, title, answer, menu_key, category, active)


async def test_upsert_by_title_creates_then_updates(sessions: Sessions) -> None:
    assert await _add(sessions, "上诉期限", "十五日。", "3", "上诉") is True
    assert await _add(sessions, "上诉期限", "判决十五日，裁定十日。", "3", "上诉") is False

    async with session_scope(sessions) as session:
        entries = await knowledge.active_entries(session)
        assert await knowledge.count_entries(session) == 1
    assert [(e.title, e.answer, e.menu_key, e.category) for e in entries] == [
        ("上诉期限", "判决十五日，裁定十日。", "3", "上诉")]


async def test_active_entries_by_key_then_title_without_inactive(sessions: Sessions) -> None:
    await _add(sessions, "b", menu_key="2")
    await _add(sessions, "a", menu_key="2")  # takes key 2 from "b"
    await _add(sessions, "c", menu_key="1")
    await _add(sessions, "z")
    await _add(sessions, "hidden", menu_key="3", active=False)

    async with session_scope(sessions) as session:
        entries = await knowledge.active_entries(session)
        total = await knowledge.count_entries(session)
    assert [(e.menu_key, e.title) for e in entries] == [("", "b"), ("", "z"), ("1", "c"),
                                                        ("2", "a")]
    assert total == 5


async def test_entry_for_key_plays_only_active_keyed_entries(sessions: Sessions) -> None:
    await _add(sessions, "立案需要的材料", menu_key="1")
    await _add(sessions, "停用的", menu_key="2", active=False)
    await _add(sessions, "无键的")

    async with session_scope(sessions) as session:
        found = await knowledge.entry_for_key(session, "1")
        assert found is not None and found.title == "立案需要的材料"
        assert await knowledge.entry_for_key(session, "2") is None
        assert await knowledge.entry_for_key(session, "") is None
        assert await knowledge.entry_for_key(session, "9") is None


async def test_giving_a_key_takes_it_from_the_other_entry(sessions: Sessions) -> None:
    await _add(sessions, "旧标题", menu_key="4")
    await _add(sessions, "新标题", menu_key="4")

    async with session_scope(sessions) as session:
        found = await knowledge.entry_for_key(session, "4")
        keys = {e.title: e.menu_key for e in await knowledge.active_entries(session)}
    assert found is not None and found.title == "新标题"
    assert keys == {"旧标题": "", "新标题": "4"}


async def test_search_needs_every_word_in_title_or_answer(sessions: Sessions) -> None:
    await _add(sessions, "上诉期限", "判决书送达之日起十五日内上诉。")
    await _add(sessions, "申请执行", "申请执行的期间为二年。")
    await _add(sessions, "Fees", "Court FEES are paid in advance.")

    async with session_scope(sessions) as session:
        assert [e.title for e in await knowledge.search_entries(session, "上诉")] == ["上诉期限"]
        assert [e.title for e in await knowledge.search_entries(session, "十五日 判决")] == [
            "上诉期限"]
        assert await knowledge.search_entries(session, "十五日 二年") == []
        assert [e.title for e in await knowledge.search_entries(session, "fees")] == ["Fees"]
        assert len(await knowledge.search_entries(session, "申请 ")) == 1
        assert await knowledge.search_entries(session, "   ") == []


async def test_search_takes_wildcards_literally(sessions: Sessions) -> None:
    await _add(sessions, "百分之百", "100% 退还。")
    await _add(sessions, "其他", "1000 元。")
    await _add(sessions, "下划线", "a_b")
    await _add(sessions, "无下划线", "axb")

    async with session_scope(sessions) as session:
        assert [e.title for e in await knowledge.search_entries(session, "100%")] == ["百分之百"]
        assert [e.title for e in await knowledge.search_entries(session, "a_b")] == ["下划线"]
        assert await knowledge.search_entries(session, "%") != []


async def test_search_skips_inactive_unless_asked_and_respects_limit(sessions: Sessions) -> None:
    await _add(sessions, "停用", "诉讼费用。", active=False)
    for n in range(3):
        await _add(sessions, f"费用{n}", "诉讼费用。")

    async with session_scope(sessions) as session:
        assert len(await knowledge.search_entries(session, "诉讼费用")) == 3
        assert len(await knowledge.search_entries(session, "诉讼费用",
                                                  include_inactive=True)) == 4
        assert len(await knowledge.search_entries(session, "诉讼费用", limit=2)) == 2
