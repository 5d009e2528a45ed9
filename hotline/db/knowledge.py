"""Data access for the knowledge base: the procedural answers the voice menu plays under
its keys and agents search in the console (Art. 5(2)).

Every change is written down (KnowledgeChange: who, when, the entry as it stood after), by
the console and by the CLI's import alike. A deleted entry leaves the table, so the voice
menu and the searches no longer see it, and its last state stays in the history, from
which restore_entry brings it back (inactive, without a menu key: an administrator puts it
back into the voice menu on purpose)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.db.base import utcnow
from hotline.db.models import KnowledgeChange, KnowledgeEntry

# What a change records of the entry, in the order the history names them.
SNAPSHOT = ("title", "answer", "category", "menu_key", "active")


@dataclass(frozen=True)
class Editor:
    """Who makes a change: a console user, or the command line (user_id None); and when
    (None: now)."""

    user_id: int | None = None
    username: str = ""
    at: datetime | None = None


CLI = Editor()


class KnowledgeRefused(ValueError):
    """reason: "taken" (another entry has this title), "missing" (no such entry, or no
    deleted one to restore)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


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
                       category: str = "", active: bool = True, *,
                       by: Editor = CLI) -> bool:
    """Create or overwrite the entry with this title; True when it is new.

    A menu key plays one answer only, so giving this entry a key takes the key away from
    any other entry that had it (that entry stays searchable in the console).
    """
    query = select(KnowledgeEntry).where(KnowledgeEntry.title == title).order_by(KnowledgeEntry.id)
    entry = (await session.execute(query)).scalars().first()
    created = entry is None
    if entry is None:
        entry = KnowledgeEntry(title=title)
        session.add(entry)
    await _apply(session, entry, by, created, title=title, answer=answer, menu_key=menu_key,
                 category=category, active=active)
    return created


async def get_entry(session: AsyncSession, entry_id: int) -> KnowledgeEntry | None:
    return await session.get(KnowledgeEntry, entry_id)


async def save_entry(session: AsyncSession, entry_id: int | None, *, title: str, answer: str,
                     menu_key: str = "", category: str = "", active: bool = True,
                     by: Editor = CLI) -> KnowledgeEntry:
    """Add an entry (entry_id None) or change the one with entry_id, its title too;
    KnowledgeRefused("taken") when another entry has the title, ("missing") when entry_id
    names none."""
    taken = select(KnowledgeEntry.id).where(KnowledgeEntry.title == title)
    if entry_id is not None:
        taken = taken.where(KnowledgeEntry.id != entry_id)
    if (await session.execute(taken.limit(1))).first() is not None:
        raise KnowledgeRefused("taken")
    entry = KnowledgeEntry(title=title) if entry_id is None else await get_entry(session,
                                                                                 entry_id)
    if entry is None:
        raise KnowledgeRefused("missing")
    if entry_id is None:
        session.add(entry)
    await _apply(session, entry, by, entry_id is None, title=title, answer=answer,
                 menu_key=menu_key, category=category, active=active)
    return entry


async def _apply(session: AsyncSession, entry: KnowledgeEntry, by: Editor, created: bool,
                 **values: str | bool) -> None:
    before = _snapshot(entry) if not created else None
    for name, value in values.items():
        setattr(entry, name, value)
    await session.flush()
    if values.get("menu_key"):
        await _take_key(session, str(values["menu_key"]), entry.id, by)
    if before != _snapshot(entry):
        action = ("imported" if by.user_id is None else "created") if created else "changed"
        await _record(session, entry, action, by)


async def _take_key(session: AsyncSession, menu_key: str, keeper_id: int, by: Editor) -> None:
    others = (await session.execute(select(KnowledgeEntry).where(
        KnowledgeEntry.menu_key == menu_key, KnowledgeEntry.id != keeper_id))).scalars()
    for other in list(others):
        other.menu_key = ""
        await _record(session, other, "changed", by)


def _snapshot(entry: KnowledgeEntry) -> tuple[object, ...]:
    return tuple(getattr(entry, name) for name in SNAPSHOT)


async def _record(session: AsyncSession, entry: KnowledgeEntry, action: str,
                  by: Editor) -> None:
    session.add(KnowledgeChange(entry_id=entry.id, action=action, user_id=by.user_id,
                                username=by.username, at=by.at or utcnow(),
                                **{name: getattr(entry, name) for name in SNAPSHOT}))
    await session.flush()


async def delete_entry(session: AsyncSession, entry_id: int, by: Editor) -> KnowledgeEntry:
    """Take the entry out of the voice menu and the searches; its last state stays in the
    history. Returns it as it was (detached)."""
    entry = await get_entry(session, entry_id)
    if entry is None:
        raise KnowledgeRefused("missing")
    await _record(session, entry, "deleted", by)
    await session.delete(entry)
    await session.flush()
    return entry


async def deleted_entries(session: AsyncSession) -> list[KnowledgeChange]:
    """The last deletion of each entry that is still deleted, newest first."""
    latest = (select(func.max(KnowledgeChange.id))
              .group_by(KnowledgeChange.entry_id).scalar_subquery())
    query = (select(KnowledgeChange)
             .where(KnowledgeChange.id.in_(latest), KnowledgeChange.action == "deleted",
                    KnowledgeChange.entry_id.not_in(select(KnowledgeEntry.id)))
             .order_by(KnowledgeChange.id.desc()))
    return list((await session.execute(query)).scalars())


async def restore_entry(session: AsyncSession, entry_id: int, by: Editor) -> KnowledgeEntry:
    """Bring a deleted entry back under its id as it was deleted, but inactive and without
    a menu key; KnowledgeRefused("missing") when it is not deleted, ("taken") when another
    entry has its title now."""
    gone = next((c for c in await deleted_entries(session) if c.entry_id == entry_id), None)
    if gone is None:
        raise KnowledgeRefused("missing")
    if (await session.execute(select(KnowledgeEntry.id)
                              .where(KnowledgeEntry.title == gone.title))).first():
        raise KnowledgeRefused("taken")
    entry = KnowledgeEntry(id=entry_id, title=gone.title, answer=gone.answer,
                           category=gone.category, menu_key="", active=False)
    session.add(entry)
    await session.flush()
    await _record(session, entry, "restored", by)
    return entry


async def history(session: AsyncSession, entry_id: int) -> list[KnowledgeChange]:
    """Every change of the entry, oldest first."""
    query = (select(KnowledgeChange).where(KnowledgeChange.entry_id == entry_id)
             .order_by(KnowledgeChange.id))
    return list((await session.execute(query)).scalars())


def changed_fields(before: KnowledgeChange | None, after: KnowledgeChange) -> list[str]:
    """The fields (SNAPSHOT names) a change altered; every one for the first."""
    if before is None:
        return list(SNAPSHOT)
    return [name for name in SNAPSHOT if getattr(before, name) != getattr(after, name)]


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
