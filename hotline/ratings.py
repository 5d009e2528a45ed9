"""Satisfaction ratings (满意度评价): what a rating is, how it is taken, what it sets off.

Two ways in, one table (hotline.db.models.Rating):

- **On the phone**, after a seat's call: when the agent hangs up first and the caller is
  still on the line, the voice menu asks for one key (ivr/modules/rating.py). rate_call
  stores it behind the call, on the bridge's writer, for the seat that answered and the
  matter the call raised (if one is filed by then). One per call.
- **By SMS**, once a matter is answered (its reply SMS delivered, or its recorded reply
  call closing it): ask_by_sms texts the caller that it is closed and asks them to reply
  1, 2 or 3, in the one closing SMS (hotline.caller_sms RATING_ASK). take_sms_reply, an
  inbound SMS hook, takes such a reply as the rating of the newest ask sent to that number
  within ASK_VALID, if that ask is not answered yet; any other SMS is an SMS as before.

不满意 leaves a notice (and an SMS, hotline.notify) with every active administrator of
the centre, to review the call or the matter. docs/metrics.md says what the figures count.
"""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from hotline import caller_sms
from hotline.db import calls as calls_db
from hotline.db import ratings as ratings_db
from hotline.db.models import Call, Rating, SmsMessage, Ticket, TicketEvent, User
from hotline.db.sms import number_variants
from hotline.notify import notify
from hotline.privacy import mask_phone
from hotline.settings import Settings
from hotline.timefmt import local_time

log = logging.getLogger(__name__)

SATISFIED, BASIC, UNSATISFIED = 1, 2, 3
LABELS = {SATISFIED: "满意", BASIC: "基本满意", UNSATISFIED: "不满意"}
CALL, SMS = ratings_db.CALL, ratings_db.SMS
# How long an SMS ask waits for its answer.
ASK_VALID = timedelta(days=7)
# An inbound SMS taken as a rating: nobody needs to answer it (not in the SMS inbox).
RATED_SMS = "rated"
# The matter's history step (TicketEvent.kind) and the administrators' notice kind.
RATED_EVENT = NOTICE_KIND = "rated"

REVIEW_CALL = "来电人对座席员{agent}接听的通话{call}评价为“不满意”，请复核该通话及录音。"
REVIEW_TICKET = "来电人对事项{reference}的办理评价为“不满意”（短信评价），请复核。"


@dataclass(frozen=True)
class Tally:
    """Ratings of one seat or department: how many of each, and the satisfaction rate."""

    satisfied: int = 0
    basic: int = 0
    unsatisfied: int = 0

    @property
    def total(self) -> int:
        return self.satisfied + self.basic + self.unsatisfied

    @property
    def rate(self) -> float | None:
        """满意率: 满意 and 基本满意 over all ratings given; None without any.

        >>> Tally(satisfied=6, basic=2, unsatisfied=2).rate
        0.8
        """
        return (self.satisfied + self.basic) / self.total if self.total else None

    @classmethod
    def of(cls, counts: dict[int, int]) -> Tally:
        return cls(counts.get(SATISFIED, 0), counts.get(BASIC, 0), counts.get(UNSATISFIED, 0))


def score_of(text: str) -> int | None:
    """The score a caller keyed or texted: 1, 2 or 3 alone (full-width digits and a
    trailing full stop allowed); None for anything else.

    >>> [score_of(t) for t in ("1", " ３。", "2 ", "4", "1 满意", "")]
    [1, 3, 2, None, None, None]
    """
    plain = unicodedata.normalize("NFKC", text).strip().rstrip(".。!！").strip()
    return int(plain) if plain in ("1", "2", "3") else None


# --- on the phone -------------------------------------------------------------------------

async def rate_call(session: AsyncSession, call_id: str, score: int, at: datetime,
                    timezone: str) -> Rating | None:
    """Store the key a caller pressed after a seat's call; None if the call has one already
    (the unique index says so too)."""
    if await ratings_db.call_rating(session, call_id) is not None:
        return None
    call = await session.get(Call, call_id)
    ticket = await ratings_db.ticket_of_call(session, call_id)
    rating = Rating(channel=CALL, score=score, call_id=call_id, asked_at=at, rated_at=at,
                    caller_number=call.caller_number if call else "",
                    agent_id=await ratings_db.seat_of_call(session, call_id),
                    ticket_id=ticket.id if ticket else None,
                    department_id=ticket.department_id if ticket else None)
    session.add(rating)
    await session.flush()
    if score == UNSATISFIED:
        agent = await session.get(User, rating.agent_id) if rating.agent_id else None
        number = await calls_db.readable_number_of(session, call, timezone) if call else ""
        await _review(session, rating, REVIEW_CALL.format(
            agent=(agent.display_name or agent.username) if agent else "",
            call=number or local_time(at, timezone)))
    _history(session, rating, ticket)
    return rating


# --- by SMS -------------------------------------------------------------------------------

async def ask_by_sms(session: AsyncSession, settings: Settings, ticket: Ticket,
                     now: datetime, **values: str) -> Rating | None:
    """Text the caller of an answered matter that it is closed, with the rating question
    (values: the text's, hotline.caller_sms), in the caller's transaction (sent once it
    commits). None when the caller's number takes no SMS or the court turned the question
    off: the caller is then told with the plain closing SMS."""
    message = await caller_sms.tell(session, settings, ticket, caller_sms.RATING_ASK,
                                    **values)
    if message is None:
        return None
    rating = Rating(channel=SMS, caller_number=message.to_number, call_id=ticket.call_id,
                    ticket_id=ticket.id, agent_id=ticket.owner_id,
                    department_id=ticket.department_id, asked_at=now, ask_sms_id=message.id)
    session.add(rating)
    await session.flush()
    return rating


async def take_sms_reply(session: AsyncSession, message: SmsMessage) -> bool:
    """The inbound SMS hook: a 1, 2 or 3 from a number asked for a rating within
    ASK_VALID answers the newest ask, if it is not answered yet. True when taken (the
    message is then "rated", out of the inbox); False leaves it an ordinary SMS."""
    score = score_of(message.text)
    if score is None:
        return False
    ask = await ratings_db.newest_ask(session, number_variants(message.from_number),
                                      message.created_at - ASK_VALID)
    if ask is None or ask.score is not None:
        return False
    ask.score, ask.rated_at, ask.reply_sms_id = score, message.created_at, message.id
    message.status, message.ticket_id = RATED_SMS, ask.ticket_id
    ticket = await session.get(Ticket, ask.ticket_id) if ask.ticket_id else None
    if score == UNSATISFIED:
        await _review(session, ask, REVIEW_TICKET.format(
            reference=ticket.reference if ticket else ""))
    _history(session, ask, ticket)
    log.info("SMS #%d from %s: rating %d of ticket %s", message.id,
             mask_phone(message.from_number), score, ask.ticket_id)
    return True


# --- what a rating sets off ---------------------------------------------------------------

async def _review(session: AsyncSession, rating: Rating, text: str) -> None:
    """不满意: every active administrator is told, in the same transaction."""
    for admin in await ratings_db.administrators(session):
        await notify(session, admin, NOTICE_KIND, text, rating.ticket_id)


def _history(session: AsyncSession, rating: Rating, ticket: Ticket | None) -> None:
    if ticket is not None and rating.rated_at is not None:
        session.add(TicketEvent(ticket_id=ticket.id, kind=RATED_EVENT, at=rating.rated_at,
                                detail={"score": rating.score, "channel": rating.channel,
                                        "label": LABELS.get(rating.score or 0, "")}))


async def tallies(session: AsyncSession, by: str, start: datetime, end: datetime
                  ) -> dict[int, Tally]:
    """Ratings given in [start, end) per seat (by="agent", user ids) or per department
    (by="department", department ids)."""
    key = Rating.agent_id if by == "agent" else Rating.department_id
    counted = await ratings_db.scores_by(session, key, start, end)
    return {owner: Tally.of(counts) for owner, counts in counted.items()}
