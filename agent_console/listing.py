"""One way every list in the console is searched, filtered, sorted, counted and paged.

A list describes what it may be asked (a Spec: the columns its search box reads, the moment
its date range applies to, its filters with their allowed values, its sort columns); the
query string is checked against that (read_query), and the list's SELECT is narrowed,
counted and cut to one page in SQL (page_of). A wrong parameter is never a 422: it is left
out and named in Chinese on the page, and the rest of the list still shows.

    spec = Spec(search=(CallLog.question, CallLog.case_number), numbers=(CallLog.contact,),
                moment=CallLog.created_at,
                filters={"category": Filter("事项类别", SERVICES,
                                            lambda v: CallLog.category == v)},
                sorts={"time": Sort("时间", CallLog.created_at)}, default_sort="time")
    wanted = read_query(request.query_params, spec, timezone)
    page = await page_of(db, select(CallLog), wanted)        # page.rows, page.total, ...

templates/_list.html renders it: filters(page), count(page), sort_header(page, key),
pager(page).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Generic, TypeVar
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import Request, Response
from fastapi.responses import StreamingResponse
from sqlalchemy import ColumnElement, Select, Subquery, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agent_console.forms import Invalid
from agent_console.texts import LIST_ERRORS, LIST_LABELS
from hotline.db.base import session_scope
from hotline.db.models import User

PAGE_SIZE = 50
# Longest typed search honoured; a longer one is cut, not refused.
SEARCH_LIMIT = 100
# A number is searched by its digits once this many are typed (fewer match half the list).
NUMBER_DIGITS_MIN = 3
MAX_DAYS = 366 * 5
_NUMBER_LIKE = re.compile(r"^[\d\s\-+()（）]+$")

# any SELECT, of one entity or several
AnySelect = Select[*tuple[Any, ...]]
T = TypeVar("T")
U = TypeVar("U")


@dataclass(frozen=True)
class Filter:
    """A select box: its Chinese label, the allowed codes and their labels, and the
    condition a chosen code puts on the rows."""

    label: str
    choices: Mapping[str, str]
    where: Callable[[str], ColumnElement[bool]]


@dataclass(frozen=True)
class Sort:
    label: str
    column: Any
    # a second column that orders rows the first leaves equal (e.g. the id)
    then: Any = None


@dataclass(frozen=True)
class Spec:
    """What one list may be asked. search: text columns the search box matches (LIKE);
    numbers: phone-number columns it matches by digits; cases: case-number columns it
    matches in the case number's own form; moment: the column the date range applies to
    (None: no date range); filters and sorts by their query names."""

    search: Sequence[Any] = ()
    numbers: Sequence[Any] = ()
    # case-number columns (kept with full-width brackets): matched by the search as typed
    # with either kind of bracket and spaces anywhere, a part of the number too
    cases: Sequence[Any] = ()
    moment: Any = None
    filters: Mapping[str, Filter] = field(default_factory=dict)
    sorts: Mapping[str, Sort] = field(default_factory=dict)
    default_sort: str = ""
    default_desc: bool = True
    search_hint: str = ""
    page_size: int = PAGE_SIZE


@dataclass(frozen=True)
class Query:
    """The query string as checked: values kept for the form and the links (only the
    valid ones), errors by parameter, and what the SQL needs."""

    spec: Spec
    values: dict[str, str]
    errors: dict[str, str]
    search: str
    since: datetime | None
    until: datetime | None
    chosen: dict[str, str]
    sort: str
    desc: bool
    page: int
    base: str = ""
    # what was typed in the filter bar, wrong values too: the form shows it again
    typed: dict[str, str] = field(default_factory=dict)

    def href(self, **changes: object) -> str:
        """This list's address with some parameters changed (None or "" removes one);
        a change of filter or sort goes back to page 1 unless page is given."""
        values = dict(self.values)
        if "page" not in changes:
            values.pop("page", None)
        for name, value in changes.items():
            if value is None or value == "":
                values.pop(name, None)
            else:
                values[name] = str(value)
        if values.get("page") == "1":
            values.pop("page")
        query = urlencode(values)
        return f"{self.base}?{query}" if query else self.base or "?"

    def sort_href(self, key: str) -> str:
        desc = not self.desc if key == self.sort else self.spec.default_desc
        return self.href(sort=key, dir="desc" if desc else "asc")

    @property
    def filtered(self) -> bool:
        return bool(self.search or self.since or self.until or self.chosen)


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list: its rows, how many rows the whole (filtered) list has, and the
    query that made it (for the form, the links and the messages)."""

    rows: list[T]
    total: int
    number: int
    pages: int
    query: Query

    def map(self, convert: Callable[[T], U]) -> Page[U]:
        return Page([convert(row) for row in self.rows], self.total, self.number,
                    self.pages, self.query)

    @property
    def first(self) -> int:
        """The position of the page's first row in the whole list (1-based); 0 if none."""
        return (self.number - 1) * self.query.spec.page_size + 1 if self.rows else 0

    @property
    def last(self) -> int:
        return self.first + len(self.rows) - 1 if self.rows else 0

    def window(self, around: int = 2) -> list[int]:
        """The page numbers the pager links: the first, the last, and those near this one."""
        near = range(max(1, self.number - around), min(self.pages, self.number + around) + 1)
        return sorted({1, self.pages, *near}) if self.pages else []


# --- reading the query string -----------------------------------------------------------

def read_query(raw: Mapping[str, str], spec: Spec, timezone: str, base: str = "") -> Query:
    """The query string checked against spec. Each wrong parameter is dropped and named in
    errors; the others still apply."""
    errors: dict[str, str] = {}
    values: dict[str, str] = {}
    search = " ".join(raw.get("q", "").split())[:SEARCH_LIMIT]
    if search and not (spec.search or spec.cases) and not _NUMBER_LIKE.match(search):
        # a list searched by number only: letters can match nothing, so say so
        errors["q"] = _error("q", "number")
        search = ""
    if search and (spec.search or spec.numbers or spec.cases):
        values["q"] = search
    else:
        search = ""
    since, until = _range(raw, spec, timezone, values, errors)
    chosen = _chosen(raw, spec, values, errors)
    sort, desc = _sort(raw, spec, values, errors)
    page = _page(raw, values, errors)
    typed = {name: raw.get(name, "").strip()
             for name in ("q", "start", "end", *spec.filters) if raw.get(name, "").strip()}
    return Query(spec, values, errors, search, since, until, chosen, sort, desc, page, base,
                 typed)


def _error(name: str, kind: str, label: str = "", **more: object) -> str:
    return LIST_ERRORS[kind].format(label=label or LIST_LABELS.get(name, name), **more)


def _range(raw: Mapping[str, str], spec: Spec, timezone: str, values: dict[str, str],
           errors: dict[str, str]) -> tuple[datetime | None, datetime | None]:
    if spec.moment is None:
        return None, None
    days: dict[str, date | None] = {}
    for name in ("start", "end"):
        text = raw.get(name, "").strip()
        days[name] = None
        if not text:
            continue
        try:
            days[name] = date.fromisoformat(text)
            values[name] = text
        except ValueError:
            errors[name] = _error(name, "date")
    start, end = days["start"], days["end"]
    if start and end and (end < start or (end - start).days > MAX_DAYS):
        errors["end"] = _error("end", "range", years=MAX_DAYS // 366)
        values.pop("end")
        end = None
    zone = ZoneInfo(timezone)
    since = datetime.combine(start, time(), zone) if start else None
    until = datetime.combine(end + timedelta(days=1), time(), zone) if end else None
    return since, until


def _chosen(raw: Mapping[str, str], spec: Spec, values: dict[str, str],
            errors: dict[str, str]) -> dict[str, str]:
    chosen = {}
    for name, box in spec.filters.items():
        code = raw.get(name, "").strip()
        if not code:
            continue
        if code in box.choices:
            chosen[name] = values[name] = code
        else:
            errors[name] = _error(name, "choose", box.label)
    return chosen


def _sort(raw: Mapping[str, str], spec: Spec, values: dict[str, str],
          errors: dict[str, str]) -> tuple[str, bool]:
    sort, desc = spec.default_sort, spec.default_desc
    key = raw.get("sort", "").strip()
    if key and key in spec.sorts:
        sort = values["sort"] = key
    elif key:
        errors["sort"] = _error("sort", "sort")
    direction = raw.get("dir", "").strip()
    if direction in ("asc", "desc"):
        desc = direction == "desc"
        values["dir"] = direction
    elif direction:
        errors["dir"] = _error("dir", "sort")
    return sort, desc


def _page(raw: Mapping[str, str], values: dict[str, str], errors: dict[str, str]) -> int:
    text = raw.get("page", "").strip()
    if not text:
        return 1
    if not text.isdigit() or int(text) < 1 or len(text) > 6:
        errors["page"] = _error("page", "page")
        return 1
    values["page"] = text
    return int(text)


# --- the SQL ----------------------------------------------------------------------------

def digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


_CASE_BRACKETS = str.maketrans({"(": "（", ")": "）", "〔": "（", "〕": "）", "[": "（",
                                "]": "）", "【": "（", "】": "）"})


def case_text(text: str) -> str:
    """A typed case number (or a part of one) in the form case numbers are kept in: no
    spaces, full-width brackets (hotline.identity.normalize_case_number)."""
    return "".join(text.split()).translate(_CASE_BRACKETS)


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def narrowed(query: AnySelect, wanted: Query) -> AnySelect:
    """query with the search, the date range and the filters as WHERE conditions."""
    spec = wanted.spec
    if wanted.search:
        pattern = _like(wanted.search)
        matches = [column.ilike(pattern, escape="\\") for column in spec.search]
        matches += [column.like(_like(case_text(wanted.search)), escape="\\")
                    for column in spec.cases]
        number = digits(wanted.search)
        if (spec.numbers and len(number) >= NUMBER_DIGITS_MIN
                and _NUMBER_LIKE.match(wanted.search)):
            matches += [column.like(_like(number), escape="\\") for column in spec.numbers]
        # A search no column can match (letters in a list of numbers) finds nothing.
        query = query.where(or_(*matches) if matches else false())
    if wanted.since is not None:
        query = query.where(spec.moment >= wanted.since)
    if wanted.until is not None:
        query = query.where(spec.moment < wanted.until)
    for name, code in wanted.chosen.items():
        query = query.where(spec.filters[name].where(code))
    return query


def ordered(query: AnySelect, wanted: Query) -> AnySelect:
    sort = wanted.spec.sorts.get(wanted.sort)
    if sort is None:
        return query
    columns = [sort.column] + ([sort.then] if sort.then is not None else [])
    return query.order_by(None).order_by(
        *[(c.desc() if wanted.desc else c.asc()) for c in columns])


async def page_of(db: AsyncSession, query: AnySelect, wanted: Query,
                  scalars: bool = False) -> Page[Any]:
    """One page of query's rows as wanted asks: narrowed, counted (one COUNT query),
    sorted and cut (LIMIT/OFFSET) in the database. A page past the end shows the last.
    scalars: rows are the first entity of each result row (a one-entity SELECT)."""
    query = narrowed(query, wanted)
    counting = select(func.count()).select_from(query.order_by(None).subquery())
    total = int((await db.execute(counting)).scalar_one())
    size = wanted.spec.page_size
    pages = max(1, math.ceil(total / size))
    number = min(wanted.page, pages)
    cut = ordered(query, wanted).limit(size).offset((number - 1) * size)
    result = await db.execute(cut)
    rows: list[Any] = list(result.scalars()) if scalars else list(result.all())
    return Page(rows, total, number, pages, wanted)


# --- filters several lists share ----------------------------------------------------------

async def staff_choices(db: AsyncSession, *roles: str) -> dict[str, str]:
    """Members of staff in roles, as a filter's choices: user name → display name."""
    query = select(User.username, User.display_name).where(User.role.in_(roles))
    rows = (await db.execute(query.order_by(User.username))).all()
    return {name: shown or name for name, shown in rows}


def by_user(column: Any) -> Callable[[str], ColumnElement[bool]]:
    """A filter condition on a user id column, from the user name the filter's box sends
    (ids stay out of the address bar)."""
    return lambda username: column == (select(User.id).where(User.username == username)
                                       .scalar_subquery())


def api_page(response: Response, page: Page[T]) -> list[T]:
    """The API's answer for a list: the page's rows, with the whole list's size in
    X-Total-Count and the next and previous pages in Link; a wrong parameter is a 422
    naming it (a program should not get another list than it asked for)."""
    if page.query.errors:
        raise Invalid(page.query.errors)
    response.headers["X-Total-Count"] = str(page.total)
    links = [f'<{page.query.href(page=n)}>; rel="{rel}"'
             for n, rel in ((page.number + 1, "next"), (page.number - 1, "prev"))
             if 1 <= n <= page.pages]
    if links:
        response.headers["Link"] = ", ".join(links)
    return page.rows


# --- live lists: "this list changed" (server-sent events) ----------------------------------

# How often a connected page's list is read again, how often a quiet stream says it is
# alive, and how long one stream lasts before the browser opens the next (EventSource
# reconnects by itself, with the same address).
LIVE_POLL_SECONDS = 3.0
LIVE_KEEPALIVE_SECONDS = 15.0
LIVE_LIFETIME_SECONDS = 300.0
# an aggregate over the listed rows (the list's SELECT as a subquery), beyond the count and
# the ids every stamp reads
Aggregate = Callable[[Subquery], Any]


async def stamp(db: AsyncSession, query: AnySelect, wanted: Query | None = None,
                *more: Aggregate) -> str:
    """A cheap version of a list as wanted narrows it (what the reader may see and has
    asked for, not paged): the number of rows, their largest id and the sum of their ids
    (a row that comes or goes changes them), and the list's own aggregates of what changes
    in a row that stays (a matter's state and its steps, a notice read). One aggregate
    query; the same list in the same state gives the same short string."""
    listed = (narrowed(query, wanted) if wanted else query).order_by(None).subquery()
    values = (await db.execute(select(func.count(), func.max(listed.c.id), func.sum(listed.c.id),
                                      *(aggregate(listed) for aggregate in more)))).one()
    text = ".".join("" if value is None else str(value) for value in values)
    return hashlib.blake2s(text.encode(), digest_size=8).hexdigest()


class EventStream(StreamingResponse):
    """Server-sent events (the OpenAPI schema names the media type from here)."""

    media_type = "text/event-stream"


# What the OpenAPI schema says a stream sends: its one event.
LIVE_RESPONSES: dict[int | str, dict[str, Any]] = {200: {
    "description": "`event: changed`, `data: {\"stamp\": ...}` once the list differs from "
                   "the page's stamp (`since`); comments meanwhile",
    "content": {"text/event-stream": {"schema": {
        "type": "object", "required": ["event", "data"],
        "properties": {"event": {"type": "string", "enum": ["changed"]},
                       "data": {"type": "string", "contentMediaType": "application/json",
                                "contentSchema": {"type": "object", "required": ["stamp"],
                                                  "properties": {"stamp": {
                                                      "type": "string"}}}}}}}}}}


def live_changes(request: Request, sessions: async_sessionmaker[AsyncSession],
                 read: Callable[[AsyncSession], Awaitable[str]]) -> EventStream:
    """A list page's stream (text/event-stream): the event `changed` (data: the new stamp)
    as soon as read(db) differs from the page's stamp (`?since=`), which ends the stream;
    till then a comment now and then. The page's script reloads the list, or says 列表有更新
    when the user is busy with a form (static/lists.js), and listens again with the new
    stamp; a client that does not gets `changed` again at once when it reconnects."""
    since = request.query_params.get("since", "")

    async def stream() -> AsyncIterator[str]:
        loop = asyncio.get_running_loop()
        ends, quiet = loop.time() + LIVE_LIFETIME_SECONDS, loop.time()
        yield "retry: 5000\n\n"
        while loop.time() < ends and not await request.is_disconnected():
            async with session_scope(sessions) as db:
                now = await read(db)
            if now != since:
                yield f"event: changed\ndata: {json.dumps({'stamp': now})}\n\n"
                return
            if loop.time() - quiet >= LIVE_KEEPALIVE_SECONDS:
                quiet = loop.time()
                yield ": keep-alive\n\n"
            await asyncio.sleep(LIVE_POLL_SECONDS)

    return EventStream(stream(), headers={"Cache-Control": "no-store",
                                          "X-Accel-Buffering": "no"})
