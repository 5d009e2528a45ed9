"""The court's telephone directory (内外一号, issue 15): departments and named staff, the
number that rings each, and when they answer.

One rule set for every way an entry arrives (the console's form, its CSV import): the
checks here. The voice menu reads the directory from memory (:class:`DirectoryBook`,
refreshed by the bridge when a cheap stamp says it changed), never from the database
while a caller waits.

A CSV file has a header line naming its columns (Chinese or English), then one entry a
line::

    类型,名称,所属部门,职务,号码,按键,办公时间
    部门,立案庭,立案庭,,8201,1,08:30-12:00;14:30-17:30
    人员,张法官,民一庭,法官,13900000000,,

类型 is 部门 (department) or 人员 (staff); 号码 is an extension (3 to 6 digits) or an
outside number (7 to 20 digits, dialled through the carrier); 按键 puts a department in
the voice menu's list ("1".."8"); 办公时间 is empty (the hotline's own office hours) or
time ranges on working days. A file with any wrong line imports nothing: every error
names its line.
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ScalarSelect, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.db.departments import department_named
from hotline.db.models import DirectoryEntry, Ticket
from hotline.settings import Settings
from hotline.tickets import TicketRefused, forward

DEPARTMENT, STAFF = "department", "staff"
KINDS = {DEPARTMENT: "部门", STAFF: "人员"}
# The voice menu's department list: 0 is the seats, 9 dialling an extension, * and # the
# menu's own keys.
MENU_KEYS = tuple("12345678")
EXTENSION = re.compile(r"[0-9]{3,6}")
OUTSIDE = re.compile(r"[0-9]{7,20}")
_RANGE = re.compile(r"([0-2][0-9]):([0-5][0-9])-([0-2][0-9]):([0-5][0-9])")
# The CSV's columns: the header may name them in Chinese or English, in any order.
COLUMNS = {"kind": "类型", "name": "名称", "department": "所属部门", "title": "职务",
           "number": "号码", "menu_key": "按键", "hours": "办公时间"}
_MAX_LENGTHS = {"name": 60, "department": 60, "title": 20, "hours": 60}
MAX_LINES = 2000


class DirectoryError(ValueError):
    """The entry (or file) is refused; ``errors`` maps each field (or "第N行") to why."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__("；".join(f"{k}：{v}" for k, v in errors.items()))
        self.errors = dict(errors)


@dataclass(frozen=True)
class DirectoryItem:
    kind: str
    name: str
    number: str
    department: str = ""
    title: str = ""
    menu_key: str = ""
    hours: str = ""
    active: bool = True
    id: int = 0

    @property
    def outside(self) -> bool:
        """Dialled through the carrier rather than rung as a PBX extension."""
        return bool(OUTSIDE.fullmatch(self.number))

    @property
    def label(self) -> str:
        """How staff see it in a list: 民一庭 张法官（法官）, or the department's name."""
        if self.kind == DEPARTMENT:
            return self.name
        role = f"（{self.title}）" if self.title else ""
        return f"{self.department} {self.name}{role}".strip()


def check_item(item: DirectoryItem) -> DirectoryItem:
    """The item, tidied (a department is its own department), or DirectoryError naming
    each wrong field."""
    errors: dict[str, str] = {}
    if item.kind not in KINDS:
        errors["kind"] = "类型须为部门或人员。"
    if not item.name:
        errors["name"] = "名称不能为空。"
    if not (EXTENSION.fullmatch(item.number) or OUTSIDE.fullmatch(item.number)):
        errors["number"] = f"“{item.number}”不是分机号（3至6位数字）或外线号码（7至20位数字）。"
    if item.menu_key and (item.menu_key not in MENU_KEYS or item.kind != DEPARTMENT):
        errors["menu_key"] = "按键只能给部门，须为1至8中的一个数字，或留空。"
    if item.kind == STAFF and not item.department:
        errors["department"] = "人员须写明所属部门。"
    if parse_hours(item.hours) is None:
        errors["hours"] = (f"“{item.hours}”不是办公时间，例：08:30-12:00;14:30-17:30，"
                           "留空为热线办公时间。")
    for name, most in _MAX_LENGTHS.items():
        if len(getattr(item, name)) > most:
            errors[name] = f"最多{most}个字。"
    if errors:
        raise DirectoryError(errors)
    if item.kind == DEPARTMENT and not item.department:
        return DirectoryItem(**{**item.__dict__, "department": item.name})
    return item


def parse_hours(text: str) -> list[tuple[time, time]] | None:
    """'08:30-12:00;14:30-17:30' (also , or 、 between ranges) → ranges; [] for empty;
    None when it is not that."""
    ranges = []
    for part in re.split(r"[;,，；、\s]+", text.strip()):
        if not part:
            continue
        match = _RANGE.fullmatch(part)
        if not match:
            return None
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h1 > 23 or h2 > 24 or (h2 == 24 and m2) or (h1, m1) >= (h2, m2):
            return None
        ranges.append((time(h1, m1), time(23, 59, 59) if h2 == 24 else time(h2, m2)))
    return ranges


def in_hours(hours: str, now: datetime, timezone: str) -> bool:
    """Whether `now` falls in an entry's own office hours ("" : always, the hotline's
    office hours decide alone)."""
    ranges = parse_hours(hours) or []
    if not ranges:
        return True
    local = now.astimezone(ZoneInfo(timezone)).time()
    return any(start <= local < end for start, end in ranges)


# --- the CSV import -------------------------------------------------------------------

_KIND_WORDS = {"部门": DEPARTMENT, "department": DEPARTMENT, "人员": STAFF, "staff": STAFF}


def read_csv(text: str) -> list[DirectoryItem]:
    """The entries of a directory CSV, every line checked; DirectoryError's errors are
    keyed "第N行" (the header is line 1) and say every problem of that line."""
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    if not rows:
        raise DirectoryError({"文件": "文件是空的。"})
    columns = _header(rows[0])
    if len(rows) > MAX_LINES + 1:
        raise DirectoryError({"文件": f"一次最多导入{MAX_LINES}行。"})
    errors: dict[str, str] = {}
    items: list[tuple[int, DirectoryItem]] = []
    for line, row in enumerate(rows[1:], 2):
        if not any(cell.strip() for cell in row):
            continue
        try:
            items.append((line, _row_item(row, columns)))
        except DirectoryError as exc:
            errors[f"第{line}行"] = "；".join(
                f"{COLUMNS.get(field, field)}{message}" for field, message in exc.errors.items())
    errors.update(_clashes(items))
    if errors:
        raise DirectoryError(errors)
    return [item for _, item in items]


def _header(row: list[str]) -> dict[str, int]:
    names = {**{zh: en for en, zh in COLUMNS.items()}, **{en: en for en in COLUMNS}}
    columns = {names[cell.strip()]: i for i, cell in enumerate(row) if cell.strip() in names}
    missing = [COLUMNS[c] for c in ("kind", "name", "number") if c not in columns]
    if missing:
        raise DirectoryError({"第1行": "表头缺少列：" + "、".join(missing)
                              + "（表头须为：" + ",".join(COLUMNS.values()) + "）"})
    return columns


def _row_item(row: list[str], columns: Mapping[str, int]) -> DirectoryItem:
    def cell(name: str) -> str:
        at = columns.get(name)
        return row[at].strip() if at is not None and at < len(row) else ""
    kind = _KIND_WORDS.get(cell("kind").lower(), cell("kind") or "?")
    return check_item(DirectoryItem(kind=kind, name=cell("name"), number=cell("number"),
                                    department=cell("department"), title=cell("title"),
                                    menu_key=cell("menu_key"), hours=cell("hours")))


def _clashes(items: Iterable[tuple[int, DirectoryItem]]) -> dict[str, str]:
    """Two lines for one entry, or two departments on one key."""
    errors: dict[str, str] = {}
    seen: dict[tuple[str, str], int] = {}
    keys: dict[str, int] = {}
    for line, item in items:
        first = seen.setdefault((item.department, item.name), line)
        if first != line:
            errors[f"第{line}行"] = f"与第{first}行重复（同一部门的同一名称）。"
        if item.menu_key:
            taken = keys.setdefault(item.menu_key, line)
            if taken != line:
                errors[f"第{line}行"] = f"按键{item.menu_key}已给第{taken}行。"
    return errors


# --- in memory, for the voice menu -----------------------------------------------------

# What tells the directory changed: its entries' count, newest id and last edit, as
# scalar subqueries.
STAMP: tuple[ScalarSelect[Any], ...] = (
    select(func.count()).select_from(DirectoryEntry).scalar_subquery(),
    select(func.max(DirectoryEntry.id)).scalar_subquery(),
    select(func.max(DirectoryEntry.updated_at)).scalar_subquery())


class DirectoryBook:
    """The active directory in memory: departments by menu key, everyone by extension.
    The bridge calls refresh() on a timer; it reloads only when the stamp (how many
    entries, the newest id and edit) changed, so an edit in the console is heard from
    the next refresh on."""

    def __init__(self) -> None:
        self.by_key: dict[str, DirectoryItem] = {}
        self.by_extension: dict[str, DirectoryItem] = {}
        self.by_id: dict[int, DirectoryItem] = {}
        self.loaded = False
        self._stamp: tuple[object, ...] | None = None

    async def refresh(self, session: AsyncSession, found: Sequence[object] | None = None
                      ) -> bool:
        """Reload if the directory changed; whether it did. found: STAMP's values, when the
        caller read them with others' (the bridge)."""
        stamp = tuple((await session.execute(select(*STAMP))).one()) if found is None \
            else tuple(found)
        if self.loaded and stamp == self._stamp:
            return False
        rows = (await session.execute(select(DirectoryEntry).where(DirectoryEntry.active)
                                      .order_by(DirectoryEntry.id))).scalars()
        self.load([item_of(row) for row in rows])
        self._stamp = stamp
        return True

    def load(self, items: Iterable[DirectoryItem]) -> None:
        items = list(items)
        by_key: dict[str, DirectoryItem] = {}
        by_extension: dict[str, DirectoryItem] = {}
        for item in items:
            if item.menu_key and item.kind == DEPARTMENT:
                by_key[item.menu_key] = item
            if EXTENSION.fullmatch(item.number):
                by_extension.setdefault(item.number, item)
        self.by_key, self.by_extension = dict(sorted(by_key.items())), by_extension
        self.by_id, self.loaded = {item.id: item for item in items}, True


def item_of(row: DirectoryEntry) -> DirectoryItem:
    return DirectoryItem(kind=row.kind, name=row.name, number=row.number,
                         department=row.department, title=row.title, menu_key=row.menu_key,
                         hours=row.hours, active=row.active, id=row.id)


async def route_message(session: AsyncSession, settings: Settings, ticket: Ticket,
                        department: str) -> None:
    """A caller's message for a directory entry goes to that entry's department: forwarded
    to its named handler with the usual 2-working-day deadline (Art. 5(6)) when the
    department exists with a handler; otherwise it waits for an agent, the department
    named in the matter."""
    ticket.detail = {**ticket.detail, "department": department}
    # the matter's court's department of that name, else the centre's (names are per court)
    found = await department_named(session, department, ticket.court_id, active_only=True)
    if found is None:
        return
    # No handler named: TicketRefused, and an agent forwards it by hand.
    with contextlib.suppress(TicketRefused):
        await forward(session, settings, ticket, found, by_user_id=None,
                      note="来电人在电话目录中选择了该部门并留言")
