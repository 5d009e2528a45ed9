"""The knowledge base's content: procedural answers in a TOML file, imported by title.

One ``[[entry]]`` table per answer::

    [[entry]]
    title = "上诉期限"          # unique; re-importing a title overwrites that entry
    answer = "……"              # spoken on the phone: two to four short sentences
    menu_key = "3"             # "1".."9": played in the consultation menu; "": console only
    category = "上诉"           # optional
    active = true              # optional

A file with any wrong entry imports nothing: the errors name the entry and the field.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import ScalarSelect, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.db import knowledge as knowledge_db
from hotline.db.models import KnowledgeChange, KnowledgeEntry

DEFAULT_FILE = Path(__file__).parent / "resources" / "knowledge_zh.toml"
MENU_KEYS = tuple("123456789")
_FIELDS = {"title", "answer", "menu_key", "category", "active"}
# The column sizes in hotline.db.models: PostgreSQL refuses longer values.
_MAX_LENGTHS = {"title": 80, "category": 40}


class KnowledgeImportError(ValueError):
    """Nothing was imported; ``errors`` says why, one line per problem."""

    def __init__(self, path: Path, errors: list[str]) -> None:
        super().__init__(f"{path}: " + f"\n{path}: ".join(errors))
        self.path = path
        self.errors = errors


@dataclass(frozen=True)
class KnowledgeItem:
    title: str
    answer: str
    menu_key: str = ""
    category: str = ""
    active: bool = True


class KnowledgeMenu:
    """The consultation menu's entries by menu key, in memory: the voice menu reads them
    without asking the database while a caller waits. The bridge calls refresh() on a timer;
    it reloads the entries only when a cheap stamp (how many there are, the latest edit and
    the latest recorded change) says they changed."""

    def __init__(self) -> None:
        self.entries: dict[str, KnowledgeItem] = {}
        self.loaded = False
        self._stamp: tuple[object, ...] | None = None

    async def refresh(self, session: AsyncSession, found: Sequence[object] | None = None
                      ) -> bool:
        """Reload if the knowledge base changed; whether it did. found: STAMP's values,
        when the caller read them with others' (the bridge)."""
        stamp = tuple((await session.execute(select(*STAMP))).one()) if found is None \
            else tuple(found)
        if self.loaded and stamp == self._stamp:
            return False
        self.entries = {e.menu_key: KnowledgeItem(e.title, e.answer, e.menu_key, e.category,
                                                  e.active)
                        for e in await knowledge_db.active_entries(session) if e.menu_key}
        self._stamp, self.loaded = stamp, True
        return True


# What tells the knowledge base changed: its entries' count, newest id and last edit, and
# the newest line of its change log, as scalar subqueries.
STAMP: tuple[ScalarSelect[Any], ...] = (
    select(func.count()).select_from(KnowledgeEntry).scalar_subquery(),
    select(func.max(KnowledgeEntry.id)).scalar_subquery(),
    select(func.max(KnowledgeEntry.updated_at)).scalar_subquery(),
    select(func.max(KnowledgeChange.id)).scalar_subquery())


@dataclass(frozen=True)
class KnowledgeReport:
    imported: int
    updated: int


async def import_knowledge(session: AsyncSession, path: Path) -> KnowledgeReport:
    """Upsert every entry of the file by title, or raise KnowledgeImportError."""
    items = read_knowledge(path)
    created = [await knowledge_db.upsert_entry(session, item.title, item.answer, item.menu_key,
                                               item.category, item.active) for item in items]
    return KnowledgeReport(imported=sum(created), updated=len(created) - sum(created))


async def ensure_default_knowledge(session: AsyncSession, path: Path = DEFAULT_FILE) -> bool:
    """Load the shipped answers into an empty knowledge base; True when it did.

    Once there is any entry the administrators own the content: their edits and
    deletions are never undone by a restart.
    """
    if await knowledge_db.count_entries(session):
        return False
    await import_knowledge(session, path)
    return True


def read_knowledge(path: Path) -> list[KnowledgeItem]:
    """The entries of a knowledge file, checked; KnowledgeImportError lists every problem."""
    entries = _load_entries(path)
    errors: list[str] = []
    items = [_item(n, raw, errors) for n, raw in enumerate(entries, 1)]
    errors += _duplicates(items)
    if errors:
        raise KnowledgeImportError(path, errors)
    return items


def _load_entries(path: Path) -> list[Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise KnowledgeImportError(path, [f"cannot read: {exc.strerror or exc}"]) from exc
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise KnowledgeImportError(path, [str(exc)]) from exc
    entries = data.get("entry")
    if not isinstance(entries, list) or not entries:
        raise KnowledgeImportError(path, ["no [[entry]] tables"])
    return entries


def _item(number: int, raw: Any, errors: list[str]) -> KnowledgeItem:
    if not isinstance(raw, dict):
        errors.append(f"entry {number}: must be a table")
        return KnowledgeItem("", "")
    problems = [f"{key}: unknown field" for key in sorted(set(raw) - _FIELDS)]
    title = _text(raw, "title", problems, required=True)
    answer = _text(raw, "answer", problems, required=True)
    category = _text(raw, "category", problems)
    menu_key = _menu_key(raw, problems)
    active = raw.get("active", True)
    if not isinstance(active, bool):
        problems.append("active: must be true or false")
    errors += [f"entry {number} ({title or 'no title'}): {problem}" for problem in problems]
    return KnowledgeItem(title, answer, menu_key, category, active is True)


def _text(raw: dict[str, Any], key: str, problems: list[str], required: bool = False) -> str:
    raw_value = raw.get(key, "")
    if not isinstance(raw_value, str):
        problems.append(f"{key}: must be a string")
        return ""
    value = raw_value.strip()
    if required and not value:
        problems.append(f"{key}: missing")
    if len(value) > _MAX_LENGTHS.get(key, len(value)):
        problems.append(f"{key}: longer than {_MAX_LENGTHS[key]} characters")
    return value


def _menu_key(raw: dict[str, Any], problems: list[str]) -> str:
    value = raw.get("menu_key", "")
    # `menu_key = 3` is an easy slip in TOML; it means the same as "3".
    key = str(value) if isinstance(value, str | int) and not isinstance(value, bool) else None
    if key is None or key.strip() not in ("", *MENU_KEYS):
        problems.append(f"menu_key: {value!r} is not one key from 1 to 9 (or empty)")
        return ""
    return key.strip()


def _duplicates(items: list[KnowledgeItem]) -> list[str]:
    errors: list[str] = []
    titles: dict[str, int] = {}
    keys: dict[str, int] = {}
    for number, item in enumerate(items, 1):
        if item.title and item.title in titles:
            errors.append(f"entry {number}: title: same as entry {titles[item.title]}")
        if item.menu_key and item.menu_key in keys:
            errors.append(f"entry {number}: menu_key: {item.menu_key} is also entry "
                          f"{keys[item.menu_key]}'s")
        titles.setdefault(item.title, number)
        keys.setdefault(item.menu_key, number)
    return errors
