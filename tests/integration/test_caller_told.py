"""The caller's side of the loop (issue 15), through the real Asterisk and the bridge: a
caller keys the reference they were told (7 on the main menu) and hears how their matter is
going, from the number that raised it; from any other phone the state goes by SMS to that
number and nothing is read out. The SMS at forwarding and closing, through a real SMSC, and
the owner's notices in the console: tests/integration/test_ticket_replies.py."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline import tickets
from hotline.db.base import session_scope
from hotline.db.models import Department, SmsMessage, User
from hotline.db.tickets import create_ticket
from hotline.settings import Settings
from tests.integration import sipp
from tests.integration.conftest import BridgeProcess
from tests.integration.test_voice_menu import finished_call, go_when_heard, keys, prompts_of
from tests.integration.test_walking_skeleton import place_call, set_mode

Sessions = async_sessionmaker[AsyncSession]
REPORTER = "13700001501"  # raised the matter
STRANGER = "13700001502"
DEPARTMENT = "执行指挥中心"


async def _forwarded_matter(sessions: Sessions, settings: Settings) -> str:
    async with session_scope(sessions) as db:
        handler = User(username="progress-handler", role="dept_handler", password_hash="x",
                       display_name="执行局王五")
        db.add(handler)
        await db.flush()
        department = Department(name=DEPARTMENT, handler_id=handler.id)
        db.add(department)
        await db.flush()
        ticket = await create_ticket(db, "suggestion", REPORTER, None, text="执行款迟迟未到账")
        await tickets.forward(db, settings, ticket, department, None)
        told = (await db.execute(select(SmsMessage).where(
            SmsMessage.ticket_id == ticket.id, SmsMessage.kind == "forwarded"))).scalar_one()
        assert told.to_number == REPORTER and DEPARTMENT in told.text
        return ticket.reference


async def _ask(settings: Settings, sessions: Sessions, caller: str, reference: str,
               workdir: Path, until: str) -> list[str]:
    """7 during the welcome, the reference and # when asked, hang up once `until` started;
    the call's id and what it heard."""
    await asyncio.to_thread(workdir.mkdir)
    steps = (sipp.wait_go(1) + sipp.key("7", 0) + sipp.wait_go(2) + keys(reference, 0.2)
             + sipp.key("#", 0) + sipp.wait_go(3) + sipp.quiet(0.5))
    placed = asyncio.create_task(place_call(settings, steps, workdir, caller=caller))
    await go_when_heard(sessions, caller, "welcome", workdir, 1)
    await go_when_heard(sessions, caller, "progress-input", workdir, 2)
    await go_when_heard(sessions, caller, until, workdir, 3)
    result = await placed
    assert result.returncode == 0, result.output
    call = await finished_call(sessions, caller)
    return [call.id, *prompts_of(call)]


async def _progress_sms(sessions: Sessions, call_id: str) -> list[SmsMessage]:
    for _ in range(25):  # queued behind the call
        async with session_scope(sessions) as db:
            found = list((await db.execute(select(SmsMessage).where(
                SmsMessage.call_id == call_id, SmsMessage.kind.like("progress%")))).scalars())
        if found:
            return found
        await asyncio.sleep(0.2)
    return []


async def test_the_reporter_hears_the_progress_a_stranger_only_sends_it_to_them(
        bridge: BridgeProcess, settings: Settings, sessions: Sessions, tmp_path: Path) -> None:
    await set_mode(sessions, "closed")
    reference = await _forwarded_matter(sessions, settings)

    call_id, *heard = await _ask(settings, sessions, REPORTER, reference, tmp_path / "own",
                                 until="progress-due")
    for prompt in ("progress-input", "progress-forwarded", "progress-department",
                   "progress-forwarded-on", "progress-due"):
        assert prompt in heard, (prompt, heard)
    assert "progress-sms-to-owner" not in heard and "progress-retry" not in heard
    assert await _progress_sms(sessions, call_id) == []  # heard: no SMS

    call_id, *heard = await _ask(settings, sessions, STRANGER, reference, tmp_path / "other",
                                 until="progress-sms-to-owner")
    assert not {"progress-forwarded", "progress-department", "progress-due"} & set(heard)
    [sent] = await _progress_sms(sessions, call_id)
    assert (sent.to_number, sent.kind) == (REPORTER, "progress_forwarded")
    assert reference in sent.text and DEPARTMENT in sent.text and sent.text.startswith("【")
    assert len(sent.text) <= 70
