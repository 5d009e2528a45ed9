"""The ticket workflow on each database: forwarding, picking up, replies and the proof that
alone lets a ticket close."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline import hours, tickets
from hotline.db import calls, presence, state
from hotline.db.base import session_scope
from hotline.db.models import (
    CallLog,
    Department,
    Notice,
    SmsMessage,
    Ticket,
    TicketEvent,
    User,
)
from hotline.db.tickets import create_ticket
from hotline.escalation import run_pass
from hotline.settings import Settings
from hotline.tickets import TicketRefused

Sessions = async_sessionmaker[AsyncSession]
# Fri 2026-02-13 10:00 in Beijing; day 1 is the make-up Saturday, day 2 Tue 02-24.
FORWARDED = datetime(2026, 2, 13, 2, 0, tzinfo=UTC)
CALLER = "13812345678"


async def _people(db: AsyncSession) -> dict[str, User]:
    people = {name: User(username=name, role=role, password_hash="x", display_name=name,
                         mobile=mobile)
              for name, role, mobile in (("agent", "agent", ""), ("agent2", "agent", ""),
                                         ("handler", "dept_handler", "13900000001"),
                                         ("head", "dept_head", ""), ("leader", "leader", ""))}
    db.add_all(people.values())
    await db.flush()
    return people


async def _setup(sessions: Sessions) -> tuple[int, int, dict[str, int]]:
    async with session_scope(sessions) as db:
        people = await _people(db)
        department = Department(name="立案庭", handler_id=people["handler"].id,
                                head_id=people["head"].id, leader_id=people["leader"].id)
        db.add(department)
        ticket = await create_ticket(db, "complaint", CALLER, None, text="立案窗口推诿",
                                     owner_id=people["agent"].id, now=FORWARDED)
        await db.flush()
        return ticket.id, department.id, {k: u.id for k, u in people.items()}


async def _forwarded(sessions: Sessions, settings: Settings) -> tuple[int, dict[str, int]]:
    ticket_id, department_id, ids = await _setup(sessions)
    async with session_scope(sessions) as db:
        ticket = await db.get(Ticket, ticket_id)
        department = await db.get(Department, department_id)
        assert ticket is not None and department is not None
        await tickets.forward(db, settings, ticket, department, ids["agent"], FORWARDED)
    return ticket_id, ids


async def _kinds(db: AsyncSession, ticket_id: int) -> list[str]:
    return [e.kind for e in await tickets.history(db, ticket_id)]


async def test_forwarding_sets_the_deadline_and_tells_the_handler(
        sessions: Sessions, settings: Settings) -> None:
    ticket_id, ids = await _forwarded(sessions, settings)

    async with session_scope(sessions) as db:
        ticket = await db.get(Ticket, ticket_id)
        assert ticket is not None
        assert ticket.assignee_id == ids["handler"] and ticket.forwarded_at == FORWARDED
        assert ticket.due_at == datetime(2026, 2, 24, 9, 30, tzinfo=UTC)  # 17:30, winter hours
        assert ticket.next_escalation_at == ticket.due_at and ticket.escalation_level == 0
        notice = (await db.execute(select(Notice))).scalar_one()
        assert notice.user_id == ids["handler"] and notice.kind == "forwarded"
        assert ticket.reference in notice.text and "立案庭" in notice.text
        staff, caller = (await db.execute(select(SmsMessage).order_by(SmsMessage.id))).scalars()
        assert staff.to_number == "13900000001" and staff.user_id == ids["handler"]
        # The caller is told too: the reference, the department, the deadline's date.
        assert (caller.to_number, caller.kind, caller.user_id) == (CALLER, "forwarded", None)
        assert caller.text == (f"【12368诉讼服务热线】您的事项（受理编号{ticket.reference}）"
                               "已转立案庭办理，将于2月24日前答复您。")
        assert caller.params == {"reference": ticket.reference, "department": "立案庭",
                                 "due": "2月24日", "court": "人民法院"}
        assert len(caller.text) <= 70  # one SMS
        assert await _kinds(db, ticket_id) == ["forwarded", "notified", "caller_told"]


async def test_closing_without_proof_is_refused_and_changes_nothing(
        sessions: Sessions, settings: Settings) -> None:
    ticket_id, ids = await _forwarded(sessions, settings)

    async with session_scope(sessions) as db:
        ticket = await db.get(Ticket, ticket_id)
        assert ticket is not None
        with pytest.raises(TicketRefused) as refused:
            await tickets.close(db, ticket, ids["handler"])
        assert refused.value.reason == "no_proof"
        # An SMS queued but not delivered is no proof either.
        await tickets.reply_by_sms(db, ticket, "已转立案庭核查。", ids["handler"])
        with pytest.raises(TicketRefused):
            await tickets.close(db, ticket, ids["handler"])
        assert ticket.status == "open" and ticket.next_escalation_at is not None


async def test_a_caller_on_a_fixed_line_is_answered_by_a_call_not_an_sms(
        sessions: Sessions, settings: Settings) -> None:
    ticket_id, ids = await _forwarded(sessions, settings)
    async with session_scope(sessions) as db:
        ticket = await db.get(Ticket, ticket_id)
        assert ticket is not None
        ticket.caller_number = "037965110002"
        with pytest.raises(TicketRefused) as refused:
            await tickets.reply_by_sms(db, ticket, "已转立案庭核查。", ids["handler"])
        assert refused.value.reason == "not_mobile"
        assert ticket.answer_sms_id is None
        # Only the handler's forwarding notice and the caller's forwarded SMS: no reply.
        sent = list((await db.execute(select(SmsMessage).order_by(SmsMessage.id))).scalars())
        assert [(m.user_id, m.kind) for m in sent] == [(ids["handler"], "notice"),
                                                 (None, "forwarded")]


async def test_a_delivered_reply_sms_closes_the_ticket_once(
        sessions: Sessions, settings: Settings) -> None:
    ticket_id, ids = await _forwarded(sessions, settings)
    async with session_scope(sessions) as db:
        ticket = await db.get(Ticket, ticket_id)
        assert ticket is not None
        message = await tickets.reply_by_sms(db, ticket, "已转立案庭核查。", ids["handler"],
                                             datetime(2026, 2, 14, 2, 0, tzinfo=UTC))
        message_id = message.id
    delivered = datetime(2026, 2, 14, 3, 0, tzinfo=UTC)

    async with session_scope(sessions) as db:
        message = await db.get(SmsMessage, message_id)
        assert message is not None and message.to_number == CALLER
        message.status, message.delivered_at = "delivered", delivered
        closed = await tickets.close_on_delivered(db, message)
        again = await tickets.close_on_delivered(db, message)

    assert closed is not None and closed.id == ticket_id and again is None
    async with session_scope(sessions) as db:
        ticket = await db.get(Ticket, ticket_id)
        assert ticket is not None and ticket.status == "closed"
        assert ticket.closed_at == ticket.answered_at == delivered
        assert ticket.next_escalation_at is None and ticket.answer_sms_id == message_id
        assert await _kinds(db, ticket_id) == ["forwarded", "notified", "caller_told", "replied",
                                               "closed", "caller_told"]
        closing = (await tickets.history(db, ticket_id))[-2]
        assert closing.detail["proof"] == "sms" and closing.detail["sms_id"] == message_id
        # closed, and asked to rate it, in one SMS
        told = (await db.execute(select(SmsMessage).where(
            SmsMessage.kind == "rating_ask"))).scalar_one()
        assert told.to_number == CALLER and "已于2月14日办结" in told.text
        # The agent who owns the matter (Art. 6) reads it in the console; no SMS for it.
        notice = (await db.execute(select(Notice).where(Notice.kind == "closed"))).scalar_one()
        assert notice.user_id == ids["agent"] and ticket.reference in notice.text
        assert "答复短信已送达" in notice.text
        assert not (await db.execute(select(SmsMessage).where(
            SmsMessage.user_id == ids["agent"]))).first()


async def test_an_answered_reply_call_closes_only_once_its_recording_is_complete(
        sessions: Sessions, settings: Settings) -> None:
    ticket_id, ids = await _forwarded(sessions, settings)
    async with session_scope(sessions) as db:
        await calls.ensure_call(db, "1771000000.7")
        await calls.add_recording(db, "1771000000.7", "2026/02/14/1771000000.7.wav")
        failed = await tickets.link_reply_call(db, ticket_id, "1771000000.8", "NOANSWER")
        linked = await tickets.link_reply_call(db, ticket_id, "1771000000.7", "ANSWER", "42")
        assert failed is not None and linked is not None
        assert linked.answer_call_id == "1771000000.7"

    async with session_scope(sessions) as db:
        ticket = await db.get(Ticket, ticket_id)
        assert ticket is not None
        with pytest.raises(TicketRefused):  # still recording
            await tickets.close(db, ticket, ids["handler"])
        await calls.finish_recording(db, "2026/02/14/1771000000.7.wav", "complete", 42.0, 672044)
        proof = await tickets.close(db, ticket, ids["handler"])

    assert proof.kind == "call" and proof.recording == "2026/02/14/1771000000.7.wav"
    async with session_scope(sessions) as db:
        kinds = await _kinds(db, ticket_id)
        assert kinds == ["forwarded", "notified", "caller_told", "call_failed", "call_answered",
                         "caller_told", "closed", "caller_told"]
        # The caller was told by SMS when the call answered them and when it closed; the
        # owner (not the handler, who did both) got a notice each time.
        told = (await db.execute(select(SmsMessage.kind).where(SmsMessage.to_number == CALLER)
                                 .order_by(SmsMessage.id))).scalars()
        # (then the rating question, an SMS of its own kind since issue 19)
        assert list(told) == ["forwarded", "answered", "rating_ask"]
        notices = (await db.execute(select(Notice.kind, Notice.user_id)
                                    .where(Notice.kind.in_(("answered", "closed"))))).all()
        assert sorted(notices) == [("answered", ids["agent"]), ("closed", ids["agent"])]
        with pytest.raises(TicketRefused) as refused:
            ticket = await db.get(Ticket, ticket_id)
            assert ticket is not None
            await tickets.reply_by_sms(db, ticket, "再次答复", ids["handler"])
        assert refused.value.reason == "closed"


async def test_agents_take_after_hours_tickets_in_callers_order_and_never_the_same(
        sessions: Sessions) -> None:
    async with session_scope(sessions) as db:
        people = await _people(db)
        first = await create_ticket(db, "callback", "13800000001", None,
                                    now=datetime(2026, 2, 13, 14, 0, tzinfo=UTC))
        second = await create_ticket(db, "suggestion", "13800000002", None,
                                     now=datetime(2026, 2, 13, 15, 0, tzinfo=UTC))
        await create_ticket(db, "consultation", "", None, subtype="duty_judge",
                            owner_id=None)  # a question to the judge: never a callback
        agent, agent2 = people["agent"].id, people["agent2"].id
        assert [t.id for t in await tickets.callback_list(db)] == [first.id, second.id]

    async with session_scope(sessions) as db:
        taken = await tickets.take_next(db, agent)
        with pytest.raises(TicketRefused) as refused:
            await tickets.pick_up(db, first.id, agent2)
        assert refused.value.reason == "taken"
        taken2 = await tickets.take_next(db, agent2)
        nothing = await tickets.take_next(db, agent2)

    assert taken is not None and taken.id == first.id and taken.owner_id == agent
    assert taken2 is not None and taken2.id == second.id and taken2.owner_id == agent2
    assert nothing is None
    async with session_scope(sessions) as db:
        events = (await db.execute(select(TicketEvent).order_by(TicketEvent.id))).scalars()
        assert [(e.ticket_id, e.kind, e.actor_id) for e in events] == [
            (first.id, "picked_up", agent), (second.id, "picked_up", agent2)]


async def test_a_call_logs_matter_becomes_one_ticket_owned_by_the_agent(
        sessions: Sessions) -> None:
    async with session_scope(sessions) as db:
        people = await _people(db)
        log = CallLog(owner_id=people["agent"].id, caller_name="赵六", caller_kind="party",
                      contact=CALLER, category="appointment", question="预约立案",
                      outcome="forwarded")
        db.add(log)
        await db.flush()
        ticket = await tickets.ticket_for_call_log(db, log)
        again = await tickets.ticket_for_call_log(db, log)

    assert again.id == ticket.id and log.ticket_id == ticket.id
    assert (ticket.type, ticket.caller_number, ticket.text) == ("appointment", CALLER, "预约立案")
    assert ticket.owner_id == people["agent"].id


async def test_forwarding_to_a_department_without_handler_is_refused(
        sessions: Sessions, settings: Settings) -> None:
    ticket_id, _department_id, ids = await _setup(sessions)
    async with session_scope(sessions) as db:
        empty = Department(name="无人部门")
        db.add(empty)
        ticket = await db.get(Ticket, ticket_id)
        assert ticket is not None
        with pytest.raises(TicketRefused) as refused:
            await tickets.forward(db, settings, ticket, empty, ids["agent"])
    assert refused.value.reason == "no_handler"


async def test_forwarding_again_after_督办_goes_on_to_the_leader(
        sessions: Sessions, settings: Settings) -> None:
    """A ticket pushed to the head and then sent to the right department gets that
    department's 2 working days; if those pass too, the leader is told (level 2)."""
    ticket_id, ids = await _forwarded(sessions, settings)
    overdue = datetime(2026, 2, 24, 10, 0, tzinfo=UTC)
    await run_pass(sessions, settings, overdue)
    async with session_scope(sessions) as db:
        ticket = await db.get(Ticket, ticket_id)
        department = Department(name="民一庭", handler_id=ids["handler"], head_id=ids["head"],
                                leader_id=ids["leader"])
        db.add(department)
        await db.flush()
        assert ticket is not None and ticket.escalation_level == 1
        await tickets.forward(db, settings, ticket, department, ids["agent"], overdue)
        new_due = ticket.due_at
        assert ticket.escalation_level == 1 and ticket.next_escalation_at == new_due

    assert new_due is not None
    await run_pass(sessions, settings, new_due)
    async with session_scope(sessions) as db:
        ticket = await db.get(Ticket, ticket_id)
        leader_notices = list((await db.execute(select(Notice).where(
            Notice.user_id == ids["leader"]))).scalars())
    assert ticket is not None and ticket.escalation_level == 2
    assert ticket.next_escalation_at is None
    assert len(leader_notices) == 1
    # The agent who owns the matter (Art. 6) learns of each push, in the console.
    async with session_scope(sessions) as db:
        owner = list((await db.execute(select(Notice.text).where(
            Notice.user_id == ids["agent"], Notice.kind == "escalated")
            .order_by(Notice.id))).scalars())
    assert len(owner) == 2 and "部门负责人" in owner[0] and "分管院领导" in owner[1]


async def test_callbacks_are_shared_out_among_signed_in_agents_in_office_hours(
        sessions: Sessions, settings: Settings) -> None:
    monday = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 09:00 in Beijing, a working day
    sunday = datetime(2026, 3, 1, 1, 0, tzinfo=UTC)
    async with session_scope(sessions) as db:
        people = await _people(db)
        # each on a seat of their own: a sign-in on a seat signs out whoever was on it
        for name, seat in (("agent", "8001"), ("agent2", "8002")):
            await presence.set_presence(db, people[name].id, seat, presence.READY, "", sunday)
        made = [await create_ticket(db, "callback", CALLER, None, now=sunday)
                for _ in range(3)]
        consultation = await create_ticket(db, "consultation", CALLER, None,
                                           subtype=tickets.JUDGE_SUBTYPE, now=sunday)
        await state.set_state(db, hours.MODE_KEY, "auto")
        ids = {k: u.id for k, u in people.items()}

    async with session_scope(sessions) as db:
        assert await tickets.share_out_callbacks(db, settings, sunday) == {}, "closed: wait"
    async with session_scope(sessions) as db:
        given = await tickets.share_out_callbacks(db, settings, monday)
    async with session_scope(sessions) as db:
        again = await tickets.share_out_callbacks(db, settings, monday)
        owners = {t.reference: t.owner_id for t in (await db.execute(select(Ticket))).scalars()}
        notices = list((await db.execute(select(Notice).where(
            Notice.kind == "callbacks"))).scalars())

    # In the callers' order, the least loaded agent first: 2 and 1.
    assert given == {ids["agent"]: [made[0].reference, made[2].reference],
                     ids["agent2"]: [made[1].reference]}
    assert again == {}, "what is shared out stays with its agent"
    assert owners[consultation.reference] is None, "questions to the judge are not callbacks"
    assert sorted(n.user_id for n in notices) == sorted([ids["agent"], ids["agent2"]])
