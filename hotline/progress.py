"""How a matter is going, asked by its reference (issue 15; Art. 5(3)-(5): 告知当事人).

A caller keys the reference they were told (受理编号). References are a date and a daily
count, easy to guess, so the state is told only to the number that raised the matter;
asked from any other phone, it goes by SMS to that number instead, at most once in
SMS_EVERY per matter, so nobody can flood a caller with texts by keying their reference.

    found = await find(session, "2612010001")
    if found and may_hear(found, caller_number): ...           # read it out
    else: await send_by_sms(session, settings, found, now)     # to the matter's number

By SMS the same: a caller who texts the reference (alone, or after 进度/查询) to the court's
number gets the state back, or, from another phone, it goes to the matter's number
(take_sms_query, an inbound SMS hook the scheduler's sms job registers).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from hotline import caller_sms
from hotline.callid import known_number
from hotline.cases import same_phone
from hotline.db.models import Department, SmsMessage, Ticket
from hotline.db.sms import REPLIED
from hotline.settings import Settings, load_settings

RECEIVED, FORWARDED, ANSWERED = "received", "forwarded", "answered"
SMS_KINDS = {RECEIVED: caller_sms.PROGRESS_RECEIVED, FORWARDED: caller_sms.PROGRESS_FORWARDED,
             ANSWERED: caller_sms.PROGRESS_ANSWERED}
# Ticket statuses that mean the caller was answered (the voice menu answers case queries).
DONE = ("closed", "answered")
# YYMMDD and a daily count of at least 4 digits (hotline.db.tickets).
REFERENCE = re.compile(r"\d{10,12}")
SMS_EVERY = timedelta(hours=24)
# An SMS asking a matter's progress: the reference alone, or after 进度 / 查询 / 查询进度.
SMS_QUERY = re.compile(r"(?:查询|进度|查询进度|办理进度)?[:：]?(\d{10,12})")
_FULL_WIDTH = str.maketrans("０１２３４５６７８９：", "0123456789:")


@dataclass(frozen=True)
class Progress:
    ticket_id: int
    reference: str
    state: str  # received | forwarded | answered
    at: datetime  # when it reached that state
    department: str = ""
    due: datetime | None = None
    caller_number: str = ""


def valid_reference(keyed: str) -> bool:
    return bool(REFERENCE.fullmatch(keyed))


async def find(session: AsyncSession, reference: str) -> Progress | None:
    """The matter with this reference, or None. One indexed read."""
    if not valid_reference(reference):
        return None
    query = (select(Ticket, Department.name).where(Ticket.reference == reference)
             .outerjoin(Department, Department.id == Ticket.department_id))
    row = (await session.execute(query)).first()
    return of_ticket(row[0], row[1] or "") if row is not None else None


def of_ticket(ticket: Ticket, department: str) -> Progress:
    if ticket.status in DONE:
        at = ticket.answered_at or ticket.closed_at or ticket.created_at
        return Progress(ticket.id, ticket.reference, ANSWERED, at, department,
                        caller_number=ticket.caller_number)
    if ticket.forwarded_at is not None:
        return Progress(ticket.id, ticket.reference, FORWARDED, ticket.forwarded_at,
                        department, ticket.due_at, ticket.caller_number)
    return Progress(ticket.id, ticket.reference, RECEIVED, ticket.created_at, department,
                    caller_number=ticket.caller_number)


def may_hear(progress: Progress, number: str) -> bool:
    """Whether a call from `number` may hear the state: the number that raised it (however
    written); never a withheld one, which every anonymous caller shares."""
    return (known_number(number) and known_number(progress.caller_number)
            and same_phone(number, progress.caller_number))


async def send_by_sms(session: AsyncSession, settings: Settings, progress: Progress,
                      now: datetime, call_id: str | None = None,
                      limited: bool = True) -> SmsMessage | None:
    """Queue the state as an SMS to the number that raised the matter. None when it has
    no mobile, or (limited: asked from another phone) one went out within SMS_EVERY."""
    if limited and await _sent_lately(session, progress.ticket_id, now):
        return None
    ticket = await session.get(Ticket, progress.ticket_id)
    if ticket is None:
        return None
    zone = settings.hours.timezone
    values = {"date": caller_sms.day(progress.at, zone)}
    if progress.state != RECEIVED:
        values["department"] = progress.department
    if progress.state == FORWARDED:
        values["due"] = caller_sms.day(progress.due, zone)
    return await caller_sms.tell(session, settings, ticket, SMS_KINDS[progress.state],
                                 call_id=call_id, **values)


async def _sent_lately(session: AsyncSession, ticket_id: int, now: datetime) -> bool:
    query = select(exists().where(SmsMessage.ticket_id == ticket_id,
                                  SmsMessage.kind.in_(SMS_KINDS.values()),
                                  SmsMessage.created_at > now - SMS_EVERY))
    return bool((await session.execute(query)).scalar())


async def take_sms_query(session: AsyncSession, message: SmsMessage,
                         settings: Settings | None = None) -> bool:
    """The inbound SMS hook: a text naming a matter's reference gets its progress by SMS
    (to the sender when it is the matter's number, else to that number, limited), and
    needs no agent's reply. Anything else, or a reference of no matter, is left to the
    inbox (False)."""
    text = "".join(message.text.translate(_FULL_WIDTH).split())
    match = SMS_QUERY.fullmatch(text)
    found = await find(session, match.group(1)) if match else None
    if found is None:
        return False
    own = may_hear(found, message.from_number)
    await send_by_sms(session, settings or load_settings(), found, message.created_at,
                      limited=not own)
    message.status, message.ticket_id = REPLIED, found.ticket_id
    message.handled_at = message.created_at
    return True
