"""The court's systems and the console (issue 19, docs/integrations.md).

- The inbound API under /api/systems/: a court system (诉讼服务网, the case-flow system)
  creates a matter, records an answer made there (its reference is the proof, and the
  matter closes), reads a matter's state. Each call carries a system token
  (`hotline integrations token add`), limited to its scopes; no console login.
- Closing a matter answered outside the hotline (the judge called the party from their own
  phone): the department's head or an administrator, with a reason, what proves it and an
  optional attachment, on the matter's page or by the API.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import UploadFile

from agent_console.auth import Forbidden, Principal, console, require_role
from agent_console.forms import Invalid, Refused, field_error
from agent_console.service import Actor, actor, attempt, transaction
from agent_console.texts import ADMIN, AGENT, DEPT_HANDLER, DEPT_HEAD, LEADER, MESSAGES
from agent_console.tickets import STEP_REFUSALS, render_ticket_page
from hotline import system_tokens, tickets
from hotline.access import may_close_outside, ticket_access
from hotline.catalog import TICKET_TYPES
from hotline.db.base import session_scope
from hotline.db.models import Department, SystemToken, Ticket, TicketEvent
from hotline.db.tickets import OPEN
from hotline.privacy import mask_phone
from hotline.timefmt import iso

log = logging.getLogger("console.integrations")

api = APIRouter(prefix="/api/systems", tags=["court systems"])
pages = APIRouter(include_in_schema=False)

ATTACHMENT_LIMIT_MB = 10
ATTACHMENT_SUFFIXES = {".pdf", ".jpg", ".jpeg", ".png", ".ogg", ".mp3", ".wav", ".m4a",
                       ".amr", ".txt"}
REASON_LIMIT, PROOF_LIMIT = 500, 1000

# --- the inbound API: a system's token ----------------------------------------------------

_bearer = HTTPBearer(auto_error=False, description="a system token (`hotline integrations "
                     "token add`), limited to its scopes")
SystemBearer = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def _scope(scope: str) -> Any:
    async def dependency(request: Request, credentials: SystemBearer) -> str:
        """The system's name when its token is live and holds `scope`."""
        if credentials is None:
            raise HTTPException(401, MESSAGES["system_token"], {"WWW-Authenticate": "Bearer"})
        c = console(request)
        async with session_scope(c.sessions) as db:
            try:
                token: SystemToken = await system_tokens.check(db, credentials.credentials,
                                                                scope, c.clock())
            except system_tokens.TokenRefused as refused:
                key = "system_token" if refused.status == 401 else "system_scope"
                raise HTTPException(refused.status, MESSAGES[key].format(scope=scope)) from None
            return token.system
    return Depends(dependency)


CreatorSystem = Annotated[str, _scope(system_tokens.CREATE)]
AnswerSystem = Annotated[str, _scope(system_tokens.ANSWER)]
ReaderSystem = Annotated[str, _scope(system_tokens.READ)]


class MatterIn(BaseModel):
    type: str = Field(description=" | ".join(TICKET_TYPES))
    caller_number: str = Field("", max_length=40, description="the party's phone number")
    text: str = Field(min_length=1, max_length=4000, description="what the party asks")
    reference: str = Field("", max_length=100, description="the system's own id of it")


class AnswerIn(BaseModel):
    reference: str = Field(min_length=1, max_length=150, description="the system's reference "
                           "of the message or call that answered: the proof")
    channel: str = Field("message", description="message | call")
    text: str = Field("", max_length=2000, description="what the party was told")


class MatterStateOut(BaseModel):
    reference: str
    type: str
    status: str = Field(description="open | closed")
    source: str = Field(description="hotline, or the system that created it")
    department: str
    due_at: str | None
    escalation_level: int = Field(description="0, 1 pushed to the head (督办), 2 the leader")
    created_at: str
    answered_at: str | None
    closed_at: str | None
    closing: str = Field(description="'' while open; proof (a recording, an SMS, a system's "
                         "reference) | outside (closed by a head without one)")
    events: list[str] = Field(description="its history's kinds, oldest first")


async def _matter(db: AsyncSession, reference: str) -> Ticket:
    """A matter a system may see: none of the court's staff complaints (issue 15)."""
    found = (await db.execute(select(Ticket).where(Ticket.reference == reference))
             ).scalar_one_or_none()
    if found is None or found.confidential:
        raise HTTPException(404, MESSAGES["not_found"])
    return found


async def _state(db: AsyncSession, ticket: Ticket) -> MatterStateOut:
    department = await db.get(Department, ticket.department_id) if ticket.department_id else None
    kinds = (await db.execute(select(TicketEvent.kind).where(TicketEvent.ticket_id == ticket.id)
                              .order_by(TicketEvent.at, TicketEvent.id))).scalars()
    return MatterStateOut(
        reference=ticket.reference, type=ticket.type, status=ticket.status,
        source=(ticket.detail or {}).get("source", "hotline"),
        department=department.name if department else "",
        due_at=iso(ticket.due_at) if ticket.due_at else None,
        escalation_level=ticket.escalation_level or 0, created_at=iso(ticket.created_at),
        answered_at=iso(ticket.answered_at) if ticket.answered_at else None,
        closed_at=iso(ticket.closed_at) if ticket.closed_at else None,
        closing=ticket.close_kind or ("proof" if ticket.status == tickets.CLOSED else ""),
        events=list(kinds))


@api.post("/matters", status_code=201, summary="create a matter (scope matters:create); "
          "it waits in the callback list for an agent like one left with the voice menu")
async def create_matter(request: Request, system: CreatorSystem, body: MatterIn
                        ) -> MatterStateOut:
    if body.type not in TICKET_TYPES:
        raise Invalid({"type": MESSAGES["system_type"].format(known=", ".join(TICKET_TYPES))})
    c = console(request)
    async with session_scope(c.sessions) as db:
        ticket = await tickets.create_for_system(db, system, body.type, body.caller_number,
                                                 body.text.strip(), body.reference, c.clock())
        log.info("system %s created matter %s (%s, %s)", system, ticket.reference, body.type,
                 mask_phone(body.caller_number))
        return await _state(db, ticket)


@api.post("/matters/{reference}/answer", summary="record an answer made in the system "
          "(scope matters:answer); its reference is the proof and the matter closes")
async def answer_matter(request: Request, system: AnswerSystem, reference: str,
                        body: AnswerIn) -> MatterStateOut:
    if body.channel not in ("message", "call"):
        raise Invalid({"channel": MESSAGES["system_channel"]})
    c = console(request)
    async with session_scope(c.sessions) as db:
        ticket = await _matter(db, reference)
        if ticket.status != OPEN:
            raise Refused(409, MESSAGES["ticket_closed"])
        await tickets.answer_from_system(db, c.settings, ticket, system, body.reference,
                                         body.text.strip(), body.channel, c.clock())
        log.info("system %s answered matter %s (%s %s)", system, reference, body.channel,
                 body.reference)
        return await _state(db, ticket)


@api.get("/matters/{reference}", summary="a matter's state (scope matters:read)")
async def read_matter(request: Request, system: ReaderSystem, reference: str
                      ) -> MatterStateOut:
    async with session_scope(console(request).sessions) as db:
        return await _state(db, await _matter(db, reference))


# --- closing a matter answered outside the hotline -----------------------------------------

Closer = Annotated[Principal, Depends(require_role(DEPT_HEAD, ADMIN))]
Reader = Annotated[Principal, Depends(require_role(AGENT, DEPT_HANDLER, DEPT_HEAD, LEADER,
                                                   ADMIN))]


def attachments_dir(data_dir: Path, ticket_id: int) -> Path:
    return data_dir / "attachments" / "tickets" / str(ticket_id)


def _attachment_name(upload: UploadFile | None) -> str:
    """The stored name's suffix, checked; '' without a file."""
    if upload is None or not upload.filename:
        return ""
    suffix = Path(upload.filename).suffix.lower()
    if suffix not in ATTACHMENT_SUFFIXES:
        raise Invalid({"outside_attachment": MESSAGES["attachment_kind"].format(
            kinds="、".join(sorted(ATTACHMENT_SUFFIXES)))})
    return uuid.uuid4().hex + suffix


async def _store(upload: UploadFile, folder: Path, name: str) -> None:
    """Write the attachment, refusing it past the limit (nothing is kept then)."""
    limit, data = ATTACHMENT_LIMIT_MB * 1024 * 1024, bytearray()
    while len(data) <= limit and (chunk := await upload.read(1024 * 1024)):
        data += chunk
    if len(data) > limit:
        raise Invalid({"outside_attachment": MESSAGES["attachment_too_big"].format(
            limit=ATTACHMENT_LIMIT_MB)})
    await asyncio.to_thread(_write, folder / name, bytes(data))


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _checked(reason: str, proof: str) -> tuple[str, str]:
    reason, proof = reason.strip(), proof.strip()
    errors = {}
    for field, value, limit in (("outside_reason", reason, REASON_LIMIT),
                                ("outside_proof", proof, PROOF_LIMIT)):
        if not value:
            errors[field] = field_error(field, "required")
        elif len(value) > limit:
            errors[field] = field_error(field, "too_long", limit=limit)
    if errors:
        raise Invalid(errors)
    return reason, proof


async def close_outside(by: Actor, ticket_id: int, reason: str, proof: str,
                        upload: UploadFile | None = None) -> Ticket:
    """Close the matter as answered outside the hotline; its escalation stops at once."""
    reason, proof = _checked(reason, proof)
    name = _attachment_name(upload)
    folder = attachments_dir(by.c.settings.data_dir, ticket_id)
    async with transaction(by, STEP_REFUSALS) as db:
        ticket = await db.get(Ticket, ticket_id)
        if ticket is None:
            raise HTTPException(404, MESSAGES["not_found"])
        if await ticket_access(db, by.account.id, by.account.role, ticket) is None:
            raise Forbidden("role")
        if not await may_close_outside(db, by.account.id, by.account.role, ticket):
            raise Refused(403, MESSAGES["close_outside_refused"])
        if upload is not None and name:
            await _store(upload, folder, name)
        try:
            await tickets.close_outside(db, by.c.settings, ticket, by.account.id, reason,
                                        proof, name, by.now())
        except BaseException:
            if name:
                (folder / name).unlink(missing_ok=True)
            raise
    log.info("matter %s closed as answered outside the hotline by %s (user %s)",
             ticket.reference, by.account.username, by.account.id)
    return ticket


@pages.post("/tickets/{ticket_id}/close-outside")
async def close_outside_page(request: Request, who: Closer, ticket_id: int) -> Response:
    form = await request.form()
    values = {k: v for k in ("outside_reason", "outside_proof")
              if isinstance(v := form.get(k, ""), str)}
    upload = form.get("outside_attachment")
    done = await attempt(close_outside(actor(request, who), ticket_id,
                                       values.get("outside_reason", ""),
                                       values.get("outside_proof", ""),
                                       upload if isinstance(upload, UploadFile) else None))
    if isinstance(done, Refused):
        return await render_ticket_page(request, who, ticket_id, done, values)
    return RedirectResponse(f"/tickets/{ticket_id}?notice=closed_outside_ok", status_code=303)


class CloseOutsideIn(BaseModel):
    reason: str = Field(description="why it is closed without the hotline's proof")
    proof: str = Field(description="what proves the party was answered (who called whom "
                       "when, from which phone)")


class ClosedOutsideOut(BaseModel):
    id: int
    reference: str
    status: str
    closing: str


staff_api = APIRouter(prefix="/api", tags=["tickets"])


@staff_api.post("/tickets/{ticket_id}/close-outside", summary="close a matter answered "
                "outside the hotline (its department's head, administrators); no attachment "
                "here, the page takes one")
async def api_close_outside(request: Request, who: Closer, ticket_id: int,
                            body: CloseOutsideIn) -> ClosedOutsideOut:
    ticket = await close_outside(actor(request, who), ticket_id, body.reason, body.proof)
    return ClosedOutsideOut(id=ticket.id, reference=ticket.reference, status=ticket.status,
                            closing=ticket.close_kind)


@pages.get("/tickets/{ticket_id}/outside-proof/{name}")
async def attachment(request: Request, who: Reader, ticket_id: int, name: str) -> Response:
    """The attachment of a matter closed outside the hotline, to whoever may read it."""
    c = console(request)
    async with session_scope(c.sessions) as db:
        ticket = await db.get(Ticket, ticket_id)
        if ticket is None or not re.fullmatch(r"[0-9a-f]{32}\.[a-z0-9]{2,4}", name):
            raise HTTPException(404, MESSAGES["not_found"])
        if await ticket_access(db, who.account.id, who.account.role, ticket) is None:
            raise Forbidden("role")
    path = attachments_dir(c.settings.data_dir, ticket_id) / name
    if not path.is_file():
        raise HTTPException(404, MESSAGES["not_found"])
    return FileResponse(path, filename=f"{ticket.reference}{path.suffix}")

