"""hotline.progress: a matter's state by its reference, heard only from the number that
raised it, else sent to that number by SMS, at most once a day when asked by a stranger."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline import progress
from hotline.db.base import session_scope, utcnow
from hotline.db.models import Department, SmsMessage, Ticket
from hotline.db.sms import record_inbound
from hotline.db.tickets import create_ticket
from hotline.settings import Settings

Sessions = async_sessionmaker[AsyncSession]
CREATED = datetime(2026, 2, 13, 2, 0, tzinfo=UTC)  # 10:00 in Beijing
CALLER = "13812345601"


async def _ticket(sessions: Sessions) -> tuple[int, str]:
    async with session_scope(sessions) as db:
        ticket = await create_ticket(db, "suggestion", CALLER, None, now=CREATED)
        return ticket.id, ticket.reference


async def _state(sessions: Sessions, reference: str) -> progress.Progress:
    async with session_scope(sessions) as db:
        found = await progress.find(db, reference)
    assert found is not None
    return found


async def test_received_then_forwarded_then_answered(sessions: Sessions) -> None:
    ticket_id, reference = await _ticket(sessions)
    found = await _state(sessions, reference)
    assert (found.state, found.at, found.department) == ("received", CREATED, "")

    forwarded, due = CREATED + timedelta(hours=1), CREATED + timedelta(days=4)
    async with session_scope(sessions) as db:
        department = Department(name="诉讼服务中心")
        db.add(department)
        await db.flush()
        ticket = await db.get(Ticket, ticket_id)
        assert ticket is not None
        ticket.department_id, ticket.forwarded_at, ticket.due_at = department.id, forwarded, due
    found = await _state(sessions, reference)
    assert (found.state, found.at, found.department, found.due) == (
        "forwarded", forwarded, "诉讼服务中心", due)

    async with session_scope(sessions) as db:
        ticket = await db.get(Ticket, ticket_id)
        assert ticket is not None
        ticket.status, ticket.closed_at = "closed", due
    assert (await _state(sessions, reference)).state == "answered"
    async with session_scope(sessions) as db:
        assert await progress.find(db, "2602139999") is None
        assert await progress.find(db, "12ab") is None


def test_only_the_number_that_raised_it_hears_it() -> None:
    found = progress.Progress(1, "2602130001", "received", CREATED, caller_number=CALLER)
    assert progress.may_hear(found, CALLER) and progress.may_hear(found, "+86 138-1234-5601")
    assert not progress.may_hear(found, "13812345602")
    withheld = progress.Progress(1, "2602130001", "received", CREATED,
                                 caller_number="anonymous")
    assert not progress.may_hear(withheld, "anonymous")


async def test_asked_from_another_phone_it_goes_to_the_matters_number_once_a_day(
        sessions: Sessions, settings: Settings) -> None:
    _ticket_id, reference = await _ticket(sessions)
    found = await _state(sessions, reference)
    later = utcnow()  # the messages' own created_at is the real now
    async with session_scope(sessions) as db:
        first = await progress.send_by_sms(db, settings, found, later)
        again = await progress.send_by_sms(db, settings, found, later + timedelta(hours=1))
        asked_by_its_own_number = await progress.send_by_sms(db, settings, found, later,
                                                             limited=False)
    assert first is not None and again is None and asked_by_its_own_number is not None
    async with session_scope(sessions) as db:
        sent = list((await db.execute(select(SmsMessage).where(
            SmsMessage.kind == "progress_received").order_by(SmsMessage.id))).scalars())
    assert [m.to_number for m in sent] == [CALLER, CALLER]
    assert sent[0].text == (f"【12368诉讼服务热线】受理编号{reference}的事项已于2月13日受理，"
                            "正在办理。")
    async with session_scope(sessions) as db:
        tomorrow = await progress.send_by_sms(db, settings, found, later + timedelta(hours=25))
    assert tomorrow is not None


async def test_a_reference_texted_to_the_court_gets_the_progress_back_by_sms(
        sessions: Sessions, settings: Settings) -> None:
    _ticket_id, reference = await _ticket(sessions)
    async with session_scope(sessions) as db:
        own = await record_inbound(db, CALLER, "12368", f"进度 {reference}", utcnow())
        other = await record_inbound(db, "13812345602", "12368", reference, utcnow())
        again = await record_inbound(db, "13812345603", "12368", reference, utcnow())
        chat = await record_inbound(db, "13812345602", "12368", "请问立案要带什么材料", utcnow())
        unknown = await record_inbound(db, CALLER, "12368", "2602139999", utcnow())
        taken = [await progress.take_sms_query(db, m, settings)
                 for m in (other, again, own, chat, unknown)]
        assert taken == [True, True, True, False, False]
        assert (own.status, other.status, chat.status) == ("replied", "replied", "received")
        sent = list((await db.execute(select(SmsMessage).where(
            SmsMessage.kind == "progress_received").order_by(SmsMessage.id))).scalars())
    # Another phone: sent to the matter's number, once a day; its own number: answered.
    assert [m.to_number for m in sent] == [CALLER, CALLER]
    assert all(reference in m.text for m in sent)
