"""Data access for the call aggregate: calls, their events and recordings.

Every write is idempotent where the same fact can arrive twice (from AMI live and from the
reconciler later): inserting a call or a recording that exists does nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, Table, bindparam, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from hotline.callid import known_number
from hotline.db.base import Base, utcnow
from hotline.db.models import Call, CallEvent, ReconcileMark, Recording

# Statements built once, their values as parameters: building one cost more CPU than
# running it (a voice message's recording rows, ~0.2 ms each).
_TABLES: dict[type[Base], Table] = {model: cast(Table, model.__table__)
                                    for model in (Call, Recording, ReconcileMark)}
_INSERT_IGNORE = {(name, model): insert(table).on_conflict_do_nothing()
                  for name, insert in (("postgresql", pg_insert), ("sqlite", sqlite_insert))
                  for model, table in _TABLES.items()}
_RECORDINGS = _TABLES[Recording]
_FINISH_RECORDING = (update(_RECORDINGS).where(_RECORDINGS.c.path == bindparam("f_path"))
                     .values(status=bindparam("f_status"),
                             duration_seconds=bindparam("f_duration"),
                             size_bytes=bindparam("f_size")))


async def _insert_ignore(session: AsyncSession, model: type[Base], values: dict[str, Any]) -> None:
    await session.execute(_INSERT_IGNORE[session.get_bind().dialect.name, model], values)


async def ensure_call(session: AsyncSession, call_id: str, **values: Any) -> None:
    """Create the call unless it exists (the first writer wins; later ones change nothing)."""
    values.setdefault("started_at", utcnow())
    await _insert_ignore(session, Call, {"id": call_id, **_call_defaults(), **values})


def _call_defaults() -> dict[str, Any]:
    return {"caller_number": "", "channel": "", "disposition": "", "route": "", "menu_path": "",
            "agent": "", "source": "live"}


async def update_call(session: AsyncSession, call_id: str, **values: Any) -> None:
    await session.execute(update(Call).where(Call.id == call_id).values(**values))


async def add_event(session: AsyncSession, call_id: str, kind: str,
                    detail: dict[str, str] | None = None, at: datetime | None = None) -> None:
    session.add(CallEvent(call_id=call_id, kind=kind, detail=detail or {}, at=at or utcnow()))


async def append_menu_key(session: AsyncSession, call_id: str, key: str) -> None:
    call = await session.get(Call, call_id)
    if call is not None:
        call.menu_path = f"{call.menu_path},{key}" if call.menu_path else key


async def add_recording(session: AsyncSession, call_id: str, path: str, kind: str = "call") -> None:
    await _insert_ignore(session, Recording, {"call_id": call_id, "path": path, "kind": kind,
                                              "status": "recording", "created_at": utcnow()})


async def finish_recording(session: AsyncSession, path: str, status: str,
                           duration_seconds: float | None, size_bytes: int | None) -> None:
    await session.execute(_FINISH_RECORDING, {"f_path": path, "f_status": status,
                                              "f_duration": duration_seconds,
                                              "f_size": size_bytes})


async def get_call(session: AsyncSession, call_id: str) -> Call | None:
    query = (select(Call).where(Call.id == call_id)
             .options(selectinload(Call.events), selectinload(Call.recordings)))
    return (await session.execute(query)).scalar_one_or_none()


async def recent_calls(session: AsyncSession, limit: int = 20) -> list[Call]:
    query = (select(Call).order_by(Call.started_at.desc()).limit(limit)
             .options(selectinload(Call.recordings)))
    return list((await session.execute(query)).scalars())


async def calls_from_number(session: AsyncSession, number: str, limit: int = 5,
                            before: str = "", *where: ColumnElement[bool]) -> list[Call]:
    """A caller's earlier calls, newest first, leaving out the call `before` (the one now)
    and those where does not hold. None for a withheld number: that is every anonymous
    caller's."""
    if not known_number(number):
        return []
    query = select(Call).where(Call.caller_number == number, *where)
    if before:
        query = query.where(Call.id != before)
    query = query.order_by(Call.started_at.desc()).limit(limit)
    return list((await session.execute(query)).scalars())


async def existing_ids(session: AsyncSession, call_ids: Iterable[str]) -> dict[str, Call]:
    ids = list(call_ids)
    if not ids:
        return {}
    rows = await session.execute(select(Call).where(Call.id.in_(ids)))
    return {call.id: call for call in rows.scalars()}


async def recordings_in_progress(session: AsyncSession) -> list[Recording]:
    rows = await session.execute(select(Recording).where(Recording.status == "recording"))
    return list(rows.scalars())


async def get_mark(session: AsyncSession, source: str) -> ReconcileMark | None:
    return await session.get(ReconcileMark, source)


async def set_mark(session: AsyncSession, source: str, position: int, fingerprint: str) -> None:
    # One UPDATE (the bridge's writer moves its journal mark with every batch).
    moved = await session.execute(
        update(ReconcileMark).where(ReconcileMark.source == source)
        .values(position=position, fingerprint=fingerprint, updated_at=utcnow())
        .execution_options(synchronize_session=False))
    if not getattr(moved, "rowcount", 0):
        await _insert_ignore(session, ReconcileMark, {
            "source": source, "position": position, "fingerprint": fingerprint,
            "updated_at": utcnow()})



# --- a call's readable number, and the call list ----------------------------------------

_READABLE = re.compile(r"^\s*(\d{8})\s*-\s*(\d{1,6})\s*$")


def readable_number(day: date, sequence: int) -> str:
    """How staff name a call: its local day and its place among that day's calls, by the
    time each started (e.g. 20261130-0042), instead of Asterisk's uniqueid.

    >>> readable_number(date(2026, 11, 30), 42)
    '20261130-0042'
    """
    return f"{day:%Y%m%d}-{sequence:04d}"


def _day_bounds(day: date, timezone: str) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(), ZoneInfo(timezone))
    return start, start + timedelta(days=1)


def _local_day(moment: datetime, timezone: str) -> date:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(ZoneInfo(timezone)).date()


async def readable_numbers(session: AsyncSession, calls: Iterable[Call],
                           timezone: str) -> dict[str, str]:
    """The readable number of each call (by its id): one query per local day the calls
    span, reading only ids and start times. Derived, not stored: a call the reconciler adds
    later with an earlier start moves the numbers after it on that day by one."""
    by_day: dict[date, list[Call]] = {}
    for call in calls:
        by_day.setdefault(_local_day(call.started_at, timezone), []).append(call)
    numbers: dict[str, str] = {}
    for day, members in by_day.items():
        start, _ = _day_bounds(day, timezone)
        latest = max(c.started_at for c in members)
        query = (select(Call.id).where(Call.started_at >= start, Call.started_at <= latest)
                 .order_by(Call.started_at, Call.id))
        wanted = {c.id for c in members}
        for sequence, call_id in enumerate((await session.execute(query)).scalars(), 1):
            if call_id in wanted:
                numbers[call_id] = readable_number(day, sequence)
    return numbers


async def readable_number_of(session: AsyncSession, call: Call, timezone: str) -> str:
    return (await readable_numbers(session, [call], timezone)).get(call.id, "")


def parse_readable(text: str) -> tuple[date, int] | None:
    """The day and sequence of a readable number as typed ("20261130-0042"); None if the
    text is not one."""
    match = _READABLE.match(text)
    if match is None:
        return None
    try:
        day = datetime.strptime(match.group(1), "%Y%m%d").date()
    except ValueError:
        return None
    sequence = int(match.group(2))
    return (day, sequence) if sequence >= 1 else None


async def call_id_by_number(session: AsyncSession, text: str, timezone: str) -> str | None:
    """The id of the call a readable number names; None if it names none."""
    parsed = parse_readable(text)
    if parsed is None:
        return None
    day, sequence = parsed
    start, end = _day_bounds(day, timezone)
    query = (select(Call.id).where(Call.started_at >= start, Call.started_at < end)
             .order_by(Call.started_at, Call.id).offset(sequence - 1).limit(1))
    return (await session.execute(query)).scalar_one_or_none()


def list_query() -> Select[Call]:
    """Calls newest first, with their recordings loaded (the call list shows whether there
    is one); the console narrows and pages it."""
    return (select(Call).options(selectinload(Call.recordings))
            .order_by(Call.started_at.desc(), Call.id.desc()))


async def readable_numbers_of_ids(session: AsyncSession, call_ids: Iterable[str | None],
                                  timezone: str) -> dict[str, str]:
    """readable_numbers for calls named by id (a list of logs or matters); unknown ids and
    None are left out."""
    ids = {i for i in call_ids if i}
    if not ids:
        return {}
    found = (await session.execute(select(Call).where(Call.id.in_(ids)))).scalars()
    return await readable_numbers(session, list(found), timezone)
