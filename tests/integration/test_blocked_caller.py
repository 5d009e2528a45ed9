"""Callers who abuse the line, and complaints about the court's staff, through the real
Asterisk and bridge (issue 15): a number on the block list hears the short notice and the
message path only, and its message is kept; a number not on it gets the menu, and its
complaint about staff (3, then 2) is filed confidential and forwarded to the discipline
department."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline import blocklist
from hotline.db.base import session_scope, utcnow
from hotline.db.models import Department, Ticket, User
from hotline.db.tickets import callbacks_list
from hotline.settings import Settings
from tests.integration import sipp
from tests.integration.conftest import BridgeProcess
from tests.integration.test_voice_menu import (
    finished_call,
    go_when_heard,
    prompts_of,
    seconds,
    tickets_of,
)
from tests.integration.test_walking_skeleton import place_call, set_mode

BLOCKED, COMPLAINANT = "13700150001", "13700150002"


async def _discipline_department(sessions: async_sessionmaker[AsyncSession],
                                 settings: Settings) -> int:
    """The court's discipline department with a handler (made here if the shared database
    has none yet)."""
    name = settings.court.discipline_department
    async with session_scope(sessions) as db:
        found = (await db.execute(select(Department).where(Department.name == name))
                 ).scalar_one_or_none()
        if found is None:
            handler = User(username="h4-discipline", role="dept_handler", password_hash="x")
            db.add(handler)
            await db.flush()
            found = Department(name=name, handler_id=handler.id)
            db.add(found)
            await db.flush()
        return found.id


def _refreshes(settings: Settings) -> int:
    """How often the bridge has loaded the block list (its log says so each time)."""
    log = settings.log_dir / "bridge.log"
    return log.read_text(errors="replace").count("block list:") if log.exists() else 0


async def _block(sessions: async_sessionmaker[AsyncSession], settings: Settings) -> None:
    """Put BLOCKED on the list as an administrator would, and wait until the bridge has it
    in memory."""
    before = _refreshes(settings)
    entry = blocklist.check_entry(BLOCKED, "多次辱骂话务员", utcnow() + timedelta(days=1),
                                  utcnow())
    async with session_scope(sessions) as db:
        await blocklist.save_block(db, entry, None)
    for _ in range(100):
        if _refreshes(settings) > before:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the bridge never reloaded the block list")


async def test_a_blocked_caller_may_only_leave_a_message_and_others_get_the_menu(
        bridge: BridgeProcess, settings: Settings,
        sessions: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    await set_mode(sessions, "closed")
    discipline = await _discipline_department(sessions, settings)
    await _block(sessions, settings)

    # The blocked number: the notice, then the message's intro and beep; it speaks and
    # hangs up.
    notice = seconds(settings, "blocked-caller") + seconds(settings, "message-intro")
    steps = sipp.speak(notice + 1.5) + sipp.speak(3)
    (tmp_path / "blocked").mkdir()
    result = await place_call(settings, steps, tmp_path / "blocked", caller=BLOCKED)
    assert result.returncode == 0, result.output
    call = await finished_call(sessions, BLOCKED)
    heard = prompts_of(call)
    assert heard[:2] == ["blocked-caller", "message-intro"], heard
    assert "welcome" not in heard and "main-menu" not in heard
    assert any(e.kind == "blocked" for e in call.events)
    [message] = await tickets_of(sessions, call)
    assert message.type == "callback" and not message.confidential

    # Anyone else: the menu; 3 (complaints), then 2 (about the court's staff).
    steps = (sipp.wait_go(1) + sipp.key("3", 0) + sipp.wait_go(2) + sipp.key("2", 0)
             + sipp.speak(seconds(settings, "complaint-staff-intro") + 1.0) + sipp.speak(3))
    workdir = tmp_path / "complaint"
    workdir.mkdir()
    placed = asyncio.create_task(place_call(settings, steps, workdir, caller=COMPLAINANT))
    await go_when_heard(sessions, COMPLAINANT, "welcome", workdir, 1)
    await go_when_heard(sessions, COMPLAINANT, "complaint-menu", workdir, 2)
    result = await placed
    assert result.returncode == 0, result.output
    call = await finished_call(sessions, COMPLAINANT)
    heard = prompts_of(call)
    assert heard[:1] == ["welcome"] and "complaint-staff-intro" in heard, heard
    [complaint] = await tickets_of(sessions, call)
    assert (complaint.type, complaint.confidential) == ("complaint", True)
    assert complaint.department_id == discipline and complaint.forwarded_at is not None
    async with session_scope(sessions) as db:
        # no agent's: off the callback list, the discipline department answers it
        callbacks = await db.execute(callbacks_list().with_only_columns(Ticket.id))
        assert complaint.owner_id is None and complaint.id not in set(callbacks.scalars())

