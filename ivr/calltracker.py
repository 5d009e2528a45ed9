"""Every call's life, from AMI events to the database, as it happens.

The events this module handles are listed once, in :meth:`CallTracker.subscriptions`;
asterisk-conf/manager.conf filters AMI down to exactly those (a unit test keeps the two
lists equal). Per-channel state is dropped on Hangup, and on every AMI (re)connect for the
channels Asterisk no longer has (:meth:`CallTracker.catch_up`): a Hangup lost while AMI was
cut must not keep a call "live" forever, since the reconciler leaves live calls alone.

AMI events are handled one after another, so a handler never waits on a commit: what it
learns goes to the bridge's writer (ivr/writebehind.py), journaled and committed behind.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from panoramisk.message import Message

from hotline import tickets
from hotline.callid import from_ami
from hotline.db import callwrites as w
from hotline.db.base import session_scope
from hotline.db.recording_access import user_on_extension
from ivr.services import Services
from pbx import ControlError, PbxControl, extension_of
from pbx import names as v
from recordings import COMPLETE, wait_finished

log = logging.getLogger(__name__)

STATE_UP = "6"


@dataclass
class _Channel:
    started_at: datetime
    caller_number: str
    name: str
    answered_at: datetime | None = None
    call_id: str = ""
    # When the far end hung up (HangupRequest): the channel's Hangup comes only after its
    # hangup handlers and, for a call in the voice menu, after the bridge has closed its
    # FastAGI session, so a busy machine would lengthen the call by that bookkeeping.
    left_at: datetime | None = None


class CallTracker:
    def __init__(self, services: Services, recording_timeout: float = 15.0) -> None:
        self.services = services
        self.recording_timeout = recording_timeout
        self._channels: dict[str, _Channel] = {}
        self._finishing: set[asyncio.Task[None]] = set()
        # Calls whose recording started while this bridge listened: their files are judged
        # at the hang-up (the reconciler judges any other's, once the call has ended).
        self._recording: dict[str, set[str]] = {}

    def subscriptions(self) -> dict[str, Callable[[Message], Awaitable[None]]]:
        """Every AMI event the bridge handles, and its handler."""
        return {
            "Newchannel": self.on_newchannel,
            "Newstate": self.on_newstate,
            "HangupRequest": self.on_hangup_request,
            "Hangup": self.on_hangup,
            "QueueCallerJoin": self.on_queue_join,
            "QueueCallerAbandon": self.on_queue_abandon,
            "AgentConnect": self.on_agent_connect,
            "BlindTransfer": self.on_transfer,
            "AttendedTransfer": self.on_transfer,
            "UserEvent": self.on_user_event,
        }

    async def on_newchannel(self, event: Message) -> None:
        call = from_ami(event)
        self._channels[event.Uniqueid] = _Channel(
            started_at=call.at, caller_number=call.caller_number,
            name=event.get("Channel", ""), call_id=call.call_id)

    def live_calls(self) -> set[str]:
        """Calls with a channel still up, as this bridge has seen them: the reconciler
        leaves these to the tracker (a leg's CDR, e.g. the agent's after a transfer, is
        not the end of the call)."""
        return {c.call_id for c in self._channels.values() if c.call_id}

    async def catch_up(self, control: PbxControl) -> list[str]:
        """After AMI (re)connects: forget every channel Asterisk no longer has — its Hangup
        was lost in the gap — and the recording watch of every call with none left up, so
        the reconciler ends those calls and judges their recordings from the CDR. Runs as
        an on_connect callback, before the events that arrive after the login (pbx.ami);
        returns the uniqueids forgotten."""
        try:
            up = await control.channels()
        except ControlError as exc:
            log.warning("AMI back, but Asterisk's channels could not be read (%s); the calls "
                        "the bridge still counts as up are kept", exc)
            return []
        gone = [uniqueid for uniqueid in self._channels if uniqueid not in up]
        for uniqueid in gone:
            del self._channels[uniqueid]
        calls_up = {c.linkedid for c in up.values()} | self.live_calls()
        for call_id in [c for c in self._recording if c not in calls_up]:
            del self._recording[call_id]
        if gone:
            log.info("AMI back: %d channel(s) ended while it was away; the reconciler ends "
                     "their calls from the CDR", len(gone))
        return gone

    async def on_newstate(self, event: Message) -> None:
        call = from_ami(event)
        if event.get("ChannelState") != STATE_UP or not call.primary:
            return
        channel = self._channels.get(event.Uniqueid)
        if channel is not None:
            # Answer() comes before the call is registered; remembered for _recording_started.
            channel.answered_at = call.at
        self.services.writer.write(w.update(call.call_id, answered_at=call.at))

    async def on_user_event(self, event: Message) -> None:
        name = event.get("UserEvent", "")
        if name in (v.EVENT_RECORDING, v.EVENT_MESSAGE):
            await self._recording_started(event, "call" if name == v.EVENT_RECORDING else "message")
        elif name == v.EVENT_FALLBACK:
            await self._event(event, "fallback", {"agi_status": event.get("AgiStatus", "")},
                              route=v.CALL_ROUTE_FALLBACK)
        elif name == v.EVENT_QUEUE_LEFT:
            await self._event(event, "queue-left", {"status": event.get("Status", "")})
        elif name in (v.EVENT_TRANSFER, v.EVENT_TRANSFER_RETURNED):
            kind = "judge-ringing" if name == v.EVENT_TRANSFER else "transfer-returned"
            detail = {"target": event.get("Target", ""), "back": event.get("Back", "")}
            if name == v.EVENT_TRANSFER:
                detail["kind"] = event.get("Kind", "")
            else:
                detail["status"] = event.get("Status", "")  # Dial's: NOANSWER, BUSY, ...
            await self._event(event, kind, detail)
        elif name == v.EVENT_REPLY:
            await self._reply_ended(event)

    async def _reply_ended(self, event: Message) -> None:
        """A handler's reply call ended: link it to its ticket (hotline.tickets)."""
        ticket, call = event.get("Ticket", ""), from_ami(event)
        if not ticket.isdigit():
            log.warning("reply call %s names no ticket", call.call_id)
            return
        self.services.writer.later(
            lambda session: tickets.link_reply_call(
                session, int(ticket), call.call_id, event.get("DialStatus", ""),
                event.get("Talked", ""), at=call.at, staff=event.get("Staff", ""),
                settings=self.services.settings),
            f"reply call {call.call_id} of ticket {ticket}")

    async def on_queue_join(self, event: Message) -> None:
        await self._event(event, "queue", {"queue": event.get("Queue", ""),
                                           "position": event.get("Position", "")})

    async def on_queue_abandon(self, event: Message) -> None:
        await self._event(event, "abandon", {"queue": event.get("Queue", "")})

    async def on_agent_connect(self, event: Message) -> None:
        agent = event.get("MemberName") or event.get("Interface", "")
        detail = {"agent": agent}
        # Who answered, resolved now: seats change hands, and recordings are heard only
        # by the agent who handled the call (hotline.recording_access).
        extension = extension_of(event.get("Interface", ""))
        if extension:
            detail["extension"] = extension
            async with session_scope(self.services.sessions) as session:
                user_id = await user_on_extension(session, extension)
            if user_id is not None:
                detail["user_id"] = str(user_id)
        await self._event(event, "agent", detail, agent=agent)

    async def on_transfer(self, event: Message) -> None:
        await self._event(event, "transfer", {"kind": event.get("Event", ""),
                                              "result": event.get("Result", "")})

    async def on_hangup_request(self, event: Message) -> None:
        """The far end of a channel hung up (a caller's BYE): the moment the call ended
        for them, whatever the channel still does before its Hangup."""
        channel = self._channels.get(event.Uniqueid)
        if channel is not None and channel.left_at is None:
            channel.left_at = from_ami(event).at

    async def on_hangup(self, event: Message) -> None:
        channel = self._channels.pop(event.Uniqueid, None)
        ended = from_ami(event)
        if not ended.primary:
            return
        at = min(ended.at, channel.left_at) if channel and channel.left_at else ended.at
        cause = int(event.get("Cause", "0") or 0)
        # Answered or not is decided by the writer from what the record says by then.
        self.services.writer.write(
            w.hangup(ended.call_id, at, cause),
            w.event(ended.call_id, "hangup", {"cause": str(cause)}, at=at, if_known=True))
        if ended.call_id in self._recording:
            self._finish_recordings_later(ended.call_id, self._recording.pop(ended.call_id))

    async def _recording_started(self, event: Message, kind: str) -> None:
        relative, call = event.get("Recording", ""), from_ami(event)
        channel = self._channels.get(event.Uniqueid) or _Channel(
            call.at, call.caller_number, event.get("Channel", ""))
        facts = {"started_at": channel.started_at, "caller_number": channel.caller_number,
                 "channel": channel.name, "answered_at": channel.answered_at}
        self._recording.setdefault(call.call_id, set()).add(relative)
        # The voice menu may have created the call a moment earlier; AMI knows better
        # when the channel really started.
        self.services.writer.write(
            w.ensure(call.call_id, node=self.services.node, **facts),
            w.update(call.call_id, **facts),
            w.recording(call.call_id, relative, kind),
            w.event(call.call_id, "recording", {"path": relative, "kind": kind}, at=call.at))

    async def _event(self, event: Message, kind: str, detail: dict[str, str],
                     **call_values: str) -> None:
        call = from_ami(event)
        # Only for a hotline call (not staff calling each other): known to the database.
        writes = [w.event(call.call_id, kind, detail, at=call.at, if_known=True)]
        if call_values:
            writes.append(w.update(call.call_id, **call_values))  # none for an unknown call
        self.services.writer.write(*writes)

    def _finish_recordings_later(self, call_id: str, paths: set[str]) -> None:
        # MixMonitor closes the file a moment after the hang-up; waiting for it here would
        # hold up every event behind this one.
        task = asyncio.create_task(self.finish_recordings(call_id, paths))
        self._finishing.add(task)
        task.add_done_callback(self._finishing.discard)

    async def finish_recordings(self, call_id: str, paths: set[str]) -> None:
        """Judge the call's recordings (as AMI named them) once their files are closed.
        Not only those still recording: the reconciler may have judged a file while the call
        went on (a leg's CDR ends at an attended transfer); the real hang-up has the last
        word."""
        for relative in sorted(paths):
            result = await wait_finished(self.services.recording_file(relative),
                                               self.recording_timeout)
            self.services.writer.write(w.finish_recording(
                call_id, relative, result.status, result.duration_seconds, result.size_bytes))
            if result.status != COMPLETE:
                log.warning("call %s: recording %s is %s", call_id, relative, result.status)

    async def close(self) -> None:
        for task in list(self._finishing):
            task.cancel()
        await asyncio.gather(*self._finishing, return_exceptions=True)

