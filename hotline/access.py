"""Who may do what with a matter (ticket) and a call log, decided here for pages and API
alike; the console only turns a refusal into its 403 or 404. Who may hear a call is
hotline.recording_access.

A ticket (Art. 5(6), 6):
  ACT  - the owner agent, and the handler it is forwarded to (its assignee, or its
         department's handler): forward, reply, close, hear the caller's voice message;
  READ - an agent looking at a matter no agent has taken (to take it); the department's
         head and leader; administrators;
  None - everyone else. A question an agent sent to the duty judge is that agent's alone.
A call log (Art. 9): the agent who wrote it owns it: they alone change it and forward its
matter; leaders and administrators read every log.
Over all of this: a confidential matter or log (a complaint about the court's staff) is
None to everyone hotline.confidential does not clear, owner agent and leaders included.
And the court (issue 17): the centre's staff (of the court flagged centre) serve every
court; a basic court's staff see only their court's matters, the call logs of those
matters, and the calls they were raised on or answered by (hotline.courts.court_scope) — a
basic court's administrator and leader included.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.confidential import clearance, may_see, may_see_log
from hotline.courts import court_scope, in_scope
from hotline.db import departments as departments_db
from hotline.db.models import CallLog, Department, Ticket
from hotline.roles import ADMIN, AGENT, DEPT_HANDLER, DEPT_HEAD, LEADER
from hotline.tickets import JUDGE_SUBTYPE

ACT, READ = "act", "read"


async def ticket_access(session: AsyncSession, user_id: int, role: str,
                        ticket: Ticket) -> str | None:
    """ACT, READ, or None when the ticket is none of this member of staff's business."""
    if ticket.confidential and not may_see(await clearance(session, user_id, role), ticket):
        return None
    if not in_scope(await court_scope(session, user_id), ticket.court_id):
        return None
    if ticket.subtype == JUDGE_SUBTYPE and ticket.owner_id != user_id:
        return None
    if role == AGENT:
        return _agent_access(user_id, ticket)
    if role == DEPT_HANDLER:
        return ACT if await _handles(session, user_id, ticket) else None
    if role in (DEPT_HEAD, LEADER):
        mine = {d.id for d in await departments_db.departments_of(session, user_id)}
        return READ if ticket.department_id in mine else None
    return READ if role == ADMIN else None


async def may_close_outside(session: AsyncSession, user_id: int, role: str,
                            ticket: Ticket) -> bool:
    """Closing a matter answered outside the hotline, without its proof (issue 19): an
    administrator, or the head of the department it was forwarded to."""
    if role == ADMIN:
        return await ticket_access(session, user_id, role, ticket) is not None
    if role != DEPT_HEAD or ticket.department_id is None:
        return False
    department = await session.get(Department, ticket.department_id)
    return department is not None and department.head_id == user_id


def _agent_access(user_id: int, ticket: Ticket) -> str | None:
    if ticket.owner_id == user_id:
        return ACT
    return READ if ticket.owner_id is None else None


async def _handles(session: AsyncSession, user_id: int, ticket: Ticket) -> bool:
    if ticket.assignee_id == user_id:
        return True
    department = (await session.get(Department, ticket.department_id)
                  if ticket.department_id else None)
    return department is not None and department.handler_id == user_id


def owns_log(user_id: int, role: str, log: CallLog) -> bool:
    """The call log is this agent's: they alone change it and forward its matter. A
    confidential log, once filed, is the discipline department's (hotline.confidential)."""
    return role == AGENT and log.owner_id == user_id and not log.confidential


def may_read_log(user_id: int, role: str, log: CallLog) -> bool:
    """Agents read their own call logs; leaders and administrators read every one (a
    confidential one: may_read_confidential_log decides)."""
    return role in (LEADER, ADMIN) or owns_log(user_id, role, log)


async def may_read_log_now(session: AsyncSession, user_id: int, role: str,
                           log: CallLog) -> bool:
    """may_read_log, with hotline.confidential's word on a confidential log (or a log of a
    call a confidential matter hides): what every request naming one log asks."""
    return (may_read_log(user_id, role, log)
            and await may_see_log(session, await clearance(session, user_id, role), log)
            and (owns_log(user_id, role, log) or await _log_in_scope(session, user_id, log)))


# --- the court (issue 17) -----------------------------------------------------------------

async def _log_in_scope(session: AsyncSession, user_id: int, log: CallLog) -> bool:
    scope = await court_scope(session, user_id)
    if scope is None:
        return True
    ticket = await session.get(Ticket, log.ticket_id) if log.ticket_id else None
    return ticket is not None and ticket.court_id == scope
