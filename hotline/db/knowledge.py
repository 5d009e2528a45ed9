"""Data access for the knowledge base: the procedural answers the voice menu plays under
its keys and agents search in the console (Art. 5(2))."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.db.models import KnowledgeEntry


async def active_entries(session: AsyncSession) -> list[KnowledgeEntry]:
    query = (select(KnowledgeEntry).where(KnowledgeEntry.active)
             .order_by(KnowledgeEntry.menu_key, KnowledgeEntry.title))
    return list((await session.execute(query)).scalars())


async def entry_for_key(session: AsyncSession, menu_key: str) -> KnowledgeEntry | None:
    """The active entry the consultation menu plays for this key, if any."""
    if not menu_key:
        return None
    query = (select(KnowledgeEntry)
             .where(KnowledgeEntry.menu_key == menu_key, KnowledgeEntry.active)
             .order_by(KnowledgeEntry.id.desc()).limit(1))
    return (await session.execute(query)).scalar_one_or_none()


async def count_entries(session: AsyncSession) -> int:
    """Every entry, active or not: an administrator's deactivations count as content."""
    query = select(func.count()).select_from(KnowledgeEntry)
    return int((await session.execute(query)).scalar_one())


async def upsert_entry(session: AsyncSession, title: str, answer: str, menu_key: str = "",
                       category: str = "", active: bool = True) -> bool:
    """Create or overwrite the entry with this title; True when it is new.

    A menu key plays one answer only, so giving this entry a key takes the key away from
    any other entry that had it (that entry stays searchable in the console).
    """
    if menu_key:
        await session.execute(
            update(KnowledgeEntry)
            .where(KnowledgeEntry.menu_key == menu_key, KnowledgeEntry.title != title)
            .values(menu_key=""))
    query = select(KnowledgeEntry).where(KnowledgeEntry.title == title).order_by(KnowledgeEntry.id)
    entry = (await session.execute(query)).scalars().first()
    created = entry is None
    if entry is None:
        entry = KnowledgeEntry(title=title)
        session.add(entry)
    entry.answer, entry.menu_key, entry.category, entry.active = answer, menu_key, category, active
    await session.flush()
    return created


async def search_entries(session: AsyncSession, words: str, limit: int = 20,
                         include_inactive: bool = False) -> list[KnowledgeEntry]:
    """Entries whose title, answer or category contains every word (case-insensitive).

    Chinese has no spaces between words: "上诉 期限" finds more than "上诉期限".
    """
    conditions = [_mentions(word) for word in words.split()]
    if not conditions:
        return []
    query = select(KnowledgeEntry).where(and_(*conditions))
    if not include_inactive:
        query = query.where(KnowledgeEntry.active)
    query = query.order_by(KnowledgeEntry.menu_key, KnowledgeEntry.title).limit(limit)
    return list((await session.execute(query)).scalars())


def _mentions(word: str) -> ColumnElement[bool]:
    # An agent typing "100%" means the characters, not a wildcard.
    pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return or_(KnowledgeEntry.title.ilike(pattern, escape="\\"),
               KnowledgeEntry.answer.ilike(pattern, escape="\\"),
               KnowledgeEntry.category.ilike(pattern, escape="\\"))
