"""Telling a member of staff something: a notice in their console, and an SMS to their
mobile when they have one. One function, used by forwarding, escalation and the SMS
inbox, so every notice is stored the same way and can be counted on exactly once: both
rows are written in the caller's transaction, and the SMS is only sent after it commits
(the SMS sender job picks it up from the outbox)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.db.models import Notice, User
from hotline.db.sms import queue_sms
from hotline.phonenumbers import is_mobile
from hotline.privacy import mask_phone
from hotline.sms.templates import NOTICE

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Notified:
    notice_id: int
    sms_id: int | None  # None: the user has no mobile number on file


async def notify(session: AsyncSession, user: User, kind: str, text: str,
                 ticket_id: int | None = None, by_sms: bool = True) -> Notified:
    """Leave `text` in user's console notices and queue it as an SMS to their mobile
    (by_sms=False: the notice alone)."""
    notice = Notice(user_id=user.id, ticket_id=ticket_id, kind=kind, text=text)
    session.add(notice)
    await session.flush()
    sms_id = None
    if not by_sms or not user.mobile:
        pass
    elif not is_mobile(user.mobile):
        # Stored before mobiles were checked (hotline.phonenumbers): the notice is enough.
        log.warning("user %s: the mobile on file is not a mobile number (%s); notice "
                    "without SMS", user.username, mask_phone(user.mobile))
    else:
        message = await queue_sms(session, user.mobile, text, ticket_id=ticket_id,
                                  kind=NOTICE, params={"text": text})
        message.user_id = user.id
        sms_id = message.id
    return Notified(notice.id, sms_id)
