"""hotline.db.tickets on SQLite and PostgreSQL: references, concurrency, the lists."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline import tickets as matters
from hotline.db import calls, tickets
from hotline.db.base import session_scope
from hotline.db.models import Call, Ticket

Sessions = async_sessionmaker[AsyncSession]
# 02:00 UTC is 10:00 in the court (Asia/Shanghai, UTC+8)
T0 = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
CALL = "1795747054.0"
CALLER = "13812345678"


async def _create(sessions: Sessions, type: str = "callback", caller: str = CALLER,
                  call_id: str | None = None, now: datetime = T0) -> Ticket:
    async with session_scope(sessions) as session:
        return await tickets.create_ticket(session, type, caller, call_id, now=now)


async def _references(sessions: Sessions) -> list[str]:
    async with session_scope(sessions) as session:
        return sorted((await session.execute(select(Ticket.reference))).scalars())


async def test_create_ticket_stores_everything(sessions: Sessions) -> None:
    async with session_scope(sessions) as session:
        await calls.ensure_call(session, CALL)
        ticket = await tickets.create_ticket(
            session, "appointment", CALLER, CALL, audio_path="2026/11/27/m.wav",
            text="预约立案", subtype="filing", detail={"menu_node": "appt"}, now=T0)

    async with session_scope(sessions) as session:
        stored = await session.get(Ticket, ticket.id)
    assert stored is not None
    assert (stored.reference, stored.type, stored.subtype, stored.status) == (
        "2611270001", "appointment", "filing", "open")
    assert (stored.caller_number, stored.call_id, stored.audio_path, stored.text) == (
        CALLER, CALL, "2026/11/27/m.wav", "预约立案")
    assert stored.detail == {"menu_node": "appt"} and stored.created_at == T0


async def test_references_follow_each_court_day(sessions: Sessions) -> None:
    first = await _create(sessions)
    second = await _create(sessions)
    # 17:00 UTC is already 01:00 the next day in the court
    next_day = await _create(sessions, now=datetime(2026, 11, 27, 17, 0, tzinfo=UTC))
    same_day_late = await _create(sessions, now=datetime(2026, 11, 27, 15, 59, tzinfo=UTC))

    assert [first.reference, second.reference, same_day_late.reference] == [
        "2611270001", "2611270002", "2611270003"]
    assert next_day.reference == "2611280001"


async def test_references_use_the_given_time_zone(sessions: Sessions) -> None:
    async with session_scope(sessions) as session:
        ticket = await tickets.create_ticket(session, "callback", CALLER, None,
                                             now=datetime(2026, 11, 27, 17, 0, tzinfo=UTC),
                                             timezone="UTC")
    assert ticket.reference == "2611270001"


async def test_sequence_grows_a_digit_after_9999(sessions: Sessions) -> None:
    async with session_scope(sessions) as session:
        session.add(Ticket(reference="2611279999", type="callback", created_at=T0))

    assert (await _create(sessions)).reference == "26112710000"
    assert (await _create(sessions)).reference == "26112710001"


async def test_concurrent_creations_get_unique_references(sessions: Sessions) -> None:
    created = await asyncio.gather(*(_create(sessions, caller=f"1381234{n:04d}")
                                     for n in range(20)))

    expected = [f"261127{n:04d}" for n in range(1, 21)]
    assert sorted(t.reference for t in created) == expected
    assert await _references(sessions) == expected


async def test_a_taken_reference_is_retried_and_earlier_work_kept(
        sessions: Sessions, monkeypatch: pytest.MonkeyPatch) -> None:
    # Another process took 0001 after we read the day's last reference.
    await _create(sessions)
    stale = iter(["2611270001"])
    real_next = tickets._next_reference

    async def next_reference(session: AsyncSession, prefix: str) -> str:
        return next(stale, None) or await real_next(session, prefix)

    monkeypatch.setattr(tickets, "_next_reference", next_reference)
    async with session_scope(sessions) as session:
        await calls.ensure_call(session, CALL)
        ticket = await tickets.create_ticket(session, "complaint", CALLER, CALL, now=T0)

    assert ticket.reference == "2611270002"
    assert await _references(sessions) == ["2611270001", "2611270002"]
    async with session_scope(sessions) as session:
        assert await session.get(Call, CALL) is not None


async def test_a_ticket_rolls_back_with_its_transaction(sessions: Sessions) -> None:
    with pytest.raises(RuntimeError, match="boom"):
        async with session_scope(sessions) as session:
            await tickets.create_ticket(session, "callback", CALLER, None, now=T0)
            raise RuntimeError("boom")

    assert await _references(sessions) == []


async def test_unknown_call_is_an_error_not_a_retry(sessions: Sessions) -> None:
    with pytest.raises(IntegrityError):
        async with session_scope(sessions) as session:
            await tickets.create_ticket(session, "callback", CALLER, "no-such-call", now=T0)


@pytest.mark.parametrize(("type", "subtype", "message"), [
    ("lottery", "", "unknown ticket type 'lottery'"),
    ("analysis", "", "unknown ticket type 'analysis'"),
    ("appointment", "wedding", "unknown appointment kind 'wedding'"),
])
async def test_unknown_types_are_refused(sessions: Sessions, type: str, subtype: str,
                                         message: str) -> None:
    async with session_scope(sessions) as session:
        with pytest.raises(ValueError, match=message):
            await tickets.create_ticket(session, type, CALLER, None, subtype=subtype)
    assert await _references(sessions) == []


async def test_tickets_for_call_in_creation_order(sessions: Sessions) -> None:
    async with session_scope(sessions) as session:
        await calls.ensure_call(session, CALL)
        await calls.ensure_call(session, "other")
    await _create(sessions, "complaint", call_id=CALL)
    await _create(sessions, "suggestion", call_id="other")
    await _create(sessions, "callback", call_id=CALL)

    async with session_scope(sessions) as session:
        found = await tickets.tickets_for_call(session, CALL)
        assert await tickets.tickets_for_call(session, "none") == []
    assert [t.type for t in found] == ["complaint", "callback"]


async def test_open_tickets_for_number_newest_first(sessions: Sessions) -> None:
    old = await _create(sessions, "complaint", now=T0)
    new = await _create(sessions, "suggestion", now=T0 + timedelta(hours=1))
    await _create(sessions, "callback", caller="13900000000")
    done = await _create(sessions, "consultation", now=T0 + timedelta(hours=2))
    async with session_scope(sessions) as session:
        stored = await session.get(Ticket, done.id)
        assert stored is not None
        stored.status = "answered"

    async with session_scope(sessions) as session:
        found = await tickets.open_tickets_for_number(session, CALLER)
    assert [t.reference for t in found] == [new.reference, old.reference]


@pytest.mark.parametrize("withheld", ["unknown", "<unknown>", "anonymous", ""])
async def test_a_withheld_number_links_no_caller_to_another(sessions: Sessions,
                                                            withheld: str) -> None:
    """Every anonymous caller has the same "number": an agent answering one must not be
    shown another's open matters, nor their earlier calls."""
    await _create(sessions, "complaint", caller=withheld)
    async with session_scope(sessions) as session:
        await calls.ensure_call(session, "1795747054.1", caller_number=withheld, started_at=T0)
        assert await tickets.open_tickets_for_number(session, withheld) == []
        assert await calls.calls_from_number(session, withheld, before="1795747054.9") == []


async def test_recent_tickets_newest_first_within_the_limit(sessions: Sessions) -> None:
    for hours in (0, 2, 1):
        await _create(sessions, now=T0 + timedelta(hours=hours))

    async with session_scope(sessions) as session:
        found = await tickets.recent_tickets(session, limit=2)
        everything = await tickets.recent_tickets(session)
    assert [t.created_at for t in found] == [T0 + timedelta(hours=2), T0 + timedelta(hours=1)]
    assert len(everything) == 3


async def test_callbacks_come_back_in_the_callers_arrival_order(sessions: Sessions) -> None:
    async with session_scope(sessions) as session:
        for call_id in ("c1", "c2", "c3"):
            await calls.ensure_call(session, call_id)
    # Created in another order than the callers joined the queue.
    late = await _create(sessions, call_id="c1", now=T0 + timedelta(minutes=9))
    early = await _create(sessions, call_id="c2", now=T0 + timedelta(minutes=10))
    unqueued = await _create(sessions, call_id="c3", now=T0 + timedelta(minutes=4))
    other = await _create(sessions, type="complaint", now=T0)
    async with session_scope(sessions) as session:
        assert await tickets.note_queued_at(session, "c1", T0 + timedelta(minutes=5)) == 1
        assert await tickets.note_queued_at(session, "c2", T0 + timedelta(minutes=1)) == 1
    async with session_scope(sessions) as session:
        # A second note does not move a caller's turn.
        assert await tickets.note_queued_at(session, "c2", T0 + timedelta(minutes=8)) == 0
        ordered = [t.id for t in await matters.callback_list(session)]
    # without a queue time, a request counts from its creation (minute 4); the complaint
    # left at minute 0 is in the same list, first
    assert ordered == [other.id, early.id, unqueued.id, late.id]


async def test_answered_callbacks_leave_the_list(sessions: Sessions) -> None:
    ticket = await _create(sessions)
    async with session_scope(sessions) as session:
        assert [t.id for t in await matters.callback_list(session)] == [ticket.id]
        (await session.get(Ticket, ticket.id)).status = "answered"  # type: ignore[union-attr]
    async with session_scope(sessions) as session:
        assert await matters.callback_list(session) == []
