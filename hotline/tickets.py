"""The life of a matter after the call (Art. 5(3)-(6), 6, 8): forwarded to a department,
answered by the handler by phone or SMS, closed only with proof the caller was answered.

Every step writes a TicketEvent, so the owner agent reads the whole history (Art. 6):

    await forward(session, settings, ticket, department, by_user_id=agent.id)
    await reply_by_sms(session, ticket, "您反映的事项已处理……", by_user_id=handler.id)
    ...  # the SMS driver marks the message delivered, then calls close_on_delivered
    await close(session, ticket, by_user_id=handler.id)   # TicketRefused("no_proof") if none

Refusals carry a reason code; the console words them (agent_console.texts).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hotline import caller_sms, ratings
from hotline.catalog import TICKET_TYPES
from hotline.db import calls
from hotline.db import courts as courts_db
from hotline.db import presence as presence_db
from hotline.db.base import utcnow
from hotline.db.departments import department_named
from hotline.db.models import (
    CallLog,
    Department,
    Recording,
    SmsMessage,
    Ticket,
    TicketEvent,
    User,
)
from hotline.db.sms import queue_sms
from hotline.db.tickets import JUDGE_SUBTYPE as JUDGE_SUBTYPE
from hotline.db.tickets import OPEN, callbacks_list, create_ticket
from hotline.deadlines import deadlines_from
from hotline.hours import hotline_open
from hotline.notify import notify
from hotline.phonenumbers import is_mobile
from hotline.recording_access import REPLY_CALL_EVENT
from hotline.settings import Settings, load_settings
from hotline.sms import templates
from hotline.timefmt import iso, local_time

CLOSED = "closed"
DELIVERED = "delivered"
COMPLETE = "complete"
REPLY_LIMIT = 500
# The dialplan's DIALSTATUS when the caller picked up the reply call.
ANSWERED_DIALSTATUS = "ANSWER"
# Questions an agent sent to the duty judge (hotline.db.consultations) are the agent's own
# business, never a callback nor forwarded: JUDGE_SUBTYPE, imported from hotline.db.tickets
# where the lists leave them out.

# TicketEvent kinds.
FORWARDED, NOTIFIED, PICKED_UP, REPLIED = "forwarded", "notified", "picked_up", "replied"
REPLY_CALL, REPLY_CALL_ANSWERED, REPLY_CALL_FAILED = "reply_call", "call_answered", "call_failed"
CLOSED_EVENT, CREATED = "closed", "created"
CALLER_TOLD = "caller_told"  # an SMS to the caller about the matter (hotline.caller_sms)
CONFIDENTIAL = "confidential"

# What staff are told when a matter reaches them (the SMS and the console notice).
FORWARD_NOTICE = "12368热线转办事项{reference}（{type}）已转至{department}，请于{due}前答复来电人。"
# What the agent who owns a matter (Art. 6) reads in the console when it moves on.
OWNER_NOTICES = {
    "answered": "您负责的事项{reference}（{type}）已由{department}电话答复来电人。",
    "closed": "您负责的事项{reference}（{type}）已办结（{proof}）。",
    "escalated": "您负责的事项{reference}（{type}）超过答复期限，已报{role}督办。",
}
PROOF_LABELS = {"call": "电话答复有录音", "sms": "答复短信已送达", "system": "对接系统记录了答复"}
# Issue 19: a court system's answer (inbound API) is a proof like the others; a matter
# answered outside the hotline (the judge's own phone) is closed by a head or an
# administrator with a reason and what proves it, counted apart (close_kind).
ANSWERED_SYSTEM, CLOSED_OUTSIDE = "answered_system", "closed_outside"
OUTSIDE = "outside"


class TicketRefused(Exception):
    """A step that cannot be done. reason: closed, no_proof, taken, no_number, not_mobile,
    no_handler, not_found, confidential (forwarded anywhere but the discipline department)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Proof:
    kind: str  # call | sms | system
    call_id: str | None = None
    sms_id: int | None = None
    recording: str = ""
    reference: str = ""  # system: "<system>:<its reference of the message or call>"


def _event(session: AsyncSession, ticket: Ticket, kind: str, actor_id: int | None,
           at: datetime, **detail: object) -> None:
    session.add(TicketEvent(ticket_id=ticket.id, kind=kind, actor_id=actor_id, at=at,
                            detail=detail))


def _open(ticket: Ticket) -> None:
    if ticket.status == CLOSED:
        raise TicketRefused("closed")


# --- forwarding -------------------------------------------------------------------------

async def forward(session: AsyncSession, settings: Settings, ticket: Ticket,
                  department: Department, by_user_id: int | None,
                  now: datetime | None = None, note: str = "") -> Ticket:
    """Send the matter to the department's handler with a fresh 2-working-day deadline.

    Forwarding again (e.g. to the right department) gives the new handler their own 2
    working days, but the escalation already reached stands: a ticket pushed to a head
    (督办) goes to the next level, the leader, if this deadline passes too. Each level is
    notified once per ticket (the escalations table), so starting again from 0 would
    silence it."""
    _open(ticket)
    if ticket.confidential and department.name != settings.court.discipline_department:
        raise TicketRefused("confidential")
    handler = await session.get(User, department.handler_id) if department.handler_id else None
    if handler is None or not handler.active:
        raise TicketRefused("no_handler")
    now = now or utcnow()
    deadlines = await deadlines_from(session, settings, now)
    due = deadlines.due_after(now)
    ticket.department_id, ticket.assignee_id, ticket.forwarded_at = department.id, handler.id, now
    # a matter forwarded to a court's department is that court's (its views, its 督办 chain)
    ticket.court_id = department.court_id
    ticket.due_at = due
    ticket.next_escalation_at = deadlines.next_step(ticket.escalation_level, now)
    _event(session, ticket, FORWARDED, by_user_id, now, department_id=department.id,
           department=department.name, handler_id=handler.id, due_at=iso(due), note=note)
    text = FORWARD_NOTICE.format(reference=ticket.reference, department=department.name,
                                 type=TICKET_TYPES.get(ticket.type, ticket.type),
                                 due=local_time(due, settings.hours.timezone))
    told = await notify(session, handler, FORWARDED, text, ticket.id)
    _event(session, ticket, NOTIFIED, by_user_id, now, user_id=handler.id,
           notice_id=told.notice_id, sms_id=told.sms_id, reason=FORWARDED)
    await tell_caller(session, settings, ticket, caller_sms.FORWARDED, by_user_id, now,
                      department=department.name,
                      due=caller_sms.day(due, settings.hours.timezone))
    await session.flush()
    return ticket


async def tell_caller(session: AsyncSession, settings: Settings, ticket: Ticket, kind: str,
                      by_user_id: int | None, now: datetime, **values: str) -> None:
    """The caller's SMS of this step (Art. 5(3)-(5)), noted in the matter's history; nothing
    when they have no mobile or the court turned the kind off."""
    message = await caller_sms.tell(session, settings, ticket, kind, **values)
    if message is not None:
        _event(session, ticket, CALLER_TOLD, by_user_id, now, sms_kind=kind,
               sms_id=message.id)


async def tell_owner(session: AsyncSession, ticket: Ticket, kind: str,
                     by_user_id: int | None, **values: str) -> None:
    """A console notice to the agent who owns the matter (Art. 6), unless they did it
    themselves. No SMS: the owner follows up from the console."""
    if ticket.owner_id is None or ticket.owner_id == by_user_id:
        return
    if ticket.confidential:  # once filed, the discipline department's alone (issue 15)
        return
    owner = await session.get(User, ticket.owner_id)
    if owner is None or not owner.active:
        return
    text = OWNER_NOTICES[kind].format(reference=ticket.reference,
                                      type=TICKET_TYPES.get(ticket.type, ticket.type), **values)
    await notify(session, owner, kind, text, ticket.id, by_sms=False)


async def department_name(session: AsyncSession, ticket: Ticket) -> str:
    department = (await session.get(Department, ticket.department_id)
                  if ticket.department_id else None)
    return department.name if department is not None else ""


async def log_court(session: AsyncSession, case_number: str) -> int:
    """The court a call log's matter belongs to unless the agent picked one: the court its
    case number names (豫0302: that basic court's), else the centre's."""
    court = (await courts_db.court_for_case(session, case_number)
             or await courts_db.centre_court(session))
    return court.id


async def ticket_for_call_log(session: AsyncSession, log: CallLog,
                              now: datetime | None = None) -> Ticket:
    """The ticket of a call log's matter, created on first use (the agent owns both)."""
    if log.ticket_id is not None:
        found = await session.get(Ticket, log.ticket_id)
        if found is not None:
            return found
    kind = log.category if log.category in TICKET_TYPES else "consultation"
    court_id = log.court_id or await log_court(session, log.case_number)
    ticket = await create_ticket(session, kind, log.contact, log.call_id, text=log.question,
                                 detail={"call_log": str(log.id)}, now=now,
                                 owner_id=log.owner_id, court_id=court_id)
    log.ticket_id = ticket.id
    _event(session, ticket, CREATED, log.owner_id, now or utcnow(), call_log_id=log.id)
    await session.flush()
    return ticket


async def make_confidential(session: AsyncSession, settings: Settings, ticket: Ticket,
                            by_user_id: int | None, accused_department_id: int | None = None,
                            now: datetime | None = None) -> Ticket:
    """A complaint about the court's staff (issue 15): confidential from now on
    (hotline.confidential), and forwarded to the discipline department the court names.
    Without that department (or its handler) it waits, seen by administrators only, for
    one of them to forward it; the caller's matter is kept either way."""
    ticket.confidential, ticket.accused_department_id = True, accused_department_id
    # the matter's court's discipline department, else the centre's (names are per court)
    department = await department_named(session, settings.court.discipline_department,
                                        ticket.court_id)
    _event(session, ticket, CONFIDENTIAL, by_user_id, now or utcnow())
    if department is None:
        await session.flush()
        return ticket
    try:
        async with session.begin_nested():
            return await forward(session, settings, ticket, department, by_user_id, now)
    except TicketRefused:
        await session.flush()
        return ticket


# --- the after-hours callback list ------------------------------------------------------

async def callback_list(session: AsyncSession, limit: int = 200) -> list[Ticket]:
    """Matters left with the voice menu (callback requests, messages) that no agent has
    taken yet, in the callers' order."""
    query = callbacks_list().limit(limit)
    return list((await session.execute(query)).scalars())


async def pick_up(session: AsyncSession, ticket_id: int, agent_id: int,
                  now: datetime | None = None) -> Ticket:
    """The agent becomes the owner of an unowned matter; TicketRefused("taken") when another
    agent was first (the conditional UPDATE decides between two clicks)."""
    now = now or utcnow()
    done = await session.execute(
        update(Ticket).where(Ticket.id == ticket_id, Ticket.owner_id.is_(None),
                             Ticket.status == OPEN)
        .values(owner_id=agent_id).execution_options(synchronize_session=False))
    ticket = await session.get(Ticket, ticket_id, populate_existing=True)
    if ticket is None:
        raise TicketRefused("not_found")
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise TicketRefused("taken")
    _event(session, ticket, PICKED_UP, agent_id, now)
    await session.flush()
    return ticket


async def take_next(session: AsyncSession, agent_id: int, now: datetime | None = None
                    ) -> Ticket | None:
    """The first matter of the callback list, now the agent's; None when the list is empty.
    Agents who click at once each get a different one."""
    for ticket in await callback_list(session, limit=20):
        try:
            return await pick_up(session, ticket.id, agent_id, now)
        except TicketRefused:
            continue
    return None


SHARE_NOTICE = "今日回电待办：已为您分配{count}条来电留言/回电请求，请在“我的工单”中处理。"


async def share_out_callbacks(session: AsyncSession, settings: Settings, now: datetime
                              ) -> dict[int, list[str]]:
    """In office hours, give every matter of the callback list to an agent signed in to
    the queue, the least loaded first, in the callers' order; each agent is told once per
    share-out. Returns agent id -> the references they were given (empty: nothing to do).

    Runs every minute (scheduler/jobs.py): the first run after opening shares out what
    came in after hours; later ones, what came in since. An agent who clicked 领取下一条
    first keeps what they took (pick_up's conditional update decides)."""
    if not await hotline_open(session, settings, now):
        return {}
    agents = [user for row, user in await presence_db.signed_in(session)
              if user.role == "agent"]
    waiting = await callback_list(session, limit=500)
    if not agents or not waiting:
        return {}
    counted = await session.execute(
        select(Ticket.owner_id, func.count()).where(
            Ticket.owner_id.in_([a.id for a in agents]), Ticket.status == OPEN)
        .group_by(Ticket.owner_id))
    load: dict[int, int] = {owner: count for owner, count in counted.all() if owner is not None}
    given: dict[int, list[str]] = {}
    for ticket in waiting:
        agent = min(agents, key=lambda a: (load.get(a.id, 0), a.id))
        try:
            await pick_up(session, ticket.id, agent.id, now)
        except TicketRefused:
            continue
        load[agent.id] = load.get(agent.id, 0) + 1
        given.setdefault(agent.id, []).append(ticket.reference)
    for agent in agents:
        if agent.id in given:
            await notify(session, agent, "callbacks",
                         SHARE_NOTICE.format(count=len(given[agent.id])))
    return given


# --- replies and proof ------------------------------------------------------------------

async def reply_by_sms(session: AsyncSession, ticket: Ticket, text: str,
                       by_user_id: int | None, now: datetime | None = None) -> SmsMessage:
    """Queue the reply to the caller's number; the ticket closes when it is delivered."""
    _open(ticket)
    if not ticket.caller_number:
        raise TicketRefused("no_number")
    if not is_mobile(ticket.caller_number):
        raise TicketRefused("not_mobile")  # a fixed line: the reply goes by a call
    now = now or utcnow()
    message = await queue_sms(session, ticket.caller_number, text, call_id=ticket.call_id,
                              ticket_id=ticket.id, kind=templates.REPLY,
                              params={"text": text, "reference": ticket.reference})
    ticket.answer_sms_id, ticket.reply_text = message.id, text
    _event(session, ticket, REPLIED, by_user_id, now, channel="sms", sms_id=message.id)
    await session.flush()
    return message


async def note_reply_call(session: AsyncSession, ticket: Ticket, by_user_id: int,
                          extension: str, now: datetime | None = None) -> None:
    """The handler asked the PBX to ring their phone and then the caller."""
    _open(ticket)
    if not ticket.caller_number:
        raise TicketRefused("no_number")
    _event(session, ticket, REPLY_CALL, by_user_id, now or utcnow(), extension=extension)
    await session.flush()


async def link_reply_call(session: AsyncSession, ticket_id: int, call_id: str,
                          dial_status: str, talked_seconds: str = "",
                          at: datetime | None = None, staff: str = "",
                          settings: Settings | None = None) -> Ticket | None:
    """Record how a reply call ended (dialplan/reply.conf's HotlineReply event): answered by
    the caller, the call becomes the ticket's answer, and the caller (by SMS) and the owner
    are told; otherwise the attempt is noted. staff is the console user the PBX rang for it
    (the id the console set on the Originate): the call is theirs to hear
    (hotline.recording_access)."""
    ticket = await session.get(Ticket, ticket_id)
    if ticket is None:
        return None
    at = at or utcnow()
    await calls.ensure_call(session, call_id, caller_number=ticket.caller_number)
    if staff.isdigit():
        await calls.add_event(session, call_id, REPLY_CALL_EVENT,
                              {"user_id": staff, "ticket": str(ticket.id)}, at)
    if dial_status == ANSWERED_DIALSTATUS:
        ticket.answer_call_id = call_id
        _event(session, ticket, REPLY_CALL_ANSWERED, None, at, call_id=call_id,
               seconds=talked_seconds)
        await _told_answered(session, settings or load_settings(), ticket, at,
                             int(staff) if staff.isdigit() else None)
    else:
        _event(session, ticket, REPLY_CALL_FAILED, None, at, call_id=call_id,
               status=dial_status)
    await session.flush()
    return ticket


async def _told_answered(session: AsyncSession, settings: Settings, ticket: Ticket,
                         at: datetime, by_user_id: int | None) -> None:
    department = await department_name(session, ticket)
    await tell_caller(session, settings, ticket, caller_sms.ANSWERED, by_user_id, at,
                      department=department, date=caller_sms.day(at, settings.hours.timezone))
    await tell_owner(session, ticket, "answered", by_user_id, department=department)


async def proof_of_answer(session: AsyncSession, ticket: Ticket) -> Proof | None:
    """A complete recording of the linked reply call, or a delivered reply SMS."""
    if ticket.answer_call_id:
        query = select(Recording.path).where(Recording.call_id == ticket.answer_call_id,
                                             Recording.kind == "call",
                                             Recording.status == COMPLETE)
        path = (await session.execute(query.limit(1))).scalar_one_or_none()
        if path is not None:
            return Proof("call", call_id=ticket.answer_call_id, recording=path)
    if ticket.answer_sms_id:
        message = await session.get(SmsMessage, ticket.answer_sms_id)
        if message is not None and (message.status == DELIVERED or message.delivered_at):
            return Proof("sms", sms_id=message.id)
    if ticket.answer_ref:
        return Proof("system", reference=ticket.answer_ref)
    return None


async def close(session: AsyncSession, ticket: Ticket, by_user_id: int | None,
                now: datetime | None = None, settings: Settings | None = None) -> Proof:
    """Close the matter, which stops its escalation; TicketRefused("no_proof") unless the
    caller was demonstrably answered. The caller (by SMS) and the owner are told. settings:
    the process's own when not given (the SMS delivery hook has none to pass)."""
    _open(ticket)
    proof = await proof_of_answer(session, ticket)
    if proof is None:
        raise TicketRefused("no_proof")
    now = now or utcnow()
    ticket.status, ticket.closed_at, ticket.next_escalation_at = CLOSED, now, None
    ticket.answered_at = ticket.answered_at or now
    _event(session, ticket, CLOSED_EVENT, by_user_id, now, proof=proof.kind,
           call_id=proof.call_id, sms_id=proof.sms_id, recording=proof.recording,
           **({"reference": proof.reference} if proof.reference else {}))
    settings = settings or load_settings()
    told = {"department": await department_name(session, ticket),
            "date": caller_sms.day(now, settings.hours.timezone)}
    # Answered: one SMS tells the caller it is closed and asks them to rate it; the plain
    # closing SMS when they cannot be asked (the question turned off).
    rating = await ratings.ask_by_sms(session, settings, ticket, now, **told)
    if rating is not None:
        _event(session, ticket, CALLER_TOLD, by_user_id, now, sms_kind=caller_sms.RATING_ASK,
               sms_id=rating.ask_sms_id)
    else:
        await tell_caller(session, settings, ticket, caller_sms.CLOSED, by_user_id, now,
                          **told)
    await tell_owner(session, ticket, "closed", by_user_id,
                     proof=PROOF_LABELS.get(proof.kind, proof.kind))
    await session.flush()
    return proof


async def close_on_delivered(session: AsyncSession, message: SmsMessage) -> Ticket | None:
    """The SMS delivery hook: a delivered reply closes its ticket (once). None when the
    message answers no open ticket."""
    query = select(Ticket).where(Ticket.answer_sms_id == message.id, Ticket.status == OPEN)
    ticket = (await session.execute(query)).scalar_one_or_none()
    if ticket is None:
        return None
    try:
        await close(session, ticket, None, message.delivered_at or utcnow())
    except TicketRefused:
        return None  # not delivered after all (a receipt for another state)
    return ticket


# --- the court's systems, and answers outside the hotline (issue 19) --------------------

async def create_for_system(session: AsyncSession, system: str, kind: str, caller_number: str,
                            text: str, reference: str = "", now: datetime | None = None
                            ) -> Ticket:
    """A matter a court system raised (诉讼服务网's online messages), made as a call log's
    matter is, its source the system's name; ValueError for an unknown type."""
    now = now or utcnow()
    detail = {"source": system, **({"system_ref": reference} if reference else {})}
    ticket = await create_ticket(session, kind, caller_number, None, text=text, detail=detail,
                                 now=now)
    _event(session, ticket, CREATED, None, now, system=system, reference=reference)
    await session.flush()
    return ticket


async def answer_from_system(session: AsyncSession, settings: Settings, ticket: Ticket,
                             system: str, reference: str, text: str, channel: str,
                             now: datetime | None = None) -> Proof:
    """A court system answered the caller (a message or a call made there): its reference
    is the proof, and the matter closes with it as with a delivered SMS."""
    _open(ticket)
    now = now or utcnow()
    ticket.answer_ref = f"{system}:{reference}"[:200]
    ticket.reply_text, ticket.answered_at = text or ticket.reply_text, now
    _event(session, ticket, ANSWERED_SYSTEM, None, now, system=system, reference=reference,
           channel=channel)
    return await close(session, ticket, None, now, settings)


async def close_outside(session: AsyncSession, settings: Settings, ticket: Ticket,
                        by_user_id: int, reason: str, proof: str, attachment: str = "",
                        now: datetime | None = None) -> Ticket:
    """Close a matter answered outside the hotline (the judge called the party from their
    own phone): no proof the hotline holds, so a head or an administrator (hotline.access
    may_close_outside) writes why and what proves it. Its escalation stops now; reports
    count it apart (close_kind "outside")."""
    _open(ticket)
    now = now or utcnow()
    ticket.status, ticket.closed_at, ticket.next_escalation_at = CLOSED, now, None
    ticket.close_kind, ticket.answered_at = OUTSIDE, ticket.answered_at or now
    _event(session, ticket, CLOSED_OUTSIDE, by_user_id, now, proof=OUTSIDE, reason=reason,
           evidence=proof, attachment=attachment)
    await tell_caller(session, settings, ticket, caller_sms.CLOSED, by_user_id, now,
                      department=await department_name(session, ticket),
                      date=caller_sms.day(now, settings.hours.timezone))
    await tell_owner(session, ticket, "closed", by_user_id, proof="系统外答复")
    await session.flush()
    return ticket


# --- lists ------------------------------------------------------------------------------

async def history(session: AsyncSession, ticket_id: int) -> list[TicketEvent]:
    query = (select(TicketEvent).where(TicketEvent.ticket_id == ticket_id)
             .order_by(TicketEvent.at, TicketEvent.id))
    return list((await session.execute(query)).scalars())
