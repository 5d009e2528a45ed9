"""Rebuild calls the bridge did not see live, from Asterisk's CDR file.

Asterisk writes one JSON line per call leg to <logdir>/cdr-custom/hotline-cdr.json
(asterisk-conf/cdr_custom.conf). After any gap — the bridge was down, AMI was cut — the
reconciler reads the lines it has not read yet (its position is kept in the database, so a
restart resumes there), and for each call:
  * unknown to the database → created from the CDR, marked source=reconciled;
  * known but never ended (the bridge died mid-call) → ended from the CDR — unless the
    call tracker still counts it live (an agent's leg ends at a transfer while the caller
    talks on): its legs are kept and looked at again each pass until it is not.
Its recordings are attached and checked like live ones. Running it twice changes nothing.

Its writes are one job of the bridge's writer (ivr/writebehind.py): after everything the
bridge queued before (a call the tracker already wrote is not written again as reconciled),
and in the same transaction as the new read position.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.callid import CallIdentity, epoch_utc, from_cdr
from hotline.cluster import NODE_LOST, close_calls_not_up
from hotline.db import calls
from hotline.db import callwrites as w
from hotline.db.base import session_scope, utcnow
from ivr.services import Services
from pbx import ControlError, PbxControl
from recordings import probe

log = logging.getLogger(__name__)

SOURCE = "cdr-custom"


@dataclass
class CallFacts:
    """What the CDR legs of one call say about it."""

    call_id: str
    caller_number: str = ""
    channel: str = ""
    started_at: datetime | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    disposition: str = ""
    route: str = ""
    recordings: dict[str, str] = field(default_factory=dict)  # relative path → kind
    from_public: bool = False  # came in from the carrier or reached the hotline's contexts

    def add_leg(self, leg: dict[str, Any]) -> None:
        identity = from_cdr(leg)
        if identity.primary:
            self._add_caller_record(leg, identity)
        context = str(leg.get("dcontext", ""))
        self.from_public |= context == "from-carrier" or context.startswith("hotline-")
        ended = epoch_utc(leg.get("end"))
        if ended and (self.ended_at is None or ended > self.ended_at):
            self.ended_at = ended
        self.route = self.route or str(leg.get("hotline_route", ""))
        for key, kind in (("hotline_recording", "call"), ("hotline_message", "message")):
            if leg.get(key):
                self.recordings[str(leg[key])] = kind

    def _add_caller_record(self, leg: dict[str, Any],
                           identity: CallIdentity[datetime | None]) -> None:
        # The caller's channel has one record per party it met (each seat the queue rang):
        # the call started with the first, was answered at the first answer, and counts as
        # answered if any of them was.
        started = identity.at
        if started and (self.started_at is None or started < self.started_at):
            self.started_at = started
            self.caller_number = identity.caller_number
            self.channel = str(leg.get("channel", ""))
        answered = epoch_utc(leg.get("answer"))
        if answered and (self.answered_at is None or answered < self.answered_at):
            self.answered_at = answered
        if leg.get("disposition") == "ANSWERED" or not self.disposition:
            self.disposition = "answered" if leg.get("disposition") == "ANSWERED" else "unanswered"


def read_new_lines(path: Path, position: int, fingerprint: str) -> tuple[list[str], int, str]:
    """Complete lines after position; starts over when the file was replaced or truncated."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return [], 0, ""
    current = f"{stat.st_dev}:{stat.st_ino}"
    if current != fingerprint or stat.st_size < position:
        position = 0
    with path.open("rb") as handle:
        handle.seek(position)
        data = handle.read()
    complete = data[: data.rfind(b"\n") + 1]  # a line being written is read next time
    # Only "\n" ends a record: str.splitlines() would also split on U+2028 inside a string.
    lines = complete.decode("utf-8", errors="replace").split("\n")[:-1]
    return lines, position + len(complete), current


def group_legs(lines: list[str]) -> dict[str, CallFacts]:
    return call_facts(parse_legs(lines))


def parse_legs(lines: list[str]) -> dict[str, list[dict[str, Any]]]:
    """The CDR lines' legs by call id, in the order they were written."""
    legs: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for number, line in enumerate(lines, 1):
        try:
            leg = json.loads(line)
        except json.JSONDecodeError:
            leg = None
        if not isinstance(leg, dict):
            log.warning("CDR line %d is not a JSON object; skipped", number)
            continue
        call_id = from_cdr(leg).call_id
        if call_id:
            legs[call_id].append(leg)
    return legs


def _read_legs(path: Path, position: int, fingerprint: str
               ) -> tuple[dict[str, list[dict[str, Any]]], int, str]:
    lines, position, fingerprint = read_new_lines(path, position, fingerprint)
    return parse_legs(lines), position, fingerprint


def call_facts(legs: dict[str, list[dict[str, Any]]]) -> dict[str, CallFacts]:
    facts: dict[str, CallFacts] = {}
    for call_id, call_legs in legs.items():
        facts[call_id] = CallFacts(call_id)
        for leg in call_legs:
            facts[call_id].add_leg(leg)
    # Calls between staff phones are not hotline calls; a caller who hung up before the
    # dialplan marked the call (no route, no recording yet) still is one.
    return {cid: f for cid, f in facts.items() if f.route or f.recordings or f.from_public}


class Reconciler:
    def __init__(self, services: Services,
                 live_calls: Callable[[], set[str]] = set) -> None:
        """live_calls: the calls the bridge sees up right now, which are left alone."""
        self.services = services
        self.live_calls = live_calls
        # A pass on reconnect and the periodic pass must not read the same lines at once.
        self._lock = asyncio.Lock()
        # Legs already read of calls that were live then (the read position has moved past
        # them): looked at again on every pass until the call has ended, by its Hangup or
        # here once the tracker no longer counts it live (a Hangup lost while AMI was cut).
        self._waiting: dict[str, list[dict[str, Any]]] = {}

    async def run(self) -> list[str]:
        """One pass; returns the ids of calls it created or completed."""
        async with self._lock:
            return await self._pass()

    async def _pass(self) -> list[str]:
        source = mark_source(self.services.node)
        async with session_scope(self.services.sessions) as session:
            mark = await calls.get_mark(session, source)
        position, fingerprint = (mark.position, mark.fingerprint) if mark else (0, "")
        # A minute of calls' CDR lines: read and parsed off the event loop, which callers wait on.
        legs, position, fingerprint = await asyncio.to_thread(
            _read_legs, self.services.pbx.cdr_file, position, fingerprint)
        for call_id, earlier in self._waiting.items():
            legs[call_id] = earlier + legs.get(call_id, [])
        facts, live = call_facts(legs), self.live_calls()

        async def apply(session: AsyncSession) -> tuple[list[str], list[str]]:
            changed, waiting = await self._apply(session, facts, live)
            await calls.set_mark(session, source, position, fingerprint)
            return changed, waiting
        changed, waiting = await self.services.writer.run(apply)
        self._waiting = {call_id: legs[call_id] for call_id in waiting}
        await self._check_recordings()
        await self.services.writer.flush()  # a pass is over once what it found is written
        if changed:
            log.info("reconciled %d call(s) from Asterisk's CDR", len(changed))
        return changed

    async def _apply(self, session: AsyncSession, facts: dict[str, CallFacts],
                     live: set[str]) -> tuple[list[str], list[str]]:
        """The calls created or completed, and the known ones left open because live."""
        changed, waiting = [], []
        known = await calls.existing_ids(session, facts)
        for call_id, fact in facts.items():
            call = known.get(call_id)
            if call is not None and call.ended_at is None and call_id in live:
                waiting.append(call_id)
                continue
            if call is not None and call.ended_at is not None and call.ended_by != NODE_LOST:
                continue
            if call is None:
                await calls.ensure_call(session, call_id, source="reconciled",
                                        node=self.services.node, **_call_values(fact))
                await calls.add_event(session, call_id, "reconciled", {"from": SOURCE})
            else:  # open, or ended for its node's silence: Asterisk's own end is better
                await calls.update_call(session, call_id, ended_at=fact.ended_at,
                                        disposition=fact.disposition, ended_by="")
            for relative, kind in fact.recordings.items():
                await calls.add_recording(session, call_id, relative, kind)
            changed.append(call_id)
        return changed, waiting

    async def close_left_open(self, control: PbxControl) -> list[str]:
        """After AMI (re)connects on a cluster's node: its calls still open that Asterisk
        no longer has and whose CDR never came (Asterisk was killed mid-call) are ended as
        node-lost (hotline.cluster.close_calls_not_up). Asterisk's channels are read
        first, then the CDR once more: a call that ended before the read has its CDR line
        written by then (cdr.conf batch = no) and is ended from it instead."""
        if not self.services.node:
            return []
        try:
            up = {channel.linkedid for channel in (await control.channels()).values()}
        except ControlError as exc:
            log.warning("Asterisk's channels could not be read (%s): calls left open by a "
                        "restart are looked at on the next connection", exc)
            return []
        before = utcnow()
        await self.run()
        keep = up | self.live_calls() | set(self._waiting)

        async def close(session: AsyncSession) -> list[str]:
            return await close_calls_not_up(session, self.services.node, keep, before,
                                            utcnow())
        closed = await self.services.writer.run(close)
        if closed:
            log.warning("%d call(s) of node %s were left open by Asterisk's stop; ended as "
                        "node-lost", len(closed), self.services.node)
        return closed

    async def _check_recordings(self) -> None:
        async with session_scope(self.services.sessions) as session:
            pending = await calls.recordings_in_progress(session)
            # Another node's recordings are its bridge's to judge (on its own disk, or
            # being written still while the call's record says it ended)
            ended = {c.id for c in (await calls.existing_ids(
                session, {r.call_id for r in pending})).values()
                if c.ended_at and c.node in ("", self.services.node)}
        live = self.live_calls()
        for recording in pending:
            if recording.call_id not in ended or recording.call_id in live:
                continue
            result = probe(self.services.recording_file(recording.path))
            self.services.writer.write(w.finish_recording(
                recording.call_id, recording.path, result.status, result.duration_seconds,
                result.size_bytes))


def mark_source(node: str) -> str:
    """The read position's key: each node reads its own Asterisk's CDR file."""
    return f"{SOURCE}@{node}" if node else SOURCE


def _call_values(fact: CallFacts) -> dict[str, Any]:
    values: dict[str, Any] = {"caller_number": fact.caller_number, "channel": fact.channel,
                              "answered_at": fact.answered_at, "ended_at": fact.ended_at,
                              "disposition": fact.disposition, "route": fact.route}
    if fact.started_at:
        values["started_at"] = fact.started_at
    return values


