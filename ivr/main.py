"""The bridge process: FastAGI voice menus and the AMI call tracker in one asyncio loop.

This is the one place that wires the bridge together; every component gets what it needs
in its constructor.

The database stays out of the callers' way: every write goes through one writer with a
journal (ivr/writebehind.py; what a killed bridge left in the journal is applied at start,
before the first call), and whether the hotline is open comes from memory
(hotline.hours.OpenHours), as do the consultation menu's entries (hotline.knowledge.
KnowledgeMenu), refreshed every ROUTING_REFRESH_SECONDS.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import uvloop

import pbx
from hotline import cluster, cpushare, logs
from hotline.db.base import make_engine, make_sessionmaker, session_scope, utcnow
from hotline.db.migrate import upgrade
from hotline.hours import OpenHours
from hotline.knowledge import ensure_default_knowledge
from hotline.settings import Settings, load_settings
from ivr.calltracker import CallTracker
from ivr.closing import ClosingHandover
from ivr.fastagi import FastAgiBindError, FastAgiServer
from ivr.phonesync import PHONES_SYNC_SECONDS, PhoneSync
from ivr.reconcile import Reconciler
from ivr.routes import build_routes
from ivr.routing import RoutingBooks
from ivr.services import Services
from ivr.writebehind import Journal, WriteBehind, WriterThread

log = logging.getLogger("ivr")

HEARTBEAT_SECONDS = 2.0
RECONCILE_SECONDS = 60.0
# How soon a change of mode or calendar (hotline mode, the console) reaches new calls, and a
# SIP ban's expiry or `hotline sip unban` Asterisk's ACL (the ban list's stamp is read with
# the routing books', ivr/routing.py).
ROUTING_REFRESH_SECONDS = 1.0
# How soon another node's bridge's wrong query codes count here (this bridge's own count at
# once: hotline.cases.QueryLockout).
LOCKOUT_REFRESH_SECONDS = 30.0
# The bridge's other threads (the writer's, the drivers', to_thread's) hold the GIL while they
# run Python; the event loop, which callers wait on, gets it back within the switch
# interval. At Python's 5 ms each of the loop's wake-ups during a write batch could wait 5
# ms: at 300 concurrent calls on SQLite the first prompt's p50 / p95 was 45–50 / 320–330 ms,
# at 1 ms 12–15 / 62–136 ms, with no more CPU (bench/README.md).
SWITCH_SECONDS = 0.001


class Bridge:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine = make_engine(settings.database_url)
        sessions = make_sessionmaker(self.engine)
        self.services = Services(settings, sessions, pbx.instance_for(settings),
                                 writer=WriteBehind(sessions, Journal(journal_folder(settings)),
                                                    thread=WriterThread(settings.database_url)),
                                 hours=OpenHours(settings))
        self.agi = FastAgiServer(build_routes(self.services), settings.pbx.agi_host,
                                 settings.pbx.agi_port, allowed_peers=settings.pbx.agi_allow)
        self.tracker = CallTracker(self.services)
        self.reconciler = Reconciler(self.services, self.tracker.live_calls)
        self.ami = pbx.bridge_client(settings)
        for name, handler in self.tracker.subscriptions().items():
            self.ami.on_event(name, handler)
        self.sip_guard = pbx.sip_security.SipGuard(settings, sessions)
        # issue 17: a phone changed on another host reaches this node's Asterisk
        self.phones = PhoneSync(settings, sessions,
                                self.services.pbx.dir("etc") / "site" / "pjsip.conf")
        for name, handler in self.sip_guard.subscriptions().items():
            self.ami.on_event(name, handler)
        self.control = pbx.PbxControl(self.ami)
        self.ami.on_connect(self.on_ami_connect)
        self.closing = ClosingHandover(self.services, self.control)
        self.books = RoutingBooks(self.services, self.sip_guard)
        self._tasks: list[asyncio.Task[None]] = []

    async def run(self, stop: asyncio.Event) -> None:
        async with session_scope(self.services.sessions) as session:
            # A new site's consultation menu is not empty: the shipped entries until the
            # administrator imports the court's own.
            await ensure_default_knowledge(session)
        await self.services.writer.open()
        await self.refresh_routing()
        await self.refresh_lockout()
        await self.agi.start()
        log.info("FastAGI listening on %s:%d", self.settings.pbx.agi_host, self.agi.port)
        self._tasks = [asyncio.create_task(self.ami.connect(wait=None)),
                       asyncio.create_task(self._every(RECONCILE_SECONDS, self.reconcile)),
                       asyncio.create_task(self._every(HEARTBEAT_SECONDS, self.heartbeat)),
                       asyncio.create_task(self._every(ROUTING_REFRESH_SECONDS,
                                                       self.refresh_routing)),
                       asyncio.create_task(self._every(LOCKOUT_REFRESH_SECONDS,
                                                       self.refresh_lockout)),
                       asyncio.create_task(self._every(PHONES_SYNC_SECONDS,
                                                       self.phones.check)),
                       asyncio.create_task(self._every(closing_check_interval(self.settings),
                                                       self.check_closing))]
        await stop.wait()
        await self.close()

    async def on_ami_connect(self) -> None:
        """AMI is back (or up for the first time): what happened while it was away is
        caught up — the tracker forgets the channels that ended, then the reconciler ends
        their calls from the CDR. Serialised with the events (pbx.ami): those after the
        login come after this."""
        await self.tracker.catch_up(self.control)
        await self.reconcile()
        try:  # issue 17: the calls a killed Asterisk left open
            await self.reconciler.close_left_open(self.control)
        except Exception:
            log.exception("ending the calls Asterisk's stop left open failed; next connection")

    async def reconcile(self) -> None:
        try:
            await self.reconciler.run()
        except Exception:
            log.exception("reconciling from Asterisk's CDR failed; will retry")

    async def refresh_routing(self) -> None:
        try:
            for line in await self.books.refresh():
                log.info("%s", line)
        except Exception:
            log.warning("reading the mode and calendar failed; the last ones stay in use",
                        exc_info=True)

    async def refresh_lockout(self) -> None:
        try:
            async with session_scope(self.services.sessions) as session:
                await self.services.lockout.refresh(session, utcnow())
        except Exception:
            log.warning("reading the case query's lock-outs failed; the last ones stay in use",
                        exc_info=True)

    async def check_closing(self) -> None:
        if not self.ami.connected:
            return  # nothing to redirect through; the next check tries again
        try:
            await self.closing.check()
        except pbx.ControlError as exc:
            if self.ami.connected:
                log.exception("closing-time handover of waiting callers failed; will retry")
            else:  # the link dropped mid-check: the next check after it is back retries
                log.warning("closing-time handover interrupted: %s", exc)
        except Exception:
            log.exception("closing-time handover of waiting callers failed; will retry")

    async def heartbeat(self) -> None:
        """What `hotline status` reads: this process is alive and what it is connected to."""
        beat = {"pid": os.getpid(), "time": time.time(), "ami_connected": self.ami.connected,
                "agi_port": self.agi.port, "agi_sessions": self.agi.active_sessions,
                "writes_queued": self.services.writer.queued}
        path = self.settings.bridge_heartbeat_file
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(beat))
        tmp.replace(path)
        if self.settings.cluster.enabled:  # issue 17: this node's row, which every node reads
            await cluster.beat_quietly(self.services.sessions, self.settings, cluster.BRIDGE,
                                       "up" if self.ami.connected else "no-ami",
                                       {"calls": len(self.tracker.live_calls()),
                                        "agi": self.agi.active_sessions})

    async def _every(self, seconds: float, job: Callable[[], Awaitable[None]]) -> None:
        while True:
            await job()
            await asyncio.sleep(seconds)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.agi.stop()
        await self.ami.close()
        await self.sip_guard.close()
        await self.tracker.close()
        await self.services.writer.close()
        await self.engine.dispose()
        self.settings.bridge_heartbeat_file.unlink(missing_ok=True)


def journal_folder(settings: Settings) -> Path:
    """Where the writer journals what it has not committed yet (kept across restarts)."""
    return settings.data_dir / "journal"


def closing_check_interval(settings: Settings) -> float:
    """How often the closing-time handover looks at the queue (at least once a second)."""
    return float(max(1, settings.calls.closing_check_seconds))


async def _serve(settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await Bridge(settings).run(stop)


def main() -> int:
    settings = load_settings()
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    logs.configure(settings.log_dir / "bridge.log")
    # callers wait on this loop: it comes before bulk media work when the cores are busy
    cpushare.set_session_nice(cpushare.BRIDGE_NICE, "bridge")
    upgrade(settings.database_url, court_name=settings.court.name)
    sys.setswitchinterval(SWITCH_SECONDS)
    pid_file = settings.bridge_pid_file
    pid_file.write_text(str(os.getpid()))
    try:
        # libuv's loop: the same asyncio API, its polling, timers and sockets in C, about a
        # twentieth of the bridge's CPU a call less (bench/README.md, issue 12)
        with contextlib.suppress(KeyboardInterrupt):
            uvloop.run(_serve(settings))
    except FastAgiBindError as exc:
        log.error("%s", exc)
        print(f"hotline bridge: {exc}", file=sys.stderr)
        return 2
    finally:
        pid_file.unlink(missing_ok=True)
    return 0
