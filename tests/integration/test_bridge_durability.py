"""Kill -9 the bridge while calls are up: once it is back every call is in the database,
once, with what the bridge saw of it (issue 12). And cut AMI while a caller hangs up: the
call still gets its end once AMI is back.

The proof is the journal (ivr/writebehind.py), not the reconciler: another process holds
SQLite's write lock while the calls come in, so at the kill the bridge has committed nothing
about them — they exist only in its journal. The reconciler then ends them from Asterisk's
CDR (the bridge was dead when they hung up), which it could not do for calls it never saw.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.db import calls
from hotline.db.base import make_engine, make_sessionmaker, session_scope
from hotline.db.callwrites import ENSURE, EVENT, Write
from hotline.db.models import Call
from hotline.settings import Settings
from ivr.main import journal_folder
from ivr.writebehind import Journal
from tests.integration import sipp
from tests.integration.conftest import MEDIA_PORT, PORTS, BridgeProcess
from tests.integration.test_walking_skeleton import set_mode

CALLER = "13800000012"
CALLS = 4


def journaled(settings: Settings) -> dict[str, list[Write]]:
    """This test's calls as the bridge's journal has them: call id → its writes."""
    records = Journal(journal_folder(settings)).unapplied((0, 0))
    writes = [write for record, _ in records for write in record]
    ours = {w.call_id for w in writes
            if w.op == ENSURE and w.values.get("caller_number") == CALLER}
    return {cid: [w for w in writes if w.call_id == cid] for cid in ours}


def in_the_menu(settings: Settings) -> bool:
    found = journaled(settings)
    return len(found) == CALLS and all(
        any(w.op == EVENT and w.values["kind"] == "prompt" for w in ws) for ws in found.values())


async def our_calls(sessions: async_sessionmaker[AsyncSession], since: datetime,
                    caller: str = CALLER) -> list[Call]:
    async with session_scope(sessions) as session:
        ids = (await session.execute(select(Call.id).where(
            Call.caller_number == caller, Call.started_at >= since))).scalars().all()
        return [c for c in [await calls.get_call(session, i) for i in ids] if c is not None]


async def wait_until(predicate: object, timeout: float) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await asyncio.to_thread(predicate):  # type: ignore[arg-type]
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not within {timeout} s")
        await asyncio.sleep(0.2)


async def test_a_bridge_killed_under_calls_loses_none_and_doubles_none(
        bridge: BridgeProcess, sessions: async_sessionmaker[AsyncSession],
        settings: Settings, tmp_path: Path) -> None:
    await set_mode(sessions, "closed")
    since = datetime.now(UTC)
    lock = sqlite3.connect(str(make_url(settings.database_url).database),
                           isolation_level=None, timeout=10)
    lock.execute("BEGIN IMMEDIATE")  # the bridge journals, but can commit nothing
    try:
        placed = asyncio.create_task(asyncio.to_thread(
            sipp.call, sipp.quiet(14), target=f"127.0.0.1:{PORTS['sip']}",
            local=f"127.0.0.1:{PORTS['carrier']}", caller=CALLER, media_port=MEDIA_PORT,
            workdir=tmp_path, count=CALLS, every_ms=300))
        await wait_until(lambda: in_the_menu(settings), 40)
        assert await our_calls(sessions, since) == []  # only in the journal
        assert bridge.proc is not None
        bridge.proc.kill()
        bridge.proc.wait(timeout=10)
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    before = journaled(settings)

    # The calls go on in the dialplan's fallback and end while the bridge is down.
    result = await placed
    assert result.returncode == 0, result.output
    bridge.start()

    async def all_back() -> list[Call]:
        for _ in range(150):
            found = await our_calls(sessions, since)
            if len(found) == CALLS and all(c.ended_at for c in found):
                return found
            await asyncio.sleep(0.2)
        raise AssertionError(f"calls back: {await our_calls(sessions, since)}")
    back = await all_back()

    assert {c.id for c in back} == set(before)
    for call in back:
        assert call.source == "live" and call.route == "menu"
        steps = [(e.kind, e.at, tuple(sorted(e.detail.items()))) for e in call.events]
        doubled = [step for step, n in Counter(steps).items() if n > 1]
        assert doubled == [], f"call {call.id}: written twice: {doubled}"
        assert [e.kind for e in call.events].count("route") == 1
        prompts = [e.detail.get("prompt") for e in call.events if e.kind == "prompt"]
        assert prompts[:1] == ["welcome"]


CUT_CALLER = "13800000013"


async def cut_ami(settings: Settings, stop: asyncio.Event) -> None:
    """Kill every TCP connection to this Asterisk's AMI port (the clients' sockets), again
    and again, until stop: the bridge's reconnects die within milliseconds."""
    while not stop.is_set():
        killing = await asyncio.create_subprocess_exec(
            "ss", "-K", "-t", "dport", "=", f":{settings.pbx.ami_port}",
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
        await killing.wait()


async def hang_up_during_a_cut(sessions: async_sessionmaker[AsyncSession],
                               settings: Settings, tmp_path: Path) -> Call:
    """A caller in the menu hangs up while AMI is cut; the call as the database has it
    a while after AMI is back for good."""
    since = datetime.now(UTC)
    placed = asyncio.create_task(asyncio.to_thread(
        sipp.call, sipp.quiet(6), target=f"127.0.0.1:{PORTS['sip']}",
        local=f"127.0.0.1:{PORTS['carrier']}", caller=CUT_CALLER, media_port=MEDIA_PORT,
        workdir=tmp_path))
    await wait_until(lambda: asyncio.run(_in_menu(settings, since)), 20)
    stop = asyncio.Event()
    cutter = asyncio.create_task(cut_ami(settings, stop))
    try:
        result = await placed
        assert result.returncode == 0, result.output
        await asyncio.sleep(2.0)
    finally:
        stop.set()
        await cutter
    for _ in range(100):  # AMI back within ~1 s, then the catch-up
        [call] = await our_calls(sessions, since, CUT_CALLER)
        if call.ended_at is not None:
            break
        await asyncio.sleep(0.2)
    return call


async def _in_menu(settings: Settings, since: datetime) -> bool:
    engine = make_engine(settings.database_url)
    try:
        found = await our_calls(make_sessionmaker(engine), since, CUT_CALLER)
    finally:
        await engine.dispose()
    return len(found) == 1 and found[0].route == "menu"


async def test_a_hangup_lost_while_ami_is_cut_still_ends_the_call(
        bridge: BridgeProcess, sessions: async_sessionmaker[AsyncSession],
        settings: Settings, tmp_path: Path) -> None:
    """bench/README.md "AMI cut for 30 s": the tracker counted such a call live forever and
    the reconciler left it open. Now AMI's return asks Asterisk which channels are up."""
    await set_mode(sessions, "closed")
    for _ in range(3):
        call = await hang_up_during_a_cut(sessions, settings, tmp_path)
        # The tracker's Hangup writes a "hangup" step; a reconnect inside the cut may catch
        # the event (then there was no cut for this call): once more.
        if "hangup" not in [e.kind for e in call.events]:
            break
    else:
        raise AssertionError("the Hangup got through every cut")
    assert call.ended_at is not None, "AMI is back, the call has no end"
    assert call.disposition == "answered" and call.route == "menu"
    assert call.ended_at - call.started_at > timedelta(seconds=5)
