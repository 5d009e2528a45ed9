"""Satisfaction ratings on each database: an answered matter asks by SMS, a caller's 1/2/3
reply (through the sender's inbound path) rates it, 不满意 tells the administrators;
anything else stays an SMS for the inbox. The phone path's store (rate_call) and the
per-seat and per-department tallies."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline import ratings, sms, tickets
from hotline.db import calls
from hotline.db import ratings as ratings_db
from hotline.db import sms as sms_db
from hotline.db.base import session_scope
from hotline.db.models import Department, Notice, Rating, SmsMessage, Ticket, TicketEvent, User
from hotline.db.tickets import create_ticket
from hotline.settings import PathsSettings, Settings, SmsSettings
from hotline.sms.base import Event, Inbound
from hotline.sms.sender import Sender

Sessions = async_sessionmaker[AsyncSession]
T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
CALLER = "13812345678"


class Inbox:
    """A gateway that has callers' SMS to hand over and sends nothing (one piece tested:
    what the sender does with an inbound SMS)."""

    name, sends, takes_pushed = "test", False, False

    def __init__(self) -> None:
        self.waiting: list[Event] = []

    async def send(self, to: str, text: str, *, message_id: int) -> list[str]:
        raise AssertionError("sends nothing")

    async def poll(self) -> list[Event]:
        events, self.waiting = self.waiting, []
        return events

    async def ack(self, events: list[Event]) -> None:
        pass

    async def close(self) -> None:
        pass


@pytest.fixture(autouse=True)
def rating_hook() -> Iterator[None]:
    sms.register_inbound_hook(ratings.take_sms_reply)
    yield
    sms.unregister_inbound_hook(ratings.take_sms_reply)


async def _receive(sessions: Sessions, text: str, at: datetime,
                   sender: str = "+86" + CALLER) -> SmsMessage:
    driver = Inbox()
    driver.waiting.append(Inbound(sender, "12368", text, at))
    await Sender(SmsSettings(), driver, sessions, clock=lambda: at).run_once()
    async with session_scope(sessions) as db:
        rows = await db.execute(select(SmsMessage).where(SmsMessage.direction == "in")
                                .order_by(SmsMessage.id.desc()).limit(1))
        return rows.scalar_one()


async def _answered(sessions: Sessions, caller: str = CALLER) -> dict[str, int]:
    """A complaint owned by an agent, forwarded to 立案庭, answered by a delivered SMS
    (which closes it)."""
    async with session_scope(sessions) as db:
        people = {name: User(username=name, role=role, password_hash="x", display_name=name,
                             mobile=mobile)
                  for name, role, mobile in (("agent", "agent", ""),
                                             ("handler", "dept_handler", ""),
                                             ("admin", "admin", "13900000009"),
                                             ("old-admin", "admin", ""))}
        people["old-admin"].active = False
        db.add_all(people.values())
        await db.flush()
        department = Department(name="立案庭", handler_id=people["handler"].id)
        db.add(department)
        ticket = await create_ticket(db, "complaint", caller, None, text="立案窗口推诿",
                                     owner_id=people["agent"].id, now=T0)
        ticket.department_id = department.id
        await db.flush()
        ids = {k: u.id for k, u in people.items()} | {"ticket": ticket.id,
                                                        "department": department.id}
    if caller.startswith("1"):
        async with session_scope(sessions) as db:
            answered = await db.get(Ticket, ids["ticket"])
            assert answered is not None
            reply = await tickets.reply_by_sms(db, answered, "已处理。", ids["handler"], T0)
            reply.status, reply.delivered_at = sms_db.DELIVERED, T0 + timedelta(minutes=1)
            await tickets.close_on_delivered(db, reply)
    return ids


async def _asks(db: AsyncSession) -> list[Rating]:
    return list((await db.execute(select(Rating).order_by(Rating.id))).scalars())


async def test_an_answered_matter_asks_and_a_reply_of_3_rates_it_and_alerts_the_admins(
        sessions: Sessions) -> None:
    ids = await _answered(sessions)
    async with session_scope(sessions) as db:
        [ask] = await _asks(db)
        ticket = await db.get(Ticket, ids["ticket"])
        message = await db.get(SmsMessage, ask.ask_sms_id)
    assert ticket is not None and ticket.status == "closed" and message is not None
    assert (message.to_number, message.status) == (CALLER, "queued")
    assert ticket.reference in message.text and "1满意" in message.text and "办结" in message.text
    assert (ask.score, ask.ticket_id, ask.agent_id, ask.department_id) == (
        None, ids["ticket"], ids["agent"], ids["department"])

    inbound = await _receive(sessions, "３", T0 + timedelta(days=2))

    assert inbound.status == ratings.RATED_SMS and inbound.ticket_id == ids["ticket"]
    async with session_scope(sessions) as db:
        [ask] = await _asks(db)
        assert (ask.score, ask.reply_sms_id) == (ratings.UNSATISFIED, inbound.id)
        assert await sms_db.inbox(db) == []  # nothing for an agent to answer
        notices = list((await db.execute(select(Notice).where(Notice.kind == "rated")))
                       .scalars())
        # The active administrator is told, with an SMS to their mobile; nobody else.
        assert [(n.user_id, n.ticket_id) for n in notices] == [(ids["admin"], ids["ticket"])]
        assert ticket.reference in notices[0].text and "不满意" in notices[0].text
        to_admin = (await db.execute(select(SmsMessage).where(
            SmsMessage.user_id == ids["admin"]))).scalar_one()
        assert to_admin.to_number == "13900000009"
        events = (await db.execute(select(TicketEvent).where(
            TicketEvent.kind == "rated"))).scalars().one()
        assert events.detail["score"] == 3 and events.detail["channel"] == "sms"
        [shown] = await ratings_db.of_ticket(db, ticket)
        assert shown.id == ask.id


async def test_anything_else_stays_an_sms_for_the_inbox(sessions: Sessions) -> None:
    ids = await _answered(sessions)

    words = await _receive(sessions, "1 满意，谢谢", T0 + timedelta(hours=1))
    late = await _receive(sessions, "1", T0 + timedelta(days=8))  # the ask is 7 days old
    stranger = await _receive(sessions, "2", T0 + timedelta(hours=2), sender="13700000000")
    rated = await _receive(sessions, "1", T0 + timedelta(hours=3))
    again = await _receive(sessions, "3", T0 + timedelta(hours=4))  # the ask has its answer

    assert [m.status for m in (words, late, stranger, again)] == ["received"] * 4
    assert rated.status == ratings.RATED_SMS
    async with session_scope(sessions) as db:
        [ask] = await _asks(db)
        assert (ask.score, ask.rated_at) == (1, T0 + timedelta(hours=3))
        assert {m.id for m in await sms_db.inbox(db)} == {words.id, late.id, stranger.id,
                                                          again.id}
        # 满意 alerts nobody.
        assert (await db.execute(select(Notice).where(Notice.kind == "rated"))).first() is None
        assert ids["ticket"] == ask.ticket_id


async def test_the_newest_ask_takes_the_reply(sessions: Sessions) -> None:
    ids = await _answered(sessions)
    async with session_scope(sessions) as db:
        second = await create_ticket(db, "suggestion", CALLER, None, text="建议",
                                     owner_id=ids["agent"], now=T0)
        await ratings.ask_by_sms(db, Settings(), second, T0 + timedelta(hours=1),
                                 department="", date="1月1日")

    await _receive(sessions, "2", T0 + timedelta(hours=2))

    async with session_scope(sessions) as db:
        first, newest = await _asks(db)
    assert (first.score, newest.score) == (None, ratings.BASIC)
    assert newest.ticket_id == second.id


async def test_a_court_that_turns_the_question_off_sends_the_plain_closing_sms(
        sessions: Sessions, tmp_path: Path) -> None:
    (tmp_path / "sms_texts.toml").write_text('[texts]\nrating_ask = ""\n', encoding="utf-8")
    settings = Settings(paths=PathsSettings(data_dir=tmp_path))
    ids = await _answered(sessions)
    async with session_scope(sessions) as db:
        ticket = await db.get(Ticket, ids["ticket"])
        assert ticket is not None
        assert await ratings.ask_by_sms(db, settings, ticket, T0, department="",
                                        date="1月1日") is None
        ticket.status = "open"
        await tickets.close(db, ticket, None, T0, settings=settings)
        kinds = (await db.execute(select(SmsMessage.kind).where(
            SmsMessage.ticket_id == ticket.id, SmsMessage.user_id.is_(None))
            .order_by(SmsMessage.id))).scalars()
        # the first closing (default texts) asked; the second, with the question off, not
        assert list(kinds)[-2:] == ["rating_ask", "closed"]


async def test_a_fixed_line_caller_is_not_asked(sessions: Sessions) -> None:
    ids = await _answered(sessions, caller="037965551234")
    async with session_scope(sessions) as db:
        ticket = await db.get(Ticket, ids["ticket"])
        assert ticket is not None
        assert await ratings.ask_by_sms(db, Settings(), ticket, T0, department="",
                                        date="1月1日") is None
        assert await _asks(db) == []


async def test_a_key_after_a_seat_call_is_stored_once_for_the_seat(sessions: Sessions) -> None:
    async with session_scope(sessions) as db:
        agent = User(username="seat", role="agent", password_hash="x", display_name="李四")
        admin = User(username="boss", role="admin", password_hash="x")
        db.add_all([agent, admin])
        await db.flush()
        await calls.ensure_call(db, "c-rated", caller_number=CALLER, started_at=T0)
        await calls.add_event(db, "c-rated", "agent",
                              {"agent": "8001", "user_id": str(agent.id)}, T0)
        first = await ratings.rate_call(db, "c-rated", 3, T0, "Asia/Shanghai")
        again = await ratings.rate_call(db, "c-rated", 1, T0, "Asia/Shanghai")
    assert first is not None and again is None
    assert (first.channel, first.score, first.agent_id, first.caller_number) == (
        "call", 3, agent.id, CALLER)
    async with session_scope(sessions) as db:
        [notice] = (await db.execute(select(Notice))).scalars().all()
        assert notice.user_id == admin.id and "李四" in notice.text
        tallies = await ratings.tallies(db, "agent", T0, T0 + timedelta(days=1))
    assert tallies == {agent.id: ratings.Tally(unsatisfied=1)}
    assert tallies[agent.id].rate == 0.0


async def test_tallies_count_each_department_in_the_period(sessions: Sessions) -> None:
    async with session_scope(sessions) as db:
        department = Department(name="执行局")
        db.add(department)
        await db.flush()
        for score, hours in ((1, 1), (2, 2), (3, 3), (1, 30)):
            db.add(Rating(channel="sms", score=score, department_id=department.id,
                          asked_at=T0, rated_at=T0 + timedelta(hours=hours)))
        db.add(Rating(channel="sms", department_id=department.id, asked_at=T0))  # no answer
        await db.flush()
        found = await ratings.tallies(db, "department", T0, T0 + timedelta(days=1))
    assert found == {department.id: ratings.Tally(satisfied=1, basic=1, unsatisfied=1)}
    assert found[department.id].rate == pytest.approx(2 / 3)
