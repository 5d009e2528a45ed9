"""The console's live view of the phones: a seat's ringing call pops up on that agent's
page, and queue state changes show as they happen.

The console holds its own AMI connection (the `console` AMI user, manager.conf) and
asks the PBX for queue and transfer actions through the pbx part (pbx.PbxControl). In a
cluster it holds one per node (pbx.FanoutControl): a seat joins, pauses and leaves on every
node, events of every node feed the same desks (each tagged with its node, NODE_FIELD), an
action on a call goes to the node the call is on, and each node is put right on its own
reconnect (restore(node)). Pages listen with
server-sent events (GET /api/desk/events); each listener gets what happens on its
user's extension, masked for its role, and the queue's summary (callers waiting, the
longest wait, seats free), which every listener gets.

Wrap-up (话后处理): when the caller hangs up (or the agent transfers them) the call stays on
the desk, state "wrap_up", until the agent saves its log or ends wrap-up; meanwhile the seat
is paused in the queue (reason after_call) and its presence is WRAP_UP. Left open, wrap-up
ends by itself after settings.console.wrap_up_seconds and the seat is ready again. A log
saved while the call is still up means no wrap-up at hang-up. Asterisk's own wrapuptime
(queues.conf, 5 s) covers the moment between the hang-up and our pause.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi import Request
from panoramisk.message import Message
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agent_console.texts import (
    CALL_ROUTE_LABELS,
    CALLER_KIND_LABELS,
    MENU_KEY_LABELS,
    SEES_PERSONAL_DATA,
    TICKET_STATUS_LABELS,
)
from hotline.blocklist import REPEAT_CALLS, recent_calls
from hotline.callid import from_ami
from hotline.catalog import TICKET_TYPES
from hotline.confidential import NOBODY, call_seen, log_seen, ticket_seen
from hotline.db import phones as phones_db
from hotline.db import presence as presence_db
from hotline.db.base import session_scope
from hotline.db.calls import calls_from_number, get_call
from hotline.db.models import AgentPresence, Call, CallLog, Ticket, User
from hotline.privacy import mask_phone
from hotline.settings import Settings
from hotline.timefmt import local_time
from pbx import DEVICE_STATES, AmiClient, ControlError, Member, PbxControl, busiest, extension_of

log = logging.getLogger("agent_console.live")

Handler = Callable[[Message], Awaitable[None]]
# A listener that falls this far behind is dropped rather than holding memory for it.
LISTENER_BACKLOG = 100
# After a (re)connect, Asterisk may not have loaded app_queue yet (a restart: AMI answers
# before the queue exists, and QueueAdd is "Invalid/unknown command"): the seats are put
# back again every RESTORE_RETRY_SECONDS until all are in, for at most RESTORE_ATTEMPTS.
RESTORE_RETRY_SECONDS = 1.0
RESTORE_ATTEMPTS = 60
# The queue's summary is asked of Asterisk this often while a desk is open.
QUEUE_POLL_SECONDS = 2.0
# SeatCall states while the caller is on the line, and after.
TALKING = frozenset({"connected", "consulting"})
WRAP_UP = "wrap_up"
# A matter or an earlier call shown on the pop: this many, newest first.
HISTORY_LIMIT = 10
# The header attach() adds to each event: the node it came from ("" for a server alone).
# Not an Asterisk header: channel names and uniqueids are each node's own and may repeat
# on another node, so a call on the desk is known by its node and its channel together.
NODE_FIELD = "HotlineNode"


@dataclass
class SeatCall:
    """The call ringing or connected on one seat."""

    call_id: str
    caller_number: str
    caller_channel: str
    agent_channel: str
    state: str  # ringing | connected | consulting | wrap_up
    ami_time: float  # Asterisk's time of the ring (AMI Timestamp), seconds since the epoch
    history: list[dict[str, str]] = field(default_factory=list)
    tickets: list[dict[str, str]] = field(default_factory=list)
    # where the call came from, in words ("语音导航：诉讼咨询 → 人工座席")
    origin: str = ""
    # who the caller is by their earlier call logs: name and kind, "" when unknown
    caller_name: str = ""
    caller_kind: str = ""
    answered_at: float | None = None  # seconds since the epoch, for the call timer
    ended_at: float | None = None
    wrap_up_until: float | None = None  # wrap-up ends by itself then
    logged: bool = False  # the agent saved its log while the call was up
    # calls from this number in the last 7 days, this one included: 3 or more is a repeat
    # caller, flagged on the desk and never blocked by it (hotline.blocklist, issue 15)
    recent_calls: int = 0
    node: str = ""  # the cluster's node the call is on; "" for a server alone

    def view(self, role: str) -> dict[str, Any]:
        """What a page of this role may see of the call."""
        whole = role in SEES_PERSONAL_DATA
        number = self.caller_number if whole else mask_phone(self.caller_number)
        history = [h if whole else {**h, "caller_number": mask_phone(h["caller_number"])}
                   for h in self.history]
        return {"call_id": self.call_id, "caller_number": number, "state": self.state,
                "ami_time": self.ami_time, "history": history, "tickets": self.tickets,
                "origin": self.origin,
                "caller_name": self.caller_name if whole else _initial(self.caller_name),
                "caller_kind": self.caller_kind, "answered_at": self.answered_at,
                "ended_at": self.ended_at, "wrap_up_until": self.wrap_up_until,
                "recent_calls": self.recent_calls,
                "repeat_caller": self.recent_calls >= REPEAT_CALLS}


@dataclass(frozen=True)
class Listener:
    extension: str
    role: str
    inbox: asyncio.Queue[tuple[str, dict[str, Any]]]


class LiveDesk:
    def __init__(self, control: PbxControl | None,
                 sessions: async_sessionmaker[AsyncSession],
                 settings: Settings | None = None) -> None:
        self.control, self.sessions = control, sessions
        self.calls: dict[str, SeatCall] = {}  # by extension
        self.seats: dict[str, dict[str, Any]] = {}  # queue state by extension
        self.queue: dict[str, Any] = {"waiting": 0, "oldest_at": None, "free": 0,
                                      "members": 0, "known": False}
        self._listeners: set[Listener] = set()
        # Each node's own view of the seats, merged into self.seats (_merged_seat).
        self._node_seats: dict[str, dict[str, dict[str, Any]]] = {}
        self._restoring: dict[str, asyncio.Task[None]] = {}
        self._wrap_timers: dict[str, asyncio.Task[None]] = {}
        self._polling: asyncio.Task[None] | None = None
        self.configure(settings or Settings())

    def configure(self, settings: Settings) -> None:
        """The court's time zone (history times) and the wrap-up limit, from settings."""
        self.timezone = settings.hours.timezone
        self.wrap_up_seconds = float(settings.console.wrap_up_seconds)

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

    def attach(self, node: str, ami: AmiClient) -> None:
        """Feed this node's events to the desks, and put the node right on every
        (re)connect; "" for a server alone. A node of a cluster that drops its link loses
        its say on the seats until it is back."""
        for name, handler in self.subscriptions().items():
            ami.on_event(name, _tagged(node, handler))
        ami.on_connect(functools.partial(self.restore, node))
        if node:
            ami.on_disconnect(functools.partial(self._node_lost, node))

    # -- listeners ----------------------------------------------------------------

    def listen(self, extension: str, role: str) -> Listener:
        listener = Listener(extension, role, asyncio.Queue(LISTENER_BACKLOG))
        self._listeners.add(listener)
        if self.control is not None and (self._polling is None or self._polling.done()):
            self._polling = asyncio.create_task(self._poll_queue())
        return listener

    def forget(self, listener: Listener) -> None:
        self._listeners.discard(listener)

    def snapshot(self, extension: str, role: str) -> dict[str, Any]:
        call = self.calls.get(extension)
        return {"seat": self.seats.get(extension, {"extension": extension, "member": False}),
                "call": call.view(role) if call else None, "queue": dict(self.queue),
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
        ringing, node = from_ami(event), _node(event)
        talking = self.calls.get(ext)
        if talking is not None and talking.node != node and talking.state in TALKING:
            # Each node's ringinuse knows only its own calls: another node offers a call
            # to a seat already talking here. The desk keeps the call the agent is on.
            log.info("node %s rings %s, talking on node %s: the desk keeps that call",
                     node, ext, talking.node)
            return
        call = SeatCall(call_id=ringing.call_id, caller_number=ringing.caller_number,
                        caller_channel=str(event.get("Channel", "")),
                        agent_channel=str(event.get("DestChannel", "")),
                        state="ringing", ami_time=ringing.at.timestamp(), node=node)
        self.calls[ext] = call
        # The ring goes out first; what the database knows follows a moment later, so a
        # slow query never delays the pop itself.
        self._push(ext, "ring", call.view)
        await self._add_history(ext, call)

    async def _add_history(self, ext: str, call: SeatCall) -> None:
        async with session_scope(self.sessions) as session:
            now = await get_call(session, call.call_id)
            # The ring came from the seats queue, so that is the call's route now, whatever
            # the record says yet: the bridge writes it behind the call, and after the
            # office-hours sentence it can lag the ring by the writer's batch.
            call.origin = origin("queue", now.menu_path if now else "")
            if call.caller_number:
                past = await calls_from_number(session, call.caller_number,
                                               HISTORY_LIMIT, call.call_id,
                                               call_seen(NOBODY, Call.id))
                tickets = await _matters_of(session, call.caller_number)
                name, kind = await _known_as(session, call.caller_number)
                call.recent_calls = await recent_calls(session, call.caller_number)
            else:
                past, tickets, name, kind = [], [], "", ""
        zone = self.timezone
        call.caller_name, call.caller_kind = name, CALLER_KIND_LABELS.get(kind, "")
        call.history = [{"call_id": c.id, "caller_number": c.caller_number,
                         "started_at": c.started_at.isoformat(),
                         "started_local": local_time(c.started_at, zone), "route": c.route,
                         "route_label": origin(c.route, c.menu_path), "agent": c.agent}
                        for c in past]
        call.tickets = [{"reference": t.reference, "type": t.type,
                         "type_label": TICKET_TYPES.get(t.type, t.type), "status": t.status,
                         "status_label": TICKET_STATUS_LABELS.get(t.status, t.status),
                         "created_at": t.created_at.isoformat(),
                         "created_local": local_time(t.created_at, zone)} for t in tickets]
        if self.calls.get(ext) is call:
            self._push(ext, "history", call.view)

    async def _agent_connect(self, event: Message) -> None:
        ext = extension_of(str(event.get("Interface", "")))
        call = self.calls.get(ext)
        if call is None or call.node != _node(event):
            return
        call.state = "connected"
        call.answered_at = time.time()
        call.agent_channel = str(event.get("DestChannel", call.agent_channel))
        self._push(ext, "connected", call.view)

    async def _agent_gone(self, event: Message) -> None:
        ext = extension_of(str(event.get("Interface", "")))
        call = self.calls.get(ext)
        if call is None or call.state == WRAP_UP or call.node != _node(event):
            return
        if call.state in TALKING:
            await self._wrap_up(ext, call)
        else:
            del self.calls[ext]
            self._push(ext, "ended", _ended(call, str(event.get("Event", ""))))

    async def _caller_abandon(self, event: Message) -> None:
        abandoned, node = from_ami(event).call_id, _node(event)
        for ext, call in list(self.calls.items()):
            if call.call_id == abandoned and call.node == node and call.state != WRAP_UP:
                del self.calls[ext]
                self._push(ext, "ended", _ended(call, "abandoned"))

    async def _transferred(self, event: Message) -> None:
        # Whoever transferred: their seat is free of the caller now, and wraps the call up.
        for key in ("TransfererChannel", "OrigTransfererChannel"):
            ext = extension_of(str(event.get(key, "")))
            call = self.calls.get(ext) if ext else None
            if call is None or call.state == WRAP_UP or call.node != _node(event):
                continue
            if call.state in TALKING:
                await self._wrap_up(ext, call)
            else:
                del self.calls[ext]
                self._push(ext, "ended", _ended(call, "transferred"))

    # -- wrap-up (话后处理) --------------------------------------------------------------

    async def _wrap_up(self, ext: str, call: SeatCall) -> None:
        """The caller has gone: the call stays on the desk and the seat takes no new call
        until its log is saved (end_wrap_up) or wrap_up_seconds have passed."""
        call.state, call.ended_at = WRAP_UP, time.time()
        if call.logged or self.wrap_up_seconds <= 0:
            del self.calls[ext]
            self._push(ext, "ended", _ended(call, "logged" if call.logged else "hangup"))
            return
        call.wrap_up_until = call.ended_at + self.wrap_up_seconds
        self._push(ext, "wrap_up", call.view)
        async with session_scope(self.sessions) as session:
            row = await presence_db.on_extension(session, ext)
            pause = row is not None and row.state == presence_db.READY
            if row is not None and pause:
                await presence_db.set_presence(session, row.user_id, ext, presence_db.WRAP_UP,
                                               AFTER_CALL, _utc(call.ended_at))
        if pause and self.control is not None:
            try:
                await self.control.pause(ext, AFTER_CALL)
            except ControlError as exc:
                log.warning("could not pause %s for wrap-up: %s", ext, exc)
        self._arm_wrap_up(ext, self.wrap_up_seconds)

    def _arm_wrap_up(self, ext: str, delay: float) -> None:
        old = self._wrap_timers.pop(ext, None)
        if old is not None:
            old.cancel()
        self._wrap_timers[ext] = asyncio.create_task(self._wrap_up_expires(ext, delay))

    async def _wrap_up_expires(self, ext: str, delay: float) -> None:
        await asyncio.sleep(max(delay, 0.0))
        self._wrap_timers.pop(ext, None)
        try:
            await self.end_wrap_up(ext, datetime.now(UTC), reason="timeout", only_wrap_up=True)
        except ControlError as exc:
            log.warning("wrap-up of %s ended, but the seat was not resumed: %s", ext, exc)

    async def end_wrap_up(self, ext: str, at: datetime, *, reason: str = "done",
                          only_wrap_up: bool = False) -> bool:
        """Wrap-up ends (the log saved, the agent's 结束话后处理, or the limit): the call
        leaves the desk and a seat still in WRAP_UP is ready in the queue again. A call
        still up is marked logged instead (unless only_wrap_up: the limit's timer), so its
        hang-up needs no wrap-up. False when there was nothing to end."""
        call = self.calls.get(ext)
        if call is not None and call.state != WRAP_UP:
            if only_wrap_up:
                call = None
            else:
                call.logged = True
                return True
        timer = self._wrap_timers.pop(ext, None)
        if timer is not None and timer is not asyncio.current_task():
            timer.cancel()
        ended = False
        if call is not None:
            del self.calls[ext]
            self._push(ext, "ended", _ended(call, reason))
            ended = True
        async with session_scope(self.sessions) as session:
            row = await presence_db.on_extension(session, ext)
            if row is not None and row.state == presence_db.WRAP_UP:
                await presence_db.set_presence(session, row.user_id, ext, presence_db.READY,
                                               "", at)
                ended = True
            else:
                row = None
        if row is not None and self.control is not None:
            await self.control.resume(ext)
        return ended

    async def shutdown(self) -> None:
        """Stop the wrap-up timers and the queue's poll (the console stopping, tests)."""
        tasks = [*self._wrap_timers.values(), *([self._polling] if self._polling else [])]
        self._wrap_timers.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- the queue's summary ------------------------------------------------------------

    async def _poll_queue(self) -> None:
        """While any desk listens: ask Asterisk for the callers waiting and the seats, and
        tell every desk when that changes."""
        while self._listeners and self.control is not None:
            try:
                await self.refresh_queue()
            except ControlError as exc:
                log.debug("queue summary not read: %s", exc)
            await asyncio.sleep(QUEUE_POLL_SECONDS)

    async def refresh_queue(self) -> dict[str, Any]:
        assert self.control is not None
        waiting = await self.control.waiting_callers()
        members = await self.control.members()
        summary = queue_summary(waiting, members)
        if summary != self.queue:
            self.queue = summary
            for listener in list(self._listeners):
                self._push(listener.extension, "queue", lambda _role: dict(summary))
        return summary

    async def _member(self, event: Message) -> None:
        ext = extension_of(str(event.get("StateInterface") or event.get("Interface", "")))
        if not ext:
            return
        seat = {"extension": ext, "member": True, "paused": str(event.get("Paused")) == "1",
                "reason": str(event.get("PausedReason", "")),
                "device": DEVICE_STATES.get(str(event.get("Status")), "unknown")}
        self._node_seats.setdefault(_node(event), {})[ext] = seat
        self._seat_changed(ext)

    async def _member_removed(self, event: Message) -> None:
        ext = extension_of(str(event.get("StateInterface") or event.get("Interface", "")))
        if ext:
            self._node_seats.setdefault(_node(event), {}).pop(ext, None)
            self._seat_changed(ext)

    def _seat_changed(self, ext: str) -> None:
        seat = self._merged_seat(ext)
        self.seats[ext] = seat
        self._push(ext, "seat", lambda _role: dict(seat))

    def _merged_seat(self, ext: str) -> dict[str, Any]:
        """The seat as the desk shows it: as its one node has it, or, in a cluster, a
        member of any node's queue, paused if paused on any, its phone's busiest state."""
        views = [seats[ext] for seats in self._node_seats.values() if ext in seats]
        if len(views) == 1:
            return dict(views[0])
        if not views:
            return {"extension": ext, "member": False}
        return {"extension": ext, "member": True,
                "paused": any(v["paused"] for v in views),
                "reason": next((v["reason"] for v in views if v["paused"]), ""),
                "device": busiest([v["device"] for v in views])}

    async def _node_lost(self, node: str) -> None:
        """A node's link dropped: what it said of the seats no longer counts, and its calls
        leave the desks as a hang-up would take them (a node that dies ends its calls; one
        that only lost its link sends no hang-up later): a talking call goes to wrap-up."""
        lost = self._node_seats.pop(node, {})
        for ext in lost:
            self._seat_changed(ext)
        for ext, call in list(self.calls.items()):
            if call.node != node or call.state == WRAP_UP:
                continue
            if call.state in TALKING:
                await self._wrap_up(ext, call)
            else:
                del self.calls[ext]
                self._push(ext, "ended", _ended(call, "node_lost"))

    # -- presence: what the console asks, stored so it survives restarts ------------------

    async def sign_in(self, user_id: int, extension: str, name: str, at: datetime) -> None:
        await self._pbx().join(extension, name)
        await self._store(user_id, extension, presence_db.READY, "", at)
        self._drop_wrap_up(extension, "signed_in")

    async def sign_out(self, user_id: int, extension: str, at: datetime) -> None:
        await self._pbx().leave(extension)
        await self._store(user_id, extension, presence_db.OUT, "", at)
        self._drop_wrap_up(extension, "signed_out")

    def _drop_wrap_up(self, extension: str, reason: str) -> None:
        """Signing in or out starts the seat afresh: a call left in wrap-up leaves the desk."""
        timer = self._wrap_timers.pop(extension, None)
        if timer is not None:
            timer.cancel()
        call = self.calls.get(extension)
        if call is not None and call.state == WRAP_UP:
            del self.calls[extension]
            self._push(extension, "ended", _ended(call, reason))

    async def pause(self, user_id: int, extension: str, reason: str, at: datetime) -> None:
        await self._pbx().pause(extension, reason)
        await self._store(user_id, extension, presence_db.PAUSED, reason, at)

    async def resume(self, user_id: int, extension: str, at: datetime) -> None:
        await self._pbx().resume(extension)
        await self._store(user_id, extension, presence_db.READY, "", at)
        # 示闲 during wrap-up ends it.
        call = self.calls.get(extension)
        if call is not None and call.state == WRAP_UP:
            await self.end_wrap_up(extension, at)

    def _pbx(self) -> PbxControl:
        if self.control is None:
            raise ControlError("交换机未连接")
        return self.control

    async def _store(self, user_id: int, extension: str, state: str, reason: str,
                     at: datetime) -> None:
        async with session_scope(self.sessions) as session:
            await presence_db.set_presence(session, user_id, extension, state, reason, at)

    # -- after (re)connecting ---------------------------------------------------------

    async def restore(self, node: str = "") -> None:
        """On every AMI (re)connect of a node ("" for a server alone): put back in its
        queue everyone the console has signed in (Asterisk may have restarted and
        forgotten them, or, in a cluster, the seat signed in while the node was away),
        then read its queue as it is. What Asterisk refuses is tried again in the
        background until it takes it; a later reconnect starts over."""
        if self.control is None:
            return
        running = self._restoring.pop(node, None)
        if running is not None:
            running.cancel()
        if await self._restore_once(node):
            return
        self._restoring[node] = asyncio.create_task(self._restore_until_done(node))

    async def _restore_until_done(self, node: str) -> None:
        for _ in range(RESTORE_ATTEMPTS):
            await asyncio.sleep(RESTORE_RETRY_SECONDS)
            if await self._restore_once(node):
                log.info("the signed-in seats are back in the queue%s",
                         f" of node {node}" if node else "")
                return
        log.error("could not put the signed-in seats back in the queue%s for %.0f s; they "
                  "must sign in again", f" of node {node}" if node else "",
                  RESTORE_ATTEMPTS * RESTORE_RETRY_SECONDS)

    async def _restore_once(self, node: str = "") -> bool:
        """One pass; True when every seat is back and the queue was read."""
        assert self.control is not None
        try:
            control = self.control.on(node) if node else self.control
        except ControlError as exc:
            log.error("cannot restore the queue: %s", exc)
            return True
        done = True
        async with session_scope(self.sessions) as session:
            wanted = await presence_db.signed_in(session)
            # A seat an administrator has disabled since is not put back.
            enabled = {p.extension for p in await phones_db.list_phones(session) if p.enabled}
        for row, user in wanted:
            if row.extension not in enabled:
                continue
            try:
                await control.join(row.extension, user.display_name or user.username,
                                        paused=row.state != presence_db.READY,
                                        reason=row.reason)
            except ControlError as exc:
                log.warning("could not put %s back in the queue: %s", row.extension, exc)
                done = False
                continue
            if row.state == presence_db.WRAP_UP and row.extension not in self._wrap_timers:
                # The console restarted mid wrap-up: the call is gone from memory, the
                # limit still holds from when wrap-up began.
                left = self.wrap_up_seconds - (datetime.now(UTC) - row.since).total_seconds()
                self._arm_wrap_up(row.extension, left)
        try:
            members = await control.members()
            if node:
                members = await self._drop_signed_out(control, members, wanted, enabled)
        except ControlError as exc:
            log.warning("could not read the queue: %s", exc)
            return False
        self._node_seats[node] = {ext: {"extension": ext, "member": True, "paused": m.paused,
                                        "reason": m.reason, "device": m.device}
                                  for ext, m in members.items()}
        self.seats = {ext: self._merged_seat(ext)
                      for ext in {e for seats in self._node_seats.values() for e in seats}}
        return done

    @staticmethod
    async def _drop_signed_out(control: PbxControl, members: dict[str, Member],
                               wanted: list[tuple[AgentPresence, User]],
                               enabled: set[str]) -> dict[str, Member]:
        """A node of a cluster that only lost its link kept its queue: a seat signed out
        meanwhile (on the other nodes) leaves this one too."""
        keep = {row.extension for row, _user in wanted if row.extension in enabled}
        for ext in [e for e in members if e not in keep]:
            await control.leave(ext)
            del members[ext]
        return members


def _node(event: Message) -> str:
    return str(event.get(NODE_FIELD, ""))


def _tagged(node: str, handler: Handler) -> Handler:
    async def tagged(event: Message) -> None:
        event[NODE_FIELD] = node
        await handler(event)
    return tagged


def _ended(call: SeatCall, reason: str) -> Callable[[str], dict[str, Any]]:
    return lambda role: {**call.view(role), "reason": reason}


AFTER_CALL = "after_call"  # the pause reason Asterisk and the figures see for wrap-up


def _initial(name: str) -> str:
    """A caller's name for a role that does not see personal data: its first character."""
    return name[:1] + "*" * (len(name) - 1)


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def origin(route: str, menu_path: str) -> str:
    """Where a call went, in words: the voice-menu keys pressed on the way, and the route."""
    keys = [MENU_KEY_LABELS.get(k, f"按键 {k}") for k in menu_path.split(",") if k]
    route_label = CALL_ROUTE_LABELS.get(route, "") or "未分流"
    if not keys:
        return "直接转" + route_label if route == "queue" else route_label
    path = "语音菜单按键：" + " → ".join(keys)
    return path if route in {"menu", ""} else f"{path}（{route_label}）"


def queue_summary(waiting: dict[str, str], members: dict[str, Any]) -> dict[str, Any]:
    """Callers waiting, since when the longest has waited (seconds since the epoch, from
    its Asterisk uniqueid: when the call arrived), seats free (in the queue, not paused,
    phone idle) and seats in the queue."""
    arrivals = [float(uid) for uid in waiting if _is_number(uid)]
    free = sum(1 for m in members.values() if not m.paused and m.device == "idle")
    return {"waiting": len(waiting), "oldest_at": min(arrivals) if arrivals else None,
            "free": free, "members": len(members), "known": True}


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


async def _matters_of(session: AsyncSession, number: str) -> list[Ticket]:
    """The caller's matters, open or closed, newest first."""
    query = (select(Ticket).where(Ticket.caller_number == number, ticket_seen(NOBODY))
             .order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(HISTORY_LIMIT))
    return list((await session.execute(query)).scalars())


async def _known_as(session: AsyncSession, number: str) -> tuple[str, str]:
    """The caller's name and kind as the latest call log of theirs has them."""
    query = (select(CallLog.caller_name, CallLog.caller_kind)
             .outerjoin(Call, Call.id == CallLog.call_id)
             .where(or_(CallLog.contact == number, Call.caller_number == number),
                    CallLog.caller_name != "", log_seen(NOBODY))
             .order_by(CallLog.created_at.desc()).limit(1))
    found = (await session.execute(query)).first()
    return (found[0], found[1]) if found else ("", "")


def pbx_control(request: Request) -> PbxControl | None:
    """The console's PBX control (its one AMI connection), None when the console runs
    without a PBX (some tests)."""
    desk = getattr(request.app.state, "live", None)
    return desk.control if isinstance(desk, LiveDesk) else None
