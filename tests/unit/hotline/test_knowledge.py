"""hotline.knowledge: the TOML import, its errors, and the shipped default answers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline import knowledge
from hotline.db import knowledge as knowledge_db
from hotline.db.base import session_scope
from hotline.knowledge import KnowledgeImportError, KnowledgeReport

Sessions = async_sessionmaker[AsyncSession]


def _toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "kb.toml"
    path.write_text(text, encoding="utf-8")
    return path


async def _import(sessions: Sessions, path: Path) -> KnowledgeReport:
    async with session_scope(sessions) as session:
        return await knowledge.import_knowledge(session, path)


async def _titles(sessions: Sessions) -> list[tuple[str, str]]:
    async with session_scope(sessions) as session:
        return [(e.menu_key, e.title) for e in await knowledge_db.active_entries(session)]


# --- the shipped answers ------------------------------------------------------------------

def test_default_file_has_the_five_topics_on_keys_1_to_5() -> None:
    items = knowledge.read_knowledge(knowledge.DEFAULT_FILE)

    assert [(i.menu_key, i.title) for i in items] == [
        ("1", "立案需要的材料"), ("2", "诉讼费用"), ("3", "上诉期限"), ("4", "申请执行"),
        ("5", "诉讼服务中心的办公时间与地址")]
    assert all(i.category and i.active for i in items)


@pytest.mark.parametrize("item", knowledge.read_knowledge(knowledge.DEFAULT_FILE),
                         ids=lambda item: item.menu_key)
def test_default_answers_are_short_and_speakable(item: knowledge.KnowledgeItem) -> None:
    sentences = [s for s in re.split("[。！？]", item.answer) if s]
    assert 2 <= len(sentences) <= 4
    assert not re.search(r"[0-9A-Za-z]", item.answer), "numbers are written as they are said"


def test_default_answers_say_the_procedural_facts() -> None:
    answers = {i.title: i.answer for i in knowledge.read_knowledge(knowledge.DEFAULT_FILE)}

    assert all(word in answers["立案需要的材料"] for word in ("起诉状", "身份证明", "证据"))
    assert "《诉讼费用交纳办法》" in answers["诉讼费用"]
    assert all(word in answers["诉讼费用"] for word in ("缓交", "减交", "免交"))
    assert "判决书送达之日起十五日内" in answers["上诉期限"]
    assert "裁定书送达之日起十日内" in answers["上诉期限"]
    assert "二年" in answers["申请执行"] and "生效法律文书" in answers["申请执行"]
    assert "公告" in answers["诉讼服务中心的办公时间与地址"]


async def test_ensure_default_loads_an_empty_base_once(sessions: Sessions) -> None:
    async with session_scope(sessions) as session:
        assert await knowledge.ensure_default_knowledge(session) is True
    async with session_scope(sessions) as session:
        entry = await knowledge_db.entry_for_key(session, "3")
        assert entry is not None
        entry.answer = "管理员改过的答案。"
    async with session_scope(sessions) as session:
        assert await knowledge.ensure_default_knowledge(session) is False
        entry = await knowledge_db.entry_for_key(session, "3")

    assert entry is not None and entry.answer == "管理员改过的答案。"
    assert len(await _titles(sessions)) == 5


async def test_ensure_default_leaves_a_deactivated_base_alone(sessions: Sessions) -> None:
    async with session_scope(sessions) as session:
        await knowledge_db.upsert_entry(session, "旧的", "不再使用。", active=False)
        assert await knowledge.ensure_default_knowledge(session) is False
    assert await _titles(sessions) == []


# --- importing a file ---------------------------------------------------------------------

GOOD = """
[[entry]]
title = "上诉期限"
answer = "十五日。"
menu_key = "3"
category = "上诉"

[[entry]]
title = "只在座席台"
answer = "座席查阅。"
"""


async def test_import_creates_then_updates_by_title(sessions: Sessions, tmp_path: Path) -> None:
    assert await _import(sessions, _toml(tmp_path, GOOD)) == KnowledgeReport(2, 0)
    changed = GOOD.replace("十五日。", "判决十五日，裁定十日。") + (
        '\n[[entry]]\ntitle = "新的"\nanswer = "新答案。"\nmenu_key = 4\nactive = false\n')

    assert await _import(sessions, _toml(tmp_path, changed)) == KnowledgeReport(1, 2)
    async with session_scope(sessions) as session:
        entry = await knowledge_db.entry_for_key(session, "3")
        hidden = await knowledge_db.search_entries(session, "新答案", include_inactive=True)
    assert entry is not None and entry.answer == "判决十五日，裁定十日。"
    assert [(e.menu_key, e.active) for e in hidden] == [("4", False)]
    assert await _titles(sessions) == [("", "只在座席台"), ("3", "上诉期限")]


BAD = """
[[entry]]
answer = "没有标题。"

[[entry]]
title = "上诉期限"
answer = 15
menu_key = "10"

[[entry]]
title = "上诉期限"
answer = "重复的标题。"
menu_key = "2"
remark = "unknown"

[[entry]]
title = "键重复"
answer = "答案。"
menu_key = "2"
active = "yes"
category = "%s"
""" % ("类" * 41)


async def test_bad_entries_are_named_and_nothing_is_imported(sessions: Sessions,
                                                             tmp_path: Path) -> None:
    path = _toml(tmp_path, BAD)
    with pytest.raises(KnowledgeImportError) as caught:
        await _import(sessions, path)

    assert caught.value.errors == [
        "entry 1 (no title): title: missing",
        "entry 2 (上诉期限): answer: must be a string",
        "entry 2 (上诉期限): menu_key: '10' is not one key from 1 to 9 (or empty)",
        "entry 3 (上诉期限): remark: unknown field",
        "entry 4 (键重复): category: longer than 40 characters",
        "entry 4 (键重复): active: must be true or false",
        "entry 3: title: same as entry 2",
        "entry 4: menu_key: 2 is also entry 3's",
    ]
    assert str(caught.value).startswith(f"{path}: entry 1 (no title): title: missing\n{path}: ")
    assert await _titles(sessions) == []


@pytest.mark.parametrize(("text", "message"), [
    ("title = ", "Invalid value"),
    ("[other]\nx = 1\n", "no \\[\\[entry\\]\\] tables"),
    ("entry = 3\n", "no \\[\\[entry\\]\\] tables"),
    ("entry = [1]\n", "entry 1: must be a table"),
])
async def test_unusable_files_raise(sessions: Sessions, tmp_path: Path, text: str,
                                    message: str) -> None:
    with pytest.raises(KnowledgeImportError, match=message):
        await _import(sessions, _toml(tmp_path, text))


async def test_missing_file_raises(sessions: Sessions, tmp_path: Path) -> None:
    with pytest.raises(KnowledgeImportError, match="cannot read"):
        await _import(sessions, tmp_path / "nope.toml")
