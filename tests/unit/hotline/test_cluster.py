"""hotline.cluster (issue 17): the nodes' heartbeat rows, a dead node's open calls, the
scheduler's lock in PostgreSQL, the SIP OPTIONS probe and what status shows of the nodes."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import psycopg
import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline import cluster
from hotline.db import calls
from hotline.db.base import session_scope, utcnow
from hotline.db.models import Call, CallEvent, ClusterNode
from hotline.settings import ClusterSettings, Settings

T0 = utcnow().replace(microsecond=0) - timedelta(hours=1)


async def test_a_beat_writes_one_row_per_node_and_role_and_moves_it(
        sessions: async_sessionmaker[AsyncSession]) -> None:
    for seconds, state in ((0, cluster.STANDBY), (2, cluster.ACTIVE)):
        async with session_scope(sessions) as session:
            await cluster.beat(session, node="pbx1", role=cluster.SCHEDULER, state=state,
                               detail={"jobs": 3}, started_at=T0,
                               now=T0 + timedelta(seconds=seconds))
    async with session_scope(sessions) as session:
        await cluster.beat(session, node="pbx1", role=cluster.BRIDGE, state="up",
                           detail={"calls": 1}, started_at=T0, now=T0)
        rows = await cluster.members(session)
    assert [(r.node, r.role, r.state) for r in rows] == [
        ("pbx1", "bridge", "up"), ("pbx1", "scheduler", "active")]
    assert rows[1].last_seen == T0 + timedelta(seconds=2) and rows[1].started_at == T0


async def _bridge_seen(sessions: async_sessionmaker[AsyncSession], node: str,
                       last_seen: object) -> None:
    async with session_scope(sessions) as session:
        await cluster.beat(session, node=node, role=cluster.BRIDGE, state="up", detail={},
                           started_at=T0, now=last_seen)  # type: ignore[arg-type]


async def test_a_silent_nodes_open_calls_are_ended_as_node_lost_and_kept(
        sessions: async_sessionmaker[AsyncSession]) -> None:
    now = T0 + timedelta(minutes=10)
    await _bridge_seen(sessions, "pbx1", now - timedelta(seconds=cluster.LOST_SECONDS + 5))
    await _bridge_seen(sessions, "pbx2", now - timedelta(seconds=3))
    async with session_scope(sessions) as session:
        await calls.ensure_call(session, "dead-answered", node="pbx1", started_at=T0,
                                answered_at=T0 + timedelta(seconds=5))
        await calls.ensure_call(session, "dead-ringing", node="pbx1", started_at=T0)
        await calls.ensure_call(session, "dead-ended", node="pbx1", started_at=T0,
                                ended_at=T0 + timedelta(seconds=30), disposition="answered")
        await calls.ensure_call(session, "alive", node="pbx2", started_at=T0)
        await calls.ensure_call(session, "single-server", started_at=T0)
    async with session_scope(sessions) as session:
        closed = await cluster.close_lost_calls(session, now)
    assert {k: sorted(v) for k, v in closed.items()} == {
        "pbx1": ["dead-answered", "dead-ringing"]}
    async with session_scope(sessions) as session:
        rows = {c.id: c for c in (await session.execute(select(Call))).scalars()}
        events = (await session.execute(select(CallEvent).where(
            CallEvent.kind == cluster.NODE_LOST))).scalars().all()
        again = await cluster.close_lost_calls(session, now)
    lost_at = now - timedelta(seconds=cluster.LOST_SECONDS + 5)
    assert rows["dead-answered"].ended_at == lost_at
    assert rows["dead-answered"].ended_by == cluster.NODE_LOST
    assert rows["dead-answered"].disposition == "answered"
    assert rows["dead-ringing"].disposition == "unanswered"
    assert rows["dead-ended"].ended_by == "" and rows["dead-ended"].ended_at == T0 + timedelta(
        seconds=30)
    assert rows["alive"].ended_at is None and rows["single-server"].ended_at is None
    assert sorted(e.call_id for e in events) == ["dead-answered", "dead-ringing"]
    assert events[0].detail["node"] == "pbx1"
    assert again == {}, "a second pass finds nothing left open"


# --- the scheduler's lock -----------------------------------------------------------------

@pytest.fixture
def pg_url(_pg_database: str) -> str:
    return _pg_database


async def test_one_lock_holder_at_a_time_and_a_dropped_connection_frees_it(
        pg_url: str) -> None:
    first = cluster.SchedulerLock(cluster.lock_engine(pg_url))
    second = cluster.SchedulerLock(cluster.lock_engine(pg_url))
    try:
        assert await first.try_acquire()
        assert not await second.try_acquire(), "held by the first"
        assert await first.held() and not await second.held()
        # The server drops the holder's connection (a node cut off, an administrator's
        # pg_terminate_backend): the holder finds out, the other takes it.
        assert first._conn is not None
        holder = (await first._conn.exec_driver_sql("SELECT pg_backend_pid()")).scalar()
        with psycopg.connect(make_url(pg_url).render_as_string(hide_password=False),
                             autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (holder,))
        assert not await first.held()
        assert await second.try_acquire()
        assert not await first.try_acquire()
        await second.release()
        assert await first.try_acquire(), "released: free for the next"
    finally:
        for lock in (first, second):
            await lock.release()
            await lock.engine.dispose()


async def test_a_lock_answer_late_because_the_loop_was_busy_still_counts(
        pg_url: str) -> None:
    """A job that keeps the scheduler's loop busy past the check's timeout (the monthly
    report's word segmentation took seconds) delays the answer, not the lock: the answer
    waiting on the socket is read, and the lock stays."""
    lock = cluster.SchedulerLock(cluster.lock_engine(pg_url))
    try:
        assert await lock.try_acquire()
        check = asyncio.ensure_future(lock.held())
        for _ in range(1):  # held() has begun, its query not yet sent
            await asyncio.sleep(0)
        time.sleep(cluster.LOCK_QUERY_TIMEOUT + 0.5)  # noqa: ASYNC251  # the loop is busy, on purpose
        assert await check, "the answer came: the lock is still held"
        assert lock._conn is not None and await lock.held()
    finally:
        await lock.release()
        await lock.engine.dispose()


# --- SIP OPTIONS ----------------------------------------------------------------------------

@pytest.fixture
def sip_responder() -> Iterator[tuple[str, int]]:
    """A UDP peer that answers every SIP request with 200 OK (its Via, Call-ID, CSeq)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                data, peer = sock.recvfrom(65535)
            except TimeoutError:
                continue
            headers = [h for h in data.decode().split("\r\n")
                       if h.split(":")[0] in ("Via", "From", "To", "Call-ID", "CSeq")]
            sock.sendto(("SIP/2.0 200 OK\r\n" + "\r\n".join(headers)
                         + "\r\nContent-Length: 0\r\n\r\n").encode(), peer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield sock.getsockname()
    stop.set()
    thread.join()
    sock.close()


def _closed_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_options_answered_and_not(sip_responder: tuple[str, int]) -> None:
    up = cluster.sip_options(*sip_responder, timeout=2)
    assert up.answered and up.status == "200 OK"
    down = cluster.sip_options("127.0.0.1", _closed_udp_port(), timeout=0.5)
    assert not down.answered and down.status
    both = cluster.probe_all([sip_responder, ("127.0.0.1", _closed_udp_port())], timeout=0.5)
    assert [p.answered for p in both] == [True, False]


def test_node_target_takes_the_sip_port_unless_given() -> None:
    assert cluster.node_target("10.1.1.11", 5060) == ("10.1.1.11", 5060)
    assert cluster.node_target("10.1.1.11:7060", 5060) == ("10.1.1.11", 7060)


# --- what status shows ---------------------------------------------------------------------

def _row(node: str, role: str, state: str, age: float, **detail: int) -> ClusterNode:
    return ClusterNode(node=node, role=role, host="h", pid=42, started_at=T0, state=state,
                       last_seen=T0 - timedelta(seconds=age), detail=detail)


def test_views_mark_a_node_down_and_name_the_active_scheduler() -> None:
    settings = dataclasses.replace(Settings(), cluster=ClusterSettings(
        node="pbx1", nodes=("pbx1=10.1.1.11", "pbx2=10.1.1.12"), proxy="10.1.1.10"))
    rows = [_row("pbx1", "bridge", "up", 1, calls=2), _row("pbx1", "scheduler", "standby", 1),
            _row("pbx2", "bridge", "up", 40), _row("pbx2", "scheduler", "active", 40),
            _row("old", "bridge", "up", 9999)]
    probes = {"pbx1": cluster.Probe("10.1.1.11:5060", True, "200 OK", 3.0),
              "pbx2": cluster.Probe("10.1.1.12:5060", False, "no answer")}
    views = cluster.node_views(settings, rows, probes, T0)
    assert [(v.name, v.address, v.down) for v in views] == [
        ("pbx1", "10.1.1.11", False), ("pbx2", "10.1.1.12", True), ("old", "", True)]
    assert "2 call(s)" in views[0].line() and "scheduler standby (1 s ago" in views[0].line()
    assert "DOWN: no answer" in views[1].line()
    assert "bridge up STOPPED (40 s ago" in views[1].line()
    assert cluster.active_scheduler(views) is None, "pbx2's scheduler stopped writing"
    rows[1] = _row("pbx1", "scheduler", "active", 1)
    assert cluster.active_scheduler(cluster.node_views(settings, rows, probes, T0)) == "pbx1"
    rows[3] = _row("pbx2", "scheduler", "active", 6)  # killed 6 s ago, not stale yet
    assert cluster.active_scheduler(cluster.node_views(settings, rows, probes, T0)) == "pbx1"

