"""Who may hear a call's recordings and see its caller (regulation Art. 8).

"Handled" is what Asterisk and the bridge saw, never what a user declared (a call log or a
consultation naming a call gives nothing):
- an agent: calls they answered from the queue, and reply calls they made;
- a department handler: calls of tickets forwarded to their department, and their replies;
- a duty judge: calls transferred to their phone;
- an administrator: every call (a basic court's: every call of its court's matters).
Everyone else: none. Over all of it, a call of a confidential complaint about the court's
staff is heard only by those hotline.confidential clears (issue 15). The console enforces
this on every request that names a call (recordings, call logs, consultations) and logs
each play, download and refusal; a refusal and a call that does not exist look the same
from outside (call ids are predictable).

Role codes are hotline.roles'.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.confidential import clearance, may_see_call
from hotline.courts import call_in_scope
from hotline.db import calls as calls_db
from hotline.db import recording_access as db
from hotline.db.models import CallEvent, Recording
from hotline.roles import ADMIN, AGENT, DEPT_HANDLER, DUTY_JUDGE

# The call-event kinds that put a judge's phone on a call (ivr/calltracker.py).
JUDGE_EVENTS = ("judge-ringing",)
# The call-event kind that names the member of staff who made a reply call (hotline.tickets).
REPLY_CALL_EVENT = "reply-call"


@dataclass(frozen=True)
class Listener:
    """The member of staff asking: what the rules need to know of them."""

    id: int
    role: str
    username: str = ""
    display_name: str = ""
    extension: str = ""


async def may_listen(session: AsyncSession, who: Listener, recording: Recording) -> bool:
    return await may_hear_call(session, who, recording.call_id)


async def may_use_call(session: AsyncSession, who: Listener, call_id: str) -> bool:
    """The call exists and who may hear it: what any request naming a call must pass (a
    recording, a call log, a consultation). The two are one answer on purpose."""
    return (await calls_db.get_call(session, call_id) is not None
            and await may_hear_call(session, who, call_id))


async def log_refusal(session: AsyncSession, who: Listener, call_id: str, address: str,
                      reason: str, at: datetime | None = None) -> None:
    """A refused request naming call_id, in the access log: one "denied" line for each of
    the call's recordings, or one without a recording (a call that has none, or does not
    exist: somebody trying ids is worth seeing)."""
    parts = await db.parts_of_call(session, call_id)
    ids: list[int | None] = [rec.id for rec in parts]
    for recording_id in ids or [None]:
        await db.log_access(session, recording_id, who.id, db.DENIED, address,
                            reason or call_id, at=at)


async def may_hear_call(session: AsyncSession, who: Listener, call_id: str) -> bool:
    """Whether who may hear (and see) the recordings of call_id. A call a confidential
    complaint was raised on or answered by is heard by nobody hotline.confidential does
    not clear, whatever their part in it. A basic court's staff hear only calls of their
    court's matters (hotline.courts.call_in_scope), its administrator included."""
    if not await call_in_scope(session, who.id, call_id):
        return False
    if who.role == ADMIN:
        return True
    if not await may_see_call(session, await clearance(session, who.id, who.role), call_id):
        return False
    if await _made_reply(session, who, call_id):
        return True
    if who.role == AGENT:
        return await _agent_answered(session, who, call_id)
    if who.role == DEPT_HANDLER:
        return await db.forwarded_to_handler(session, call_id, who.id)
    if who.role == DUTY_JUDGE:
        return await _transferred_to(session, who, call_id)
    return False


async def _agent_answered(session: AsyncSession, who: Listener, call_id: str) -> bool:
    events = await db.call_events(session, call_id, ("agent",))
    return any(answered_by(event, who) for event in events)


async def _made_reply(session: AsyncSession, who: Listener, call_id: str) -> bool:
    events = await db.call_events(session, call_id, (REPLY_CALL_EVENT,))
    return any((e.detail or {}).get("user_id") == str(who.id) for e in events)


def answered_by(event: CallEvent, who: Listener) -> bool:
    """An "agent" event names who: by user id when the bridge knew who sat at the seat;
    otherwise by the seat and the queue member name together (a seat changes hands, so the
    extension alone would give the next agent the last one's calls)."""
    detail = event.detail or {}
    if detail.get("user_id"):
        return detail["user_id"] == str(who.id)
    if not who.extension:
        return False
    names = {who.extension, f"PJSIP/{who.extension}", who.display_name, who.username} - {""}
    if detail.get("extension"):
        return detail["extension"] == who.extension and detail.get("agent", "") in names
    # Events written before the seat was recorded: only the member name.
    return detail.get("agent", "") in names - {who.display_name}


async def _transferred_to(session: AsyncSession, who: Listener, call_id: str) -> bool:
    if not who.extension:
        return False
    events = await db.call_events(session, call_id, JUDGE_EVENTS)
    return any((e.detail or {}).get("target") == who.extension for e in events)
