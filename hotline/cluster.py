"""What makes N PBX nodes one system (issue 17, docs/cluster.md), apart from the SIP proxy:

* each node's bridge and scheduler write a row of cluster_nodes every few seconds
  (:func:`beat`), which `hotline status` and the console show (:func:`node_views`);
* the scheduler runs on one node at a time: the one holding a PostgreSQL advisory lock on
  its own connection (:class:`SchedulerLock`); a node that dies drops its connection, the
  lock goes with it and another node's scheduler takes it;
* the calls a dead node left open are ended by the active scheduler (:func:`close_lost_calls`),
  marked ended_by="node-lost", never deleted;
* a SIP OPTIONS probe (:func:`sip_options`) tells whether a node's Asterisk (or the proxy)
  answers at all.

Nothing here runs on a single server ([cluster] nodes empty).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from hotline.db.base import session_scope
from hotline.db.models import Call, CallEvent, ClusterNode
from hotline.settings import Settings

log = logging.getLogger(__name__)

BRIDGE = "bridge"
SCHEDULER = "scheduler"
ACTIVE = "active"
STANDBY = "standby"
# A process whose row has not moved for this long is shown as stopped (they write every 2 s).
STALE_SECONDS = 15.0
# A bridge silent this long: its node is taken for dead and the calls it left open are
# ended (close_lost_calls). Longer than a bridge restart, so a restart loses nothing.
LOST_SECONDS = 60.0
NODE_LOST = "node-lost"
# The scheduler's advisory lock, as the pair (classid, objid) pg_locks shows it.
LOCK_KEY = (12368, 1)
# How long a query on the lock's connection may take before the lock counts as lost, and
# the second chance it gets once the loop runs again (SchedulerLock._scalar).
LOCK_QUERY_TIMEOUT = 2.0
LATE_ANSWER_SECONDS = 0.5
# About when this process started (it imports this module as it starts).
PROCESS_STARTED = datetime.now(UTC)


def node_name(settings: Settings) -> str:
    """This server's name among the nodes ([cluster] node; the host name if unset)."""
    return settings.cluster.node or socket.gethostname()[:40]


# --- heartbeats ----------------------------------------------------------------------------

async def beat(session: AsyncSession, *, node: str, role: str, state: str,
               detail: dict[str, Any], started_at: datetime, now: datetime) -> None:
    """Write this process's row (the node and role are its key; a restart takes it over)."""
    values = {"host": socket.gethostname()[:100], "pid": os.getpid(), "started_at": started_at,
              "last_seen": now, "state": state, "detail": detail}
    done = await session.execute(update(ClusterNode).where(ClusterNode.node == node,
                                                           ClusterNode.role == role)
                                 .values(**values))
    if not done.rowcount:  # type: ignore[attr-defined]
        session.add(ClusterNode(node=node, role=role, **values))


async def members(session: AsyncSession) -> list[ClusterNode]:
    rows = await session.execute(select(ClusterNode).order_by(ClusterNode.node,
                                                              ClusterNode.role))
    return list(rows.scalars())


async def beat_quietly(sessions: async_sessionmaker[AsyncSession], settings: Settings,
                       role: str, state: str, detail: dict[str, Any]) -> None:
    """beat() in its own transaction; a database away is logged, not raised (the process
    goes on serving; its row ageing is what the other nodes see)."""
    try:
        async with session_scope(sessions) as session:
            await beat(session, node=node_name(settings), role=role, state=state,
                       detail=detail, started_at=PROCESS_STARTED, now=datetime.now(UTC))
    except Exception as exc:
        log.warning("writing this %s's heartbeat row failed: %s", role, exc)


# --- a dead node's calls ---------------------------------------------------------------------

async def close_lost_calls(session: AsyncSession, now: datetime,
                           lost_seconds: float = LOST_SECONDS) -> dict[str, list[str]]:
    """End the open calls of every node whose bridge has been silent for lost_seconds:
    ended at the bridge's last heartbeat (the last moment the node was known alive),
    ended_by "node-lost", a "node-lost" event in the call's log. The node's bridge, back,
    puts the real end from Asterisk's CDR over it if Asterisk kept one. Returns the calls
    ended, by node."""
    silent = (await session.execute(select(ClusterNode).where(
        ClusterNode.role == BRIDGE,
        ClusterNode.last_seen < now - timedelta(seconds=lost_seconds)))).scalars()
    closed: dict[str, list[str]] = {}
    for bridge in silent:
        open_calls = (await session.execute(select(Call).where(
            Call.node == bridge.node, Call.ended_at.is_(None)))).scalars().all()
        for call in open_calls:
            end_as_lost(session, call, max(call.started_at, bridge.last_seen), now,
                        {"node": bridge.node, "last_seen": bridge.last_seen.isoformat()})
        if open_calls:
            closed[bridge.node] = [c.id for c in open_calls]
    return closed


async def close_calls_not_up(session: AsyncSession, node: str, keep: set[str],
                             before: datetime, now: datetime) -> list[str]:
    """The node's bridge, its AMI link back (Asterisk restarted after dying, or the bridge
    after a crash): the node's calls still open that started before `before` and are not in
    `keep` (the calls Asterisk has up, those the bridge tracks) ended while nobody watched
    and left no CDR (Asterisk was killed mid-call). Ended as node-lost at the last moment
    the record knows of (its last step); a CDR found later puts its own end over it."""
    open_calls = (await session.execute(select(Call).where(
        Call.node == node, Call.ended_at.is_(None), Call.started_at < before))).scalars().all()
    lost = [c for c in open_calls if c.id not in keep]
    for call in lost:
        last_step = (await session.execute(select(func.max(CallEvent.at)).where(
            CallEvent.call_id == call.id))).scalar()
        end_as_lost(session, call, max(t for t in (call.started_at, call.answered_at,
                                                   last_step) if t is not None), now,
                    {"node": node, "reason": "not up in Asterisk, no CDR"})
    return [c.id for c in lost]


def end_as_lost(session: AsyncSession, call: Call, at: datetime, now: datetime,
                detail: dict[str, str]) -> None:
    """End a call its node lost: nothing of it is removed; why is in its log."""
    call.ended_at = at
    call.ended_by = NODE_LOST
    call.disposition = "answered" if call.answered_at else "unanswered"
    session.add(CallEvent(call_id=call.id, at=now, kind=NODE_LOST, detail=detail))


# --- the scheduler's lock --------------------------------------------------------------------

class SchedulerLock:
    """pg_try_advisory_lock on a connection of its own, held as long as this node's
    scheduler is active. PostgreSQL drops the lock with the connection: a scheduler killed,
    its server gone or its connection cut loses it at once, and the next standby to try
    takes it. The holder asks its own connection whether it still holds the lock
    (:meth:`held`) before each job and every second: an answer that does not come, or no,
    and its jobs stop."""

    def __init__(self, engine: AsyncEngine) -> None:
        """engine: a PostgreSQL engine with no pool (NullPool) in autocommit."""
        self.engine = engine
        self._conn: AsyncConnection | None = None
        # the periodic check and a job's check share the one connection: one at a time
        self._guard = asyncio.Lock()

    async def try_acquire(self) -> bool:
        if self._conn is None:
            self._conn = await asyncio.wait_for(self.engine.connect(), LOCK_QUERY_TIMEOUT)
        try:
            got = await self._scalar("SELECT pg_try_advisory_lock(:a, :b)")
        except Exception:
            await self.release()
            raise
        if not got:
            await self.release()  # a standby holds no connection between tries
        return bool(got)

    async def held(self) -> bool:
        if self._conn is None:
            return False
        try:
            return bool(await self._scalar(
                "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' "
                "AND classid = :a AND objid = :b AND objsubid = 2 "
                "AND pid = pg_backend_pid() AND granted)"))
        except Exception:  # the connection is gone, or hangs: the lock is not ours to trust
            await self.release()
            return False

    async def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            # Closing the connection frees the lock; a connection that hangs is left to
            # the server, which frees the lock when it notices.
            with contextlib.suppress(Exception):  # already lost: nothing more to free
                await asyncio.wait_for(conn.close(), LOCK_QUERY_TIMEOUT)

    async def _scalar(self, sql: str) -> Any:
        a, b = LOCK_KEY
        async with self._guard:
            if self._conn is None:
                raise ConnectionError("the lock's connection was closed")
            query = asyncio.ensure_future(self._conn.execute(text(sql), {"a": a, "b": b}))
            try:
                done, _ = await asyncio.wait({query}, timeout=LOCK_QUERY_TIMEOUT)
                if not done:
                    # A loop that a job kept busy past the timeout (a report's word
                    # segmentation takes seconds) may not have sent the query yet: a second,
                    # shorter chance, now that the loop runs, tells a late answer from one
                    # that will not come.
                    done, _ = await asyncio.wait({query}, timeout=LATE_ANSWER_SECONDS)
                if not done:
                    raise TimeoutError(f"no answer on the lock's connection in "
                                       f"{LOCK_QUERY_TIMEOUT + LATE_ANSWER_SECONDS:.1f} s")
            finally:
                query.cancel()  # no-op once answered; else nobody waits for it any more
        return query.result().scalar()


def lock_engine(url: str) -> AsyncEngine:
    """The lock's own engine: one connection at a time, opened and closed by the lock."""
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.pool import NullPool

    from hotline.db.base import async_url

    return create_async_engine(async_url(url), poolclass=NullPool, isolation_level="AUTOCOMMIT")


# --- SIP OPTIONS probe ---------------------------------------------------------------------

@dataclass(frozen=True)
class Probe:
    target: str  # host:port
    answered: bool
    status: str = ""  # "200 OK", or why there was no answer
    millis: float = 0.0


def sip_options(host: str, port: int, timeout: float = 2.0) -> Probe:
    """Send one SIP OPTIONS over UDP and wait for any response (any status line is a SIP
    stack that answers, as Kamailio's dispatcher counts it)."""
    target = f"{host}:{port}"
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect((host, port))
            local_host, local_port = sock.getsockname()[:2]
            branch, tag, call_id = (secrets.token_hex(8) for _ in range(3))
            via = f"{local_host}:{local_port};branch=z9hG4bK{branch};rport"
            request = (f"OPTIONS sip:{target} SIP/2.0\r\n"
                       f"Via: SIP/2.0/UDP {via}\r\n"
                       "Max-Forwards: 70\r\n"
                       f"From: <sip:hotline-status@{local_host}>;tag={tag}\r\n"
                       f"To: <sip:{target}>\r\n"
                       f"Call-ID: {call_id}@{local_host}\r\n"
                       "CSeq: 1 OPTIONS\r\n"
                       "User-Agent: hotline-status\r\n"
                       "Content-Length: 0\r\n\r\n")
            started = time.monotonic()
            sock.send(request.encode())
            deadline = started + timeout
            while True:
                sock.settimeout(max(0.01, deadline - time.monotonic()))
                reply = sock.recv(65535).decode("utf-8", errors="replace")
                first = reply.split("\r\n", 1)[0]
                if first.startswith("SIP/2.0 ") and call_id in reply:
                    return Probe(target, True, first[8:],
                                 (time.monotonic() - started) * 1000)
        except TimeoutError:
            return Probe(target, False, f"no answer to SIP OPTIONS in {timeout:g} s")
        except OSError as exc:  # refused (ICMP port unreachable), no route, ...
            return Probe(target, False, exc.strerror or str(exc))


def probe_all(targets: Iterable[tuple[str, int]], timeout: float = 2.0) -> list[Probe]:
    """Every target at once (a status with three nodes down waits one timeout, not three)."""
    from concurrent.futures import ThreadPoolExecutor

    targets = list(targets)
    if not targets:
        return []
    with ThreadPoolExecutor(max_workers=len(targets)) as pool:
        return list(pool.map(lambda t: sip_options(t[0], t[1], timeout), targets))


def node_target(address: str, sip_port: int) -> tuple[str, int]:
    """A node's address ("10.1.1.11", or "10.1.1.11:5060") as (host, port)."""
    host, _, port = address.partition(":")
    return host, int(port) if port.isdigit() else sip_port


# --- what status shows -----------------------------------------------------------------------

@dataclass(frozen=True)
class NodeView:
    """One node as `hotline status` and the console show it."""

    name: str
    address: str
    probe: Probe | None
    bridge: ClusterNode | None
    scheduler: ClusterNode | None
    now: datetime

    @property
    def down(self) -> bool:
        """Its Asterisk does not answer (no probe made: its bridge has stopped writing)."""
        if self.probe is not None:
            return not self.probe.answered
        return not self.alive(self.bridge)

    def alive(self, row: ClusterNode | None) -> bool:
        return row is not None and self.age(row) <= STALE_SECONDS

    def age(self, row: ClusterNode) -> float:
        return (self.now - row.last_seen).total_seconds()

    def part(self, row: ClusterNode | None, role: str) -> str:
        if row is None:
            return f"{role} never seen"
        state = f" {row.state}" if row.state else ""
        calls = f", {row.detail['calls']} call(s)" if "calls" in (row.detail or {}) else ""
        stopped = "" if self.alive(row) else " STOPPED"
        return f"{role}{state}{stopped} ({self.age(row):.0f} s ago, pid {row.pid}{calls})"

    def line(self) -> str:
        sip = ("SIP not probed" if self.probe is None else
               f"SIP {self.probe.status} {self.probe.millis:.0f} ms" if self.probe.answered
               else f"DOWN: {self.probe.status}")
        return (f"{self.name} {self.address}: {sip}; {self.part(self.bridge, BRIDGE)}; "
                f"{self.part(self.scheduler, SCHEDULER)}")


def node_views(settings: Settings, rows: Iterable[ClusterNode],
               probes: dict[str, Probe] | None, now: datetime) -> list[NodeView]:
    """Each configured node with its rows and its probe (by node name), in settings order;
    a row of a node no longer configured is shown too, without an address."""
    by_key = {(r.node, r.role): r for r in rows}
    names = list(settings.cluster.addresses().items())
    names += [(n, "") for n in sorted({n for n, _ in by_key}) if n not in dict(names)]
    return [NodeView(name, address, (probes or {}).get(name), by_key.get((name, BRIDGE)),
                     by_key.get((name, SCHEDULER)), now) for name, address in names]


def active_scheduler(views: Iterable[NodeView]) -> str | None:
    """The node whose scheduler says it is active (and still writes), if one does; the
    freshest when two do (one killed moments ago, its row not stale yet, and the one that
    took over)."""
    active = [(view.age(view.scheduler), view.name) for view in views
              if view.scheduler and view.alive(view.scheduler)
              and view.scheduler.state == ACTIVE]
    return min(active)[1] if active else None
