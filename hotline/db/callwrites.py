"""Writes to the call aggregate as data: what the bridge queues behind a call (ivr/writebehind.py)
and later applies many at a time, in one transaction.

A write is a small plain value, so it can be journaled before it is applied and applied
again after a crash. :func:`apply` turns a batch into a handful of statements (one INSERT for
all the batch's events, one for its new calls, ...) instead of a statement and a commit per
fact. Within a batch new calls go first, then updates, hang-ups, menu keys, recordings and
events; a fact about a call only counts once the call exists, as before.
"""

from __future__ import annotations

import io
import json
import pickle
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import String, Table, bindparam, case, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ClauseElement

from hotline.db.base import utcnow
from hotline.db.models import Call, CallEvent, ReconcileMark, Recording

ENSURE, UPDATE, EVENT, MENU_KEY = "ensure", "update", "event", "menu_key"
RECORDING, FINISH_RECORDING, HANGUP = "recording", "finish_recording", "hangup"
# A job of the bridge's writer kept in the journal by name (ivr/journaled.py): values hold
# the job's name ("job") and its arguments; never applied here.
JOB = "job"
OPS = (ENSURE, UPDATE, EVENT, MENU_KEY, RECORDING, FINISH_RECORDING, HANGUP, JOB)

_CALLS: Table = Call.__table__  # type: ignore[assignment]
_EVENTS: Table = CallEvent.__table__  # type: ignore[assignment]
_RECORDINGS: Table = Recording.__table__  # type: ignore[assignment]
_MARKS: Table = ReconcileMark.__table__  # type: ignore[assignment]
_CALL_DEFAULTS: dict[str, Any] = {
    "caller_number": "", "channel": "", "answered_at": None, "ended_at": None,
    "disposition": "", "hangup_cause": None, "route": "", "menu_path": "", "agent": "",
    "source": "live"}


class Write(NamedTuple):
    """One fact about a call; `values` holds plain values only (str, int, float, bool,
    None, lists and dicts of them), its times (TIME_KEYS) as whole microseconds since the
    epoch. A tuple: the bridge makes about twenty a call on its event loop, and a frozen
    dataclass's __init__ cost three attribute sets through object.__setattr__ each."""

    op: str
    call_id: str
    values: dict[str, Any]

    @classmethod
    def checked(cls, op: object, call_id: object, values: object) -> Write:
        """A write read back from a journal, refused (ValueError) unless it is one."""
        if op not in OPS or not isinstance(call_id, str) or not isinstance(values, dict):
            raise ValueError(f"not a call write: {str((op, call_id, values))[:80]}")
        return cls(str(op), call_id, _times(values))  # a journal from before: datetimes

    @classmethod
    def decode(cls, line: bytes) -> Write:
        """A line of a journal from before its records were pickled (a .jsonl file)."""
        op, call_id, values = json.loads(line, object_hook=_decode_time)
        return cls.checked(op, str(call_id), values)


# --- the journal's records ----------------------------------------------------------------

_PICKLE_PROTOCOL = 5


def encode_record(writes: Sequence[Write]) -> bytes:
    """The writes made together (one turn of the bridge's loop) as one journal record: the
    pickled list of their (op, call_id, values), as plain tuples so that no class is named
    in it. One pickle for all of them costs a fifth of a JSON line for each, and the
    journal is written on the callers' loop (issue 12; bench/README.md)."""
    return pickle.dumps([tuple(write) for write in writes], _PICKLE_PROTOCOL)


class _PlainUnpickler(pickle.Unpickler):
    """Loads plain values only: a record that names any class or function (none that the
    bridge writes does) is refused, never imported or called."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"a journal record may not name {module}.{name}")


def decode_record(payload: bytes) -> list[Write]:
    """encode_record's writes again; ValueError for anything else."""
    try:
        parts = _PlainUnpickler(io.BytesIO(payload)).load()
    except Exception as exc:  # a damaged record can fail in many ways; all say the same
        raise ValueError(f"not a journal record ({exc.__class__.__name__}: {exc})") from None
    if not isinstance(parts, list) or not all(isinstance(p, tuple) and len(p) == 3
                                              for p in parts):
        raise ValueError("not a journal record: not a list of (op, call_id, values)")
    return [Write.checked(*part) for part in parts]


def _decode_time(value: dict[str, Any]) -> Any:
    if len(value) == 1 and "$t" in value:
        return datetime.fromisoformat(value["$t"])
    return value


# --- times in writes -------------------------------------------------------------------

TIME_KEYS = frozenset({"started_at", "answered_at", "ended_at", "at", "created_at"})
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def micros(value: datetime) -> int:
    """An aware datetime as a write carries it: whole microseconds since the epoch (exact,
    unlike a float's seconds)."""
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a call write; use UTC-aware datetimes")
    return (value - _EPOCH) // _MICROSECOND


def _now() -> int:
    return time.time_ns() // 1000


def _times(values: dict[str, Any]) -> dict[str, Any]:
    """values with each datetime in it as micros (in place). A time may only come under one
    of TIME_KEYS: _datetimes turns only those back."""
    for key, value in values.items():
        if isinstance(value, datetime):
            if key not in TIME_KEYS:
                raise ValueError(f"{key!r} is not one of a call write's times ({TIME_KEYS})")
            values[key] = micros(value)
    return values


def _datetimes(values: dict[str, Any]) -> dict[str, Any]:
    """A write's values with its times as aware datetimes again, for the database."""
    return {key: _EPOCH + _MICROSECOND * value if key in TIME_KEYS and type(value) is int
            else value for key, value in values.items()}


# --- the facts, stamped when they happen (not when they are committed) --------------------

def ensure(call_id: str, **values: Any) -> Write:
    """Create the call unless it exists (the first writer wins)."""
    values.setdefault("started_at", _now())
    return Write(ENSURE, call_id, _times(values))


def update(call_id: str, **values: Any) -> Write:
    return Write(UPDATE, call_id, _times(values))


def event(call_id: str, kind: str, detail: dict[str, str] | None = None,
          at: datetime | None = None, if_known: bool = False) -> Write:
    """A step of the call's log; if_known: only for a call already in the database (not a
    hotline call otherwise, e.g. staff calling each other)."""
    values: dict[str, Any] = {"kind": kind, "detail": detail or {},
                              "at": micros(at) if at else _now()}
    if if_known:
        values["if_known"] = True
    return Write(EVENT, call_id, values)


def menu_key(call_id: str, key: str) -> Write:
    return Write(MENU_KEY, call_id, {"key": key})


def recording(call_id: str, path: str, kind: str = "call") -> Write:
    return Write(RECORDING, call_id, {"path": path, "kind": kind, "created_at": _now()})


def finish_recording(call_id: str, path: str, status: str, duration_seconds: float | None,
                     size_bytes: int | None) -> Write:
    return Write(FINISH_RECORDING, call_id, {"path": path, "status": status,
                                             "duration_seconds": duration_seconds,
                                             "size_bytes": size_bytes})


def hangup(call_id: str, at: datetime, cause: int) -> Write:
    """The call ended: answered or not is decided from what the database knows then."""
    return Write(HANGUP, call_id, {"at": micros(at), "cause": cause})


# --- applying a batch ----------------------------------------------------------------------

@dataclass
class _Batch:
    ensures: dict[str, dict[str, Any]] = field(default_factory=dict)
    updates: dict[str, dict[str, Any]] = field(default_factory=dict)
    hangups: dict[str, dict[str, Any]] = field(default_factory=dict)
    keys: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    recordings: dict[str, dict[str, Any]] = field(default_factory=dict)
    finished: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    known_only: set[str] = field(default_factory=set)

    def add(self, write: Write) -> None:
        cid, values = write.call_id, write.values
        if write.op == ENSURE:
            if cid not in self.ensures:
                self.ensures[cid] = {**_CALL_DEFAULTS, **_datetimes(values), "id": cid}
        elif write.op == UPDATE:
            self.updates.setdefault(cid, {}).update(_datetimes(values))
        elif write.op == HANGUP:
            self.hangups[cid] = _datetimes(values)
        elif write.op == MENU_KEY:
            self.keys[cid].append(str(values["key"]))
        elif write.op == RECORDING:
            if values["path"] not in self.recordings:
                self.recordings[values["path"]] = {**_datetimes(values), "call_id": cid,
                                                   "status": "recording"}
        elif write.op == FINISH_RECORDING:
            self.finished[values["path"]] = values
        elif write.op == EVENT:
            if values.get("if_known"):
                self.known_only.add(cid)
            self.events.append({"call_id": cid, "kind": values["kind"],
                                "detail": values["detail"],
                                "at": _EPOCH + _MICROSECOND * values["at"],
                                "if_known": bool(values.get("if_known"))})


async def apply(session: AsyncSession, writes: Iterable[Write]) -> None:
    """Apply writes in the session's transaction, a few statements for the whole batch."""
    batch = list(writes)
    await session.run_sync(lambda sync: apply_on(sync.connection(), batch))


def apply_on(conn: Connection, writes: Iterable[Write]) -> None:
    """apply() on a synchronous connection: the bridge's writer runs a batch this way in its
    own thread, in one go (through aiosqlite each statement is several hops between the
    event loop and the driver's thread)."""
    batch = _Batch()
    for write in writes:
        batch.add(write)
    postgres = conn.dialect.name == "postgresql"
    _insert_ignore(conn, _CALLS, list(batch.ensures.values()), postgres)
    _updates(conn, batch.updates)
    _hangups(conn, batch.hangups)
    _menu_keys(conn, batch.keys)
    _insert_ignore(conn, _RECORDINGS, list(batch.recordings.values()), postgres)
    _finish_recordings(conn, list(batch.finished.values()))
    _events(conn, batch)


# The statements are built once: building them (and their cache keys) per batch cost more
# CPU than running them.
_ANSWERED = case((_CALLS.c.answered_at.is_not(None), "answered"), else_="unanswered")
_HANGUP = (_CALLS.update().where(_CALLS.c.id == bindparam("h_id"))
           .values(ended_at=bindparam("h_at"), hangup_cause=bindparam("h_cause"),
                   disposition=_ANSWERED))
_KEYS_ADDED = bindparam("m_keys", type_=String())
_MENU_KEYS = (_CALLS.update().where(_CALLS.c.id == bindparam("m_id"))
              .values(menu_path=case((_CALLS.c.menu_path == "", _KEYS_ADDED),
                                     else_=_CALLS.c.menu_path + "," + _KEYS_ADDED)))
_FINISH = (_RECORDINGS.update().where(_RECORDINGS.c.path == bindparam("r_path"))
           .values(status=bindparam("r_status"), duration_seconds=bindparam("r_duration"),
                   size_bytes=bindparam("r_size")))
_MARK = (_MARKS.update().where(_MARKS.c.source == bindparam("k_source"))
         .values(position=bindparam("k_position"), fingerprint=bindparam("k_fingerprint"),
                 updated_at=bindparam("k_at")))
_INSERT_IGNORE = {(name, table.name): insert(table).on_conflict_do_nothing()
                  for name, insert in (("postgresql", pg_insert), ("sqlite", sqlite_insert))
                  for table in (_CALLS, _RECORDINGS, _MARKS)}
_UPDATES: dict[tuple[str, ...], Any] = {}  # by the columns set
_EVENTS_INSERT = _EVENTS.insert()
_KNOWN = select(_CALLS.c.id).where(_CALLS.c.id.in_(bindparam("k_ids", expanding=True)))


def move_mark(conn: Connection, source: str, position: int, fingerprint: str) -> None:
    """hotline.db.calls.set_mark on a synchronous connection (the writer's journal mark)."""
    at = utcnow()
    moved = conn.execute(_MARK, {"k_source": source, "k_position": position,
                                 "k_fingerprint": fingerprint, "k_at": at})
    if not moved.rowcount:
        conn.execute(_INSERT_IGNORE[conn.dialect.name, _MARKS.name],
                     {"source": source, "position": position, "fingerprint": fingerprint,
                      "updated_at": at})


def _insert_ignore(conn: Connection, table: Table, rows: list[dict[str, Any]],
                   postgres: bool) -> None:
    statement = _INSERT_IGNORE["postgresql" if postgres else "sqlite", table.name]
    for group in _by_keys(rows):
        _execute_many(conn, statement, group)


class _Bind(NamedTuple):
    name: str
    default: Any  # for a row without it: the statement's literal, or the column's default
    make_default: Callable[[Any], Any] | None  # a column default that is a function
    process: Callable[[Any], Any] | None  # the column type's: Python value -> the driver's


class _Compiled(NamedTuple):
    sql: str
    binds: tuple[_Bind, ...]
    positional: bool


_COMPILED: dict[tuple[str, ClauseElement, tuple[str, ...]], _Compiled] = {}


def _execute_many(conn: Connection, statement: ClauseElement,
                  rows: list[dict[str, Any]]) -> None:
    """conn.execute(statement, rows), with the rows turned into the driver's values by the
    columns' own bind processors (so stored exactly as SQLAlchemy stores them) and handed to
    the driver's executemany (Connection.exec_driver_sql). SQLAlchemy's own way builds and
    processes every row's parameters through several layers: in the bridge's writer that
    cost three times what SQLite spent on the statements (issue 12). Every row has the
    first row's keys (_by_keys)."""
    if not rows:
        return
    keys = tuple(rows[0])
    compiled = _COMPILED.get((conn.dialect.name, statement, keys))
    if compiled is None:
        compiled = _COMPILED[conn.dialect.name, statement, keys] = _compile(conn, statement,
                                                                            keys)
    params: list[Any] = []
    for row in rows:
        values = []
        for bind in compiled.binds:
            if bind.name in row:
                value = row[bind.name]
            else:
                value = bind.make_default(None) if bind.make_default else bind.default
            values.append(bind.process(value) if bind.process else value)
        params.append(tuple(values) if compiled.positional else
                      {bind.name: value for bind, value in zip(compiled.binds, values,
                                                               strict=True)})
    conn.exec_driver_sql(compiled.sql, params)


def _compile(conn: Connection, statement: ClauseElement, keys: tuple[str, ...]) -> _Compiled:
    dialect = conn.dialect
    compiled: Any = statement.compile(dialect=dialect, column_keys=list(keys))
    positional = compiled.positiontup is not None
    table = getattr(statement, "table", None)
    binds = []
    for name in compiled.positiontup if positional else compiled.binds:
        bind = compiled.binds[name]
        default, make = bind.effective_value, None
        column = table.c.get(name) if table is not None and name not in keys else None
        if column is not None and column.default is not None:  # an INSERT's other columns
            if column.default.is_callable:
                make = column.default.arg  # SQLAlchemy's wrapper: takes a context
            else:
                default = column.default.arg
        binds.append(_Bind(name, default, make,
                           bind.type.dialect_impl(dialect).bind_processor(dialect)))
    return _Compiled(compiled.string, tuple(binds), positional)


def _by_keys(rows: Iterable[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """executemany needs the same columns in every row."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[tuple(sorted(row))].append(row)
    return list(groups.values())


def _updates(conn: Connection, updates: dict[str, dict[str, Any]]) -> None:
    rows = [{**{f"v_{k}": v for k, v in values.items()}, "v_id": cid}
            for cid, values in updates.items() if values]
    for group in _by_keys(rows):
        columns = tuple(k.removeprefix("v_") for k in group[0] if k != "v_id")
        statement = _UPDATES.get(columns)
        if statement is None:
            statement = _UPDATES[columns] = (
                _CALLS.update().where(_CALLS.c.id == bindparam("v_id"))
                .values({c: bindparam(f"v_{c}") for c in columns}))
        _execute_many(conn, statement, group)


def _hangups(conn: Connection, hangups: dict[str, dict[str, Any]]) -> None:
    if hangups:
        _execute_many(conn, _HANGUP, [{"h_id": cid, "h_at": v["at"], "h_cause": v["cause"]}
                                      for cid, v in hangups.items()])


def _menu_keys(conn: Connection, keys: dict[str, list[str]]) -> None:
    if keys:
        _execute_many(conn, _MENU_KEYS, [{"m_id": cid, "m_keys": ",".join(pressed)}
                                         for cid, pressed in keys.items()])


def _finish_recordings(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        _execute_many(conn, _FINISH, [{"r_path": r["path"], "r_status": r["status"],
                                       "r_duration": r["duration_seconds"],
                                       "r_size": r["size_bytes"]} for r in rows])


def _events(conn: Connection, batch: _Batch) -> None:
    if not batch.events:
        return
    known: set[str] = set()
    if batch.known_only:
        found = conn.execute(_KNOWN, {"k_ids": sorted(batch.known_only)})
        known = set(found.scalars())
    rows = [{k: v for k, v in e.items() if k != "if_known"} for e in batch.events
            if not e["if_known"] or e["call_id"] in known]
    if rows:
        _execute_many(conn, _EVENTS_INSERT, rows)
