"""The agent's desk: sign in to the seats queue, pause with a reason, see the ringing call
pop up with the caller's past calls and open tickets, put the call through to today's duty
judge. The page (/desk) and the JSON API (/api/desk/...) share every rule here."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable
from typing import Annotated, Any, Literal, cast

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel

from agent_console.accounts import Account
from agent_console.auth import Principal, console, require_role
from agent_console.forms import Refused
from agent_console.live import LiveDesk, SeatCall
from agent_console.pages import render
from agent_console.texts import AGENT, MESSAGES, PAUSE_REASONS
from hotline.db import presence as presence_db
from hotline.db.base import session_scope
from hotline.db.roster import duty_judge_for
from hotline.hours import court_today
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
    state: str
    reason: str
    reason_label: str


@router.post("/api/desk/presence", summary="sign in to the seats queue, pause, resume, sign out")
async def set_presence(request: Request, body: PresenceRequest, who: Agent) -> PresenceOut:
    account, (desk, _pbx) = who.account, live(request)
    ext, now = _extension(account), console(request).clock()
    if body.action == "sign_in":
        await _control(desk.sign_in(account.id, ext, account.name, now))
    elif body.action == "sign_out":
        await _control(desk.sign_out(account.id, ext, now))
    elif body.action == "pause":
        if body.reason not in PAUSE_REASONS:
            raise Refused(422, MESSAGES["pause_reason"])
        await _control(desk.pause(account.id, ext, body.reason, now))
    else:
        await _control(desk.resume(account.id, ext, now))
    return await _presence_of(request, account)


async def _presence_of(request: Request, account: Account) -> PresenceOut:
    async with session_scope(console(request).sessions) as session:
        row = await presence_db.get_presence(session, account.id)
    state, reason = (row.state, row.reason) if row else (presence_db.OUT, "")
    return PresenceOut(state=state, reason=reason, reason_label=PAUSE_REASONS.get(reason, ""))


# -- the live state and its event stream --------------------------------------------------

@router.get("/api/desk/state", summary="this agent's seat, presence and the call on it now")
async def desk_state(request: Request, who: Agent) -> dict[str, Any]:
    desk = live(request)[0]
    state = desk.snapshot(_extension(who.account), who.account.role)
    state["presence"] = (await _presence_of(request, who.account)).model_dump()
    return state


@router.get("/api/desk/events", summary="server-sent events: ring, history, connected, "
            "ended, seat (text/event-stream)")
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


class TransferOut(BaseModel):
    mode: str
    judge: str
    extension: str


async def _duty_judge(request: Request) -> tuple[str, str]:
    c = console(request)
    async with session_scope(c.sessions) as session:
        judge = await duty_judge_for(session, court_today(c.settings, c.clock()))
    if judge is None or not judge.extension:
        raise Refused(409, MESSAGES["no_duty_judge"])
    return judge.display_name or judge.username, judge.extension


def _call_on_seat(desk: LiveDesk, ext: str) -> SeatCall:
    call = desk.calls.get(ext)
    if call is None or call.state not in {"connected", "consulting"}:
        raise Refused(409, MESSAGES["no_call"])
    return call


@router.post("/api/desk/transfer", summary="put the call on this seat through to today's "
             "duty judge: blind, or attended (consult first)")
async def transfer(request: Request, body: TransferRequest, who: Agent) -> TransferOut:
    (desk, control), ext = live(request), _extension(who.account)
    call = _call_on_seat(desk, ext)
    name, judge_ext = await _duty_judge(request)
    await _control(control.transfer(
        call.agent_channel, judge_ext, attended=body.mode == "attended"))
    if body.mode == "attended":
        call.state = "consulting"
    return TransferOut(mode=body.mode, judge=name, extension=judge_ext)


@router.post("/api/desk/transfer/complete", summary="attended transfer: leave the "
             "consultation, joining the caller and the judge")
async def complete_transfer(request: Request, who: Agent) -> dict[str, str]:
    (desk, control), ext = live(request), _extension(who.account)
    call = _call_on_seat(desk, ext)
    await _control(control.complete_consultation(call.agent_channel))
    return {"result": "completed"}


@router.post("/api/desk/transfer/cancel", summary="attended transfer: end the "
             "consultation and take the caller back")
async def cancel_transfer(request: Request, who: Agent) -> dict[str, str]:
    (desk, control), ext = live(request), _extension(who.account)
    call = _call_on_seat(desk, ext)
    await _control(control.cancel_consultation(call.agent_channel))
    call.state = "connected"
    return {"result": "cancelled"}


# -- the page -----------------------------------------------------------------------------

@router.get("/desk", include_in_schema=False)
async def desk_page(request: Request, who: Agent) -> Response:
    c = console(request)
    async with session_scope(c.sessions) as session:
        judge = await duty_judge_for(session, court_today(c.settings, c.clock()))
    return render(request, "desk.html", user=who.account, csrf_token=who.csrf_token,
                  presence=await _presence_of(request, who.account), judge=judge,
                  pause_reasons=PAUSE_REASONS)
