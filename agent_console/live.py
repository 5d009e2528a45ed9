"""The console's live view of the phones: a seat's ringing call pops up on that agent's
page, and queue state changes show as they happen.

The console holds its own AMI connection (the `console` AMI user, manager.conf) and
asks the PBX for queue and transfer actions through the pbx part (pbx.PbxControl). Pages listen with
server-sent events (GET /api/desk/events); each listener gets what happens on its
user's extension, masked for its role.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fastapi import Request
from panoramisk.message import Message
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agent_console.texts import SEES_PERSONAL_DATA
from hotline.callid import from_ami
from hotline.db import phones as phones_db
from hotline.db import presence as presence_db
from hotline.db.base import session_scope
from hotline.db.calls import calls_from_number
from hotline.db.tickets import open_tickets_for_number
from hotline.privacy import mask_phone
from pbx import DEVICE_STATES, ControlError, PbxControl, extension_of

log = logging.getLogger("agent_console.live")

Handler = Callable[[Message], Awaitable[None]]
# A listener that falls this far behind is dropped rather than holding memory for it.
LISTENER_BACKLOG = 100
# After a (re)connect, Asterisk may not have loaded app_queue yet (a restart: AMI answers
# before the queue exists, and QueueAdd is "Invalid/unknown command"): the seats are put
# back again every RESTORE_RETRY_SECONDS until all are in, for at most RESTORE_ATTEMPTS.
RESTORE_RETRY_SECONDS = 1.0
RESTORE_ATTEMPTS = 60


@dataclass
class SeatCall:
    """The call ringing or connected on one seat."""

    call_id: str
    caller_number: str
    caller_channel: str
    agent_channel: str
    state: str  # ringing | connected | consulting
    ami_time: float  # Asterisk's time of the ring (AMI Timestamp), seconds since the epoch
    history: list[dict[str, str]] = field(default_factory=list)
    tickets: list[dict[str, str]] = field(default_factory=list)

    def view(self, role: str) -> dict[str, Any]:
        """What a page of this role may see of the call."""
        whole = role in SEES_PERSONAL_DATA
        number = self.caller_number if whole else mask_phone(self.caller_number)
        history = [h if whole else {**h, "caller_number": mask_phone(h["caller_number"])}
                   for h in self.history]
        return {"call_id": self.call_id, "caller_number": number, "state": self.state,
                "ami_time": self.ami_time, "history": history, "tickets": self.tickets}


@dataclass(frozen=True)
class Listener:
    extension: str
    role: str
    inbox: asyncio.Queue[tuple[str, dict[str, Any]]]


class LiveDesk:
    def __init__(self, control: PbxControl | None,
                 sessions: async_sessionmaker[AsyncSession]) -> None:
        self.control, self.sessions = control, sessions
        self.calls: dict[str, SeatCall] = {}  # by extension
        self.seats: dict[str, dict[str, Any]] = {}  # queue state by extension
        self._listeners: set[Listener] = set()
        self._restoring: asyncio.Task[None] | None = None

    def subscriptions(self) -> dict[str, Handler]:
        """Every AMI event the console handles (manager.conf console-user lets exactly
        these through; a unit test keeps the two equal)."""
        return {
            "AgentCalled": self._agent_called,
            "AgentConnect": self._agent_connect,
            "AgentRingNoAnswer": self._agent_gone,
            "AgentComplete": self._agent_gone,
            "QueueCallerAbandon": self._caller_abandon,
            "QueueMemberAdded": self._member,
            "QueueMemberStatus": self._member,
            "QueueMemberPause": self._member,
            "QueueMemberRemoved": self._member_removed,
            "AttendedTransfer": self._transferred,
            "BlindTransfer": self._transferred,
        }

    # -- listeners ----------------------------------------------------------------

    def listen(self, extension: str, role: str) -> Listener:
        listener = Listener(extension, role, asyncio.Queue(LISTENER_BACKLOG))
        self._listeners.add(listener)
        return listener

    def forget(self, listener: Listener) -> None:
        self._listeners.discard(listener)

    def snapshot(self, extension: str, role: str) -> dict[str, Any]:
        call = self.calls.get(extension)
        return {"seat": self.seats.get(extension, {"extension": extension, "member": False}),
                "call": call.view(role) if call else None,
                "pbx_connected": bool(self.control and self.control.connected)}

    def _push(self, extension: str, kind: str, make: Callable[[str], dict[str, Any]]) -> None:
        for listener in list(self._listeners):
            if listener.extension != extension:
                continue
            try:
                listener.inbox.put_nowait((kind, make(listener.role)))
            except asyncio.QueueFull:
                log.warning("a console page for %s fell behind; dropped", extension)
                self._listeners.discard(listener)

    # -- AMI events ---------------------------------------------------------------

    async def _agent_called(self, event: Message) -> None:
        ext = extension_of(str(event.get("Interface", "")))
        if not ext:
            return
        ringing = from_ami(event)
        call = SeatCall(call_id=ringing.call_id, caller_number=ringing.caller_number,
                        caller_channel=str(event.get("Channel", "")),
                        agent_channel=str(event.get("DestChannel", "")),
                        state="ringing", ami_time=ringing.at.timestamp())
        self.calls[ext] = call
        # The ring goes out first; what the database knows follows a moment later, so a
        # slow query never delays the pop itself.
        self._push(ext, "ring", call.view)
        await self._add_history(ext, call)

    async def _add_history(self, ext: str, call: SeatCall) -> None:
        if not call.caller_number:
            return
        async with session_scope(self.sessions) as session:
            past = await calls_from_number(session, call.caller_number, before=call.call_id)
            tickets = await open_tickets_for_number(session, call.caller_number)
        call.history = [{"call_id": c.id, "caller_number": c.caller_number,
                         "started_at": c.started_at.isoformat(), "route": c.route,
                         "agent": c.agent} for c in past]
        call.tickets = [{"reference": t.reference, "type": t.type, "status": t.status,
                         "created_at": t.created_at.isoformat()} for t in tickets]
        if self.calls.get(ext) is call:
            self._push(ext, "history", call.view)

    async def _agent_connect(self, event: Message) -> None:
        ext = extension_of(str(event.get("Interface", "")))
        call = self.calls.get(ext)
        if call is None:
            return
        call.state = "connected"
        call.agent_channel = str(event.get("DestChannel", call.agent_channel))
        self._push(ext, "connected", call.view)

    async def _agent_gone(self, event: Message) -> None:
        ext = extension_of(str(event.get("Interface", "")))
        call = self.calls.pop(ext, None)
        if call is not None:
            self._push(ext, "ended", _ended(call, str(event.get("Event", ""))))

    async def _caller_abandon(self, event: Message) -> None:
        abandoned = from_ami(event).call_id
        for ext, call in list(self.calls.items()):
            if call.call_id == abandoned:
                del self.calls[ext]
                self._push(ext, "ended", _ended(call, "abandoned"))

    async def _transferred(self, event: Message) -> None:
        # Whoever transferred: their seat is free of this call now.
        for key in ("TransfererChannel", "OrigTransfererChannel"):
            ext = extension_of(str(event.get(key, "")))
            call = self.calls.pop(ext, None) if ext else None
            if call is not None:
                self._push(ext, "ended", _ended(call, "transferred"))

    async def _member(self, event: Message) -> None:
        ext = extension_of(str(event.get("StateInterface") or event.get("Interface", "")))
        if not ext:
            return
        seat = {"extension": ext, "member": True, "paused": str(event.get("Paused")) == "1",
                "reason": str(event.get("PausedReason", "")),
                "device": DEVICE_STATES.get(str(event.get("Status")), "unknown")}
        self.seats[ext] = seat
        self._push(ext, "seat", lambda _role: dict(seat))

    async def _member_removed(self, event: Message) -> None:
        ext = extension_of(str(event.get("StateInterface") or event.get("Interface", "")))
        if ext:
            self.seats[ext] = {"extension": ext, "member": False}
            self._push(ext, "seat", lambda _role: {"extension": ext, "member": False})

    # -- presence: what the console asks, stored so it survives restarts ------------------

    async def sign_in(self, user_id: int, extension: str, name: str, at: datetime) -> None:
        await self._pbx().join(extension, name)
        await self._store(user_id, extension, presence_db.READY, "", at)

    async def sign_out(self, user_id: int, extension: str, at: datetime) -> None:
        await self._pbx().leave(extension)
        await self._store(user_id, extension, presence_db.OUT, "", at)

    async def pause(self, user_id: int, extension: str, reason: str, at: datetime) -> None:
        await self._pbx().pause(extension, reason)
        await self._store(user_id, extension, presence_db.PAUSED, reason, at)

    async def resume(self, user_id: int, extension: str, at: datetime) -> None:
        await self._pbx().resume(extension)
        await self._store(user_id, extension, presence_db.READY, "", at)

    def _pbx(self) -> PbxControl:
        if self.control is None:
            raise ControlError("交换机未连接")
        return self.control

    async def _store(self, user_id: int, extension: str, state: str, reason: str,
                     at: datetime) -> None:
        async with session_scope(self.sessions) as session:
            await presence_db.set_presence(session, user_id, extension, state, reason, at)

    # -- after (re)connecting ---------------------------------------------------------

    async def restore(self) -> None:
        """On every AMI (re)connect: put back in the queue everyone the console has signed
        in (Asterisk may have restarted and forgotten them), then read the queue as it is.
        What Asterisk refuses is tried again in the background until it takes it; a
        later reconnect starts over."""
        if self.control is None:
            return
        if self._restoring is not None:
            self._restoring.cancel()
        if await self._restore_once():
            return
        self._restoring = asyncio.create_task(self._restore_until_done())

    async def _restore_until_done(self) -> None:
        for _ in range(RESTORE_ATTEMPTS):
            await asyncio.sleep(RESTORE_RETRY_SECONDS)
            if await self._restore_once():
                log.info("the signed-in seats are back in the queue")
                return
        log.error("could not put the signed-in seats back in the queue for %.0f s; they "
                  "must sign in again", RESTORE_ATTEMPTS * RESTORE_RETRY_SECONDS)

    async def _restore_once(self) -> bool:
        """One pass; True when every seat is back and the queue was read."""
        assert self.control is not None
        done = True
        async with session_scope(self.sessions) as session:
            wanted = await presence_db.signed_in(session)
            # A seat an administrator has disabled since is not put back.
            enabled = {p.extension for p in await phones_db.list_phones(session) if p.enabled}
        for row, user in wanted:
            if row.extension not in enabled:
                continue
            try:
                await self.control.join(row.extension, user.display_name or user.username,
                                        paused=row.state == presence_db.PAUSED,
                                        reason=row.reason)
            except ControlError as exc:
                log.warning("could not put %s back in the queue: %s", row.extension, exc)
                done = False
        try:
            members = await self.control.members()
        except ControlError as exc:
            log.warning("could not read the queue: %s", exc)
            return False
        self.seats = {ext: {"extension": ext, "member": True, "paused": m.paused,
                            "reason": m.reason, "device": m.device}
                      for ext, m in members.items()}
        return done


def _ended(call: SeatCall, reason: str) -> Callable[[str], dict[str, Any]]:
    return lambda role: {**call.view(role), "reason": reason}


def pbx_control(request: Request) -> PbxControl | None:
    """The console's PBX control (its one AMI connection), None when the console runs
    without a PBX (some tests)."""
    desk = getattr(request.app.state, "live", None)
    return desk.control if isinstance(desk, LiveDesk) else None
