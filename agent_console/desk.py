"""The agent's desk, one screen for a whole call: sign in to the seats queue, pause with a
reason, see the ringing call pop up with who the caller is, where they came from and their
past calls and matters, log it (POST /api/calllogs) and search the knowledge base (GET
/api/kb) beside it, put the call through to today's duty judge, wrap up after the hang-up
(话后处理, agent_console.live), and the queue's summary always in view. The page (/desk)
and the JSON API (/api/desk/...) share every rule here."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable
from typing import Annotated, Any, Literal, cast

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field

from agent_console.accounts import Account
from agent_console.auth import Principal, console, require_role
from agent_console.calllog import court_choices
from agent_console.forms import Refused
from agent_console.live import LiveDesk, SeatCall
from agent_console.pages import render
from agent_console.texts import (
    AGENT,
    CALLER_KIND_LABELS,
    FIELD_LABELS,
    MESSAGES,
    OUTCOME_LABELS,
    PAUSE_REASONS,
    PRESENCE_LABELS,
)
from hotline.catalog import SERVICES
from hotline.db import directory as directory_db
from hotline.db import presence as presence_db
from hotline.db.base import session_scope
from hotline.db.courts import list_courts
from hotline.db.roster import duty_judge_for, duty_judge_for_call
from hotline.directory import item_of
from hotline.hours import court_today
from hotline.timefmt import local_time
from pbx import ControlError, PbxControl

router = APIRouter()
Agent = Annotated[Principal, Depends(require_role(AGENT))]
# Seconds between keep-alive comments on the event stream, so proxies keep it open.
KEEPALIVE_SECONDS = 15.0


def live(request: Request) -> tuple[LiveDesk, PbxControl]:
    """The live desk and its PBX control; 503 when the console runs without a PBX."""
    desk = cast(LiveDesk | None, getattr(request.app.state, "live", None))
    if desk is None or desk.control is None:
        raise Refused(503, MESSAGES["pbx_down"])
    desk.configure(console(request).settings)
    return desk, desk.control


def _extension(account: Account) -> str:
    if not account.extension:
        raise Refused(409, MESSAGES["no_extension"])
    return account.extension


# -- presence -----------------------------------------------------------------------------

async def _control(step: Awaitable[None]) -> None:
    try:
        await step
    except ControlError as exc:
        raise Refused(502, str(exc)) from exc


class PresenceRequest(BaseModel):
    action: Literal["sign_in", "pause", "resume", "sign_out"]
    # one of texts.PAUSE_REASONS, for "pause"
    reason: str = ""


class PresenceOut(BaseModel):
    state: str = Field(description="out | ready | paused | wrap_up (话后处理)")
    state_label: str
    reason: str
    reason_label: str
    since: str = Field(description="when this state began, the court's local time")


@router.post("/api/desk/presence", summary="sign in to the seats queue, pause, resume, sign out")
async def set_presence(request: Request, body: PresenceRequest, who: Agent) -> PresenceOut:
    account, (desk, control) = who.account, live(request)
    ext, now = _extension(account), console(request).clock()
    if body.action == "sign_in":
        await _control(desk.sign_in(account.id, ext, account.name, now))
        await _phone_registered(request, account, ext, control)
    elif body.action == "sign_out":
        await _control(desk.sign_out(account.id, ext, now))
    elif body.action == "pause":
        if body.reason not in PAUSE_REASONS:
            raise Refused(422, MESSAGES["pause_reason"])
        await _control(desk.pause(account.id, ext, body.reason, now))
    else:
        await _phone_registered(request, account, ext, control)
        await _control(desk.resume(account.id, ext, now))
    return await _presence_of(request, account)


# A seat whose phone is in one of these states would never ring: not 空闲.
UNREACHABLE = frozenset({"unavailable", "invalid"})


async def _phone_registered(request: Request, account: Account, ext: str,
                            control: PbxControl) -> None:
    """Refuse to make ready a seat whose phone is not registered (after a sign-in, take it
    out of the queue again): the agent would show 空闲 and never ring."""
    try:
        member = (await control.members()).get(ext)
    except ControlError as exc:
        raise Refused(502, str(exc)) from exc
    if member is None or member.device not in UNREACHABLE:
        return
    desk = live(request)[0]
    if (await _presence_of(request, account)).state == presence_db.READY:
        await _control(desk.sign_out(account.id, ext, console(request).clock()))
    raise Refused(409, MESSAGES["phone_unregistered"].format(extension=ext))


async def _presence_of(request: Request, account: Account) -> PresenceOut:
    async with session_scope(console(request).sessions) as session:
        row = await presence_db.get_presence(session, account.id)
    state, reason = (row.state, row.reason) if row else (presence_db.OUT, "")
    since = local_time(row.since, console(request).settings.hours.timezone) if row else ""
    label = PAUSE_REASONS.get(reason, "") if state == presence_db.PAUSED else ""
    return PresenceOut(state=state, state_label=PRESENCE_LABELS.get(state, state),
                       reason=reason, reason_label=label, since=since)


# -- wrap-up (话后处理) ----------------------------------------------------------------------

@router.post("/api/desk/wrap-up", summary="end wrap-up (话后处理): the call leaves the desk "
             "and the seat is ready again; on a call still up, no wrap-up at its hang-up "
             "(the desk calls this once the call's log is saved)")
async def end_wrap_up(request: Request, who: Agent) -> PresenceOut:
    desk, ext = live(request)[0], _extension(who.account)
    ended = await _control_value(desk.end_wrap_up(ext, console(request).clock()))
    if not ended:
        raise Refused(409, MESSAGES["no_wrap_up"])
    return await _presence_of(request, who.account)


async def _control_value(step: Awaitable[bool]) -> bool:
    try:
        return await step
    except ControlError as exc:
        raise Refused(502, str(exc)) from exc


@router.get("/api/desk/queue", summary="the seats queue now: callers waiting, since when "
            "the longest has waited (seconds since the epoch), seats free")
async def queue_now(request: Request, who: Agent) -> dict[str, Any]:
    desk = live(request)[0]
    try:
        return await desk.refresh_queue()
    except ControlError as exc:
        raise Refused(502, str(exc)) from exc


# -- the live state and its event stream --------------------------------------------------

@router.get("/api/desk/state", summary="this agent's seat, presence and the call on it now")
async def desk_state(request: Request, who: Agent) -> dict[str, Any]:
    desk = live(request)[0]
    state = desk.snapshot(_extension(who.account), who.account.role)
    state["presence"] = (await _presence_of(request, who.account)).model_dump()
    return state


@router.get("/api/desk/events", summary="server-sent events: state, ring, history, "
            "connected, wrap_up, ended, seat, queue (text/event-stream)")
async def desk_events(request: Request, who: Agent) -> StreamingResponse:
    desk, ext = live(request)[0], _extension(who.account)
    listener = desk.listen(ext, who.account.role)

    async def stream() -> AsyncIterator[str]:
        try:
            yield _sse("state", desk.snapshot(ext, who.account.role))
            while True:
                try:
                    kind, data = await asyncio.wait_for(listener.inbox.get(), KEEPALIVE_SECONDS)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                yield _sse(kind, data)
        finally:
            desk.forget(listener)

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


def _sse(kind: str, data: dict[str, Any]) -> str:
    return f"event: {kind}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


# -- transfers to the duty judge ----------------------------------------------------------

class TransferRequest(BaseModel):
    mode: Literal["blind", "attended"]
    # a department or staff member of the directory (GET /api/directory/targets);
    # none: today's duty judge
    entry_id: int | None = None


class TransferOut(BaseModel):
    mode: str
    judge: str = Field(description="who the caller is put through to (the duty judge, or "
                                   "the directory entry's name)")
    extension: str


async def _duty_judge(request: Request, call: SeatCall) -> tuple[str, str]:
    """Today's duty judge of the court the caller chose (the centre's by default)."""
    c = console(request)
    async with session_scope(c.sessions) as session:
        judge = await duty_judge_for_call(session, court_today(c.settings, c.clock()),
                                          call.call_id)
    if judge is None or not judge.extension:
        raise Refused(409, MESSAGES["no_duty_judge"])
    return judge.display_name or judge.username, judge.extension


async def _directory_target(request: Request, entry_id: int) -> tuple[str, str]:
    """An active entry of the court's directory: its label and number (内外一号)."""
    async with session_scope(console(request).sessions) as session:
        found = await directory_db.get_entry(session, entry_id)
    if found is None or not found.active:
        raise Refused(404, MESSAGES["not_found"])
    return item_of(found).label, found.number


def _call_on_seat(desk: LiveDesk, ext: str) -> SeatCall:
    call = desk.calls.get(ext)
    if call is None or call.state not in {"connected", "consulting"}:
        raise Refused(409, MESSAGES["no_call"])
    return call


def _node_of(control: PbxControl, call: SeatCall) -> PbxControl:
    """The node the call is on (a cluster's; a server alone is its own)."""
    try:
        return control.on(call.node)
    except ControlError as exc:
        raise Refused(502, str(exc)) from exc


@router.post("/api/desk/transfer", summary="put the call on this seat through to today's "
             "duty judge, or to a department or staff member of the directory (entry_id): "
             "blind, or attended (consult first)")
async def transfer(request: Request, body: TransferRequest, who: Agent) -> TransferOut:
    (desk, control), ext = live(request), _extension(who.account)
    call = _call_on_seat(desk, ext)
    name, judge_ext = (await _directory_target(request, body.entry_id) if body.entry_id
                       else await _duty_judge(request, call))
    await _control(_node_of(control, call).transfer(
        call.agent_channel, judge_ext, attended=body.mode == "attended"))
    if body.mode == "attended":
        call.state = "consulting"
    return TransferOut(mode=body.mode, judge=name, extension=judge_ext)


@router.post("/api/desk/transfer/complete", summary="attended transfer: leave the "
             "consultation, joining the caller and the judge")
async def complete_transfer(request: Request, who: Agent) -> dict[str, str]:
    (desk, control), ext = live(request), _extension(who.account)
    call = _call_on_seat(desk, ext)
    await _control(_node_of(control, call).complete_consultation(call.agent_channel))
    return {"result": "completed"}


@router.post("/api/desk/transfer/cancel", summary="attended transfer: end the "
             "consultation and take the caller back")
async def cancel_transfer(request: Request, who: Agent) -> dict[str, str]:
    (desk, control), ext = live(request), _extension(who.account)
    call = _call_on_seat(desk, ext)
    await _control(_node_of(control, call).cancel_consultation(call.agent_channel))
    call.state = "connected"
    return {"result": "cancelled"}


# -- the page -----------------------------------------------------------------------------

@router.get("/desk", include_in_schema=False)
async def desk_page(request: Request, who: Agent) -> Response:
    c = console(request)
    async with session_scope(c.sessions) as session:
        judge = await duty_judge_for(session, court_today(c.settings, c.clock()))
        courts = court_choices(await list_courts(session, active_only=True))
    return render(request, "desk.html", user=who.account, csrf_token=who.csrf_token,
                  courts=courts,
                  presence=await _presence_of(request, who.account), judge=judge,
                  pause_reasons=PAUSE_REASONS, timezone=c.settings.hours.timezone,
                  wrap_up_seconds=c.settings.console.wrap_up_seconds, labels=FIELD_LABELS,
                  kinds=CALLER_KIND_LABELS, services=SERVICES, outcomes=OUTCOME_LABELS,
                  values={}, errors={})
