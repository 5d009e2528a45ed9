"""Who may hear a call's recordings (regulation Art. 8; issue 6 "Who may listen").

- an agent: calls they handled (answered from the queue, logged, or own a matter of);
- a department handler: calls of tickets forwarded to their department;
- a duty judge: calls transferred to their phone;
- an administrator: every call.
Everyone else: none. The console enforces this on every recording request
(agent_console/recordings.py) and logs each play, download and refusal.

Role codes are agent_console.texts' (the core does not import the console).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.db import recording_access as db
from hotline.db.models import CallEvent, Recording

AGENT, DUTY_JUDGE, DEPT_HANDLER, ADMIN = "agent", "duty_judge", "dept_handler", "admin"
# The call-event kinds that put a judge's phone on a call (ivr/calltracker.py).
JUDGE_EVENTS = ("judge-ringing",)


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


async def may_hear_call(session: AsyncSession, who: Listener, call_id: str) -> bool:
    """Whether who may hear (and see) the recordings of call_id."""
    if who.role == ADMIN:
        return True
    if who.role == AGENT:
        return await _agent_handled(session, who, call_id)
    if who.role == DEPT_HANDLER:
        return await db.forwarded_to_handler(session, call_id, who.id)
    if who.role == DUTY_JUDGE:
        return await _transferred_to(session, who, call_id)
    return False


async def _agent_handled(session: AsyncSession, who: Listener, call_id: str) -> bool:
    events = await db.call_events(session, call_id, ("agent",))
    if any(answered_by(event, who) for event in events):
        return True
    return await db.logged_or_owned_by(session, call_id, who.id)


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
