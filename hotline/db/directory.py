"""Data access for the court's telephone directory (hotline/directory.py has the rules):
the administrators' list and form, the CSV import, the agents' transfer targets, and the
department a caller's message for an entry goes to."""

from __future__ import annotations

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.db.models import DirectoryEntry
from hotline.directory import DirectoryError, DirectoryItem, check_item, item_of


def search(text: str = "") -> Select[DirectoryEntry]:
    """Every entry, departments first, by department and name; `text` matches a name,
    department, title or number."""
    query = select(DirectoryEntry).order_by(DirectoryEntry.department, DirectoryEntry.kind,
                                            DirectoryEntry.name)
    if text:
        like = f"%{text}%"
        query = query.where(or_(DirectoryEntry.name.like(like),
                                DirectoryEntry.department.like(like),
                                DirectoryEntry.title.like(like),
                                DirectoryEntry.number.like(like)))
    return query


async def get_entry(session: AsyncSession, entry_id: int) -> DirectoryEntry | None:
    return await session.get(DirectoryEntry, entry_id)


async def save_entry(session: AsyncSession, item: DirectoryItem,
                     entry_id: int | None = None) -> DirectoryEntry:
    """Add (entry_id None) or change an entry; DirectoryError names a wrong field, a name
    the department already has, or a menu key another department holds."""
    item = check_item(item)
    entry = await session.get(DirectoryEntry, entry_id) if entry_id else DirectoryEntry()
    if entry is None:
        raise DirectoryError({"id": "没有这个条目。"})
    await _check_free(session, item, entry_id)
    for name in ("kind", "name", "department", "title", "number", "menu_key", "hours",
                 "active"):
        setattr(entry, name, getattr(item, name))
    session.add(entry)
    await session.flush()
    return entry


async def _check_free(session: AsyncSession, item: DirectoryItem, entry_id: int | None) -> None:
    others = select(DirectoryEntry.id).where(DirectoryEntry.id != (entry_id or 0))
    errors = {}
    if await session.scalar(others.where(DirectoryEntry.department == item.department,
                                         DirectoryEntry.name == item.name).limit(1)):
        errors["name"] = f"{item.department}已有“{item.name}”。"
    if item.menu_key and item.active and await session.scalar(others.where(
            DirectoryEntry.menu_key == item.menu_key, DirectoryEntry.active).limit(1)):
        errors["menu_key"] = f"按键{item.menu_key}已给了另一个部门。"
    if errors:
        raise DirectoryError(errors)


async def delete_entry(session: AsyncSession, entry_id: int) -> bool:
    entry = await session.get(DirectoryEntry, entry_id)
    if entry is None:
        return False
    await session.delete(entry)
    await session.flush()
    return True


async def import_items(session: AsyncSession, items: list[DirectoryItem]) -> tuple[int, int]:
    """Upsert by (department, name): (added, changed). A menu key the file gives a
    department is taken from whichever entry held it before."""
    rows = {(e.department, e.name): e
            for e in (await session.execute(select(DirectoryEntry))).scalars()}
    keys = {item.menu_key for item in items if item.menu_key}
    for row in rows.values():
        if row.menu_key in keys:
            row.menu_key = ""
    added = 0
    for item in items:
        found = rows.get((item.department, item.name))
        row = found if found is not None else DirectoryEntry()
        if found is None:
            added += 1
            session.add(row)
        for name in ("kind", "name", "department", "title", "number", "menu_key", "hours"):
            setattr(row, name, getattr(item, name))
        row.active = True
    await session.flush()
    return added, len(items) - added


async def transfer_targets(session: AsyncSession) -> list[DirectoryItem]:
    """What an agent may put a caller through to: every active entry, departments first."""
    rows = (await session.execute(search().where(DirectoryEntry.active))).scalars()
    return [item_of(row) for row in rows]

