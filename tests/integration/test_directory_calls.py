"""内外一号 through the real Asterisk (issue 15): in office hours a caller keys a department
and a SIPp phone registered as its extension answers, inside the call's one recording; a
staff extension nobody answers gives the caller a message that goes to the department;
and from a submenu * plays the prompt again and 0 reaches a seat. (The directory's own *,
# and 0, and after hours, are tests/unit/ivr/test_directory.py's.)"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import pbx
from agent_console import accounts
from agent_console.texts import DEPT_HANDLER
from hotline.db import directory as directory_db
from hotline.db import phones
from hotline.db.base import session_scope
from hotline.db.models import Department, Phone, Ticket, User
from hotline.directory import read_csv
from hotline.settings import Settings
from pbx import instance_for
from recordings import files
from tests.integration import sipp
from tests.integration.conftest import PORTS, BridgeProcess, live_channels, phone_password, port
from tests.integration.test_voice_menu import (
    finished_call,
    go_when_heard,
    press_every,
    prompts_of,
    seconds,
)
from tests.integration.test_walking_skeleton import place_call, recording_done, set_mode, wait_call

DEPT, DEPT_EXT = "内外一号测试庭", "8155"
NOBODY_EXT = "8156"  # a clerk's extension with no phone registered: nobody answers
DIRECTORY_CSV = f"""类型,名称,所属部门,职务,号码,按键,办公时间
部门,{DEPT},,,{DEPT_EXT},1,
人员,内外一号书记员,{DEPT},书记员,{NOBODY_EXT},,
"""
Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
async def directory(bridge: BridgeProcess, settings: Settings, sessions: Sessions) -> None:
    """The test department in the directory and the phones table, with a named handler;
    the bridge has the directory in memory (its refresh) before the first call."""
    async with session_scope(sessions) as session:
        if await session.get(Phone, DEPT_EXT) is None:
            await phones.add_phone(session, DEPT_EXT, "judge", DEPT)
        rows = await phones.list_phones(session)
        await directory_db.import_items(session, read_csv(DIRECTORY_CSV))
        if await accounts.get_user(session, "dir-handler") is None:
            await accounts.add_user(session, "dir-handler", "dir-handler-12368", DEPT_HANDLER,
                                    "内外一号专人")
        handler = (await session.scalars(select(User).where(User.username == "dir-handler"))).one()
        if not (await session.scalars(select(Department).where(Department.name == DEPT))).all():
            # head and leader are not this test's: the row as the console would keep it
            session.add(Department(name=DEPT, handler_id=handler.id))
    await asyncio.to_thread(pbx.apply_phones, settings, rows)
    await asyncio.sleep(2.0)  # ivr.main.ROUTING_REFRESH_SECONDS, with room


def keys(text: str) -> str:
    return "".join(sipp.key(k, 0.3) for k in text)


async def test_a_caller_keys_a_department_and_its_phone_answers(
        directory: None, settings: Settings, sessions: Sessions, tmp_path: Path) -> None:
    caller = "13600001501"
    target = f"127.0.0.1:{PORTS['sip']}"
    await set_mode(sessions, "open")
    try:
        with sipp.Phone(DEPT_EXT, await phone_password(sessions, DEPT_EXT), target=target,
                        port=port(25581), media_port=port(26581), workdir=tmp_path):
            steps = (sipp.wait_go(1) + sipp.key("2", 0)        # 2: dial a department
                     + sipp.wait_go(2) + sipp.key("1", 0)      # 1: the test department
                     + sipp.speak(8))                          # talks with the department
            placed = asyncio.create_task(place_call(settings, steps, tmp_path, caller=caller))
            await go_when_heard(sessions, caller, "office-menu", tmp_path, 1, settle=1.0)
            await go_when_heard(sessions, caller, "directory-menu", tmp_path, 2)
            answered = await asyncio.to_thread(wait_bridged, settings, DEPT_EXT)
            result = await placed
    finally:
        await set_mode(sessions, "closed")
    assert result.returncode == 0, result.output
    assert answered

    call = await wait_call(sessions, recording_done, caller=caller)
    assert call.route == "directory"
    assert prompts_of(call)[-1] == "directory-connecting"
    [entry] = [e.detail for e in call.events if e.kind == "directory"]
    assert entry["name"] == DEPT
    # One recording, the caller's MixMonitor from the answer to the hang-up, the
    # department's part in it.
    [recording] = [r for r in call.recordings if r.kind == "call"]
    assert recording.status == files.COMPLETE
    assert call.answered_at is not None and call.ended_at is not None
    talked = (call.ended_at - call.answered_at).total_seconds()
    assert recording.duration_seconds == pytest.approx(talked, rel=0.15)


def wait_bridged(settings: Settings, ext: str, timeout: float = 30.0) -> bool:
    """Whether the phone of `ext` came up bridged to the caller within `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = live_channels(settings)
        phone = [c for c in found if c["Channel"].startswith(f"PJSIP/{ext}-")]
        if phone and phone[0].get("BridgeId") and phone[0]["ChannelStateDesc"] == "Up":
            return True
        time.sleep(0.2)
    return False


async def test_an_extension_nobody_answers_takes_a_message_for_the_department(
        directory: None, settings: Settings, sessions: Sessions, tmp_path: Path) -> None:
    caller = "13600001502"
    await set_mode(sessions, "open")
    try:
        steps = (sipp.wait_go(1) + sipp.key("2", 0)                  # dial a department
                 + sipp.wait_go(2) + sipp.key("9", 0)                # 9: an extension
                 + sipp.wait_go(3) + keys(NOBODY_EXT + "#")
                 + sipp.wait_go(4)                                   # the intro, the beep
                 + sipp.speak(seconds(settings, "directory-message-intro") + 1.0)
                 + sipp.speak(3) + sipp.key("#", 1.0)                # the message, ended by #
                 + press_every("1", 1.0, 30))                        # 1 = keep it
        placed = asyncio.create_task(place_call(settings, steps, tmp_path, caller=caller))
        await go_when_heard(sessions, caller, "office-menu", tmp_path, 1, settle=1.0)
        await go_when_heard(sessions, caller, "directory-menu", tmp_path, 2)
        await go_when_heard(sessions, caller, "directory-extension", tmp_path, 3)
        await go_when_heard(sessions, caller, "directory-message-intro", tmp_path, 4)
        result = await placed
    finally:
        await set_mode(sessions, "closed")
    assert result.returncode == 0, result.output

    call = await finished_call(sessions, caller)
    heard = prompts_of(call)
    assert heard.index("directory-connecting") < heard.index("directory-no-answer") \
        < heard.index("directory-message-intro") < heard.index("ticket-created")
    async with session_scope(sessions) as session:
        [ticket] = (await session.scalars(select(Ticket).where(Ticket.call_id == call.id))).all()
        dept = (await session.scalars(select(Department).where(Department.name == DEPT))).one()
    assert ticket.type == "callback" and ticket.audio_path
    audio = files.probe(instance_for(settings).recordings_dir / ticket.audio_path)
    assert audio.status == files.COMPLETE and (audio.duration_seconds or 0) > 2
    assert ticket.department_id == dept.id and ticket.forwarded_at is not None
    assert ticket.detail["department"] == DEPT


async def test_star_repeats_and_zero_reaches_a_seat_from_a_submenu(
        directory: None, settings: Settings, sessions: Sessions, tmp_path: Path) -> None:
    caller = "13600001503"
    target = f"127.0.0.1:{PORTS['sip']}"
    await set_mode(sessions, "open")
    try:
        with sipp.Phone("8003", await phone_password(sessions, "8003"), target=target,
                        port=port(25591), media_port=port(26591), workdir=tmp_path):
            await asyncio.to_thread(pbx.with_control, settings,
                                    lambda control: control.join("8003", "8003"))
            try:
                steps = (sipp.wait_go(1) + sipp.key("1", 0)      # 1: self-service
                         + sipp.wait_go(2) + sipp.key("5", 0)    # 5: appointments
                         + sipp.wait_go(3) + sipp.key("*", 0)    # * : that menu again
                         + sipp.wait_go(4) + sipp.key("0", 0)    # 0: a seat
                         + sipp.speak(8))
                placed = asyncio.create_task(place_call(settings, steps, tmp_path,
                                                        caller=caller))
                await go_when_heard(sessions, caller, "office-menu", tmp_path, 1, settle=1.0)
                await go_when_heard(sessions, caller, "main-menu", tmp_path, 2)
                await go_when_heard(sessions, caller, "appointment-menu", tmp_path, 3)
                await go_when_heard(sessions, caller, "appointment-menu", tmp_path, 4, times=2)
                answered = await asyncio.to_thread(wait_bridged, settings, "8003")
                result = await placed
            finally:
                await asyncio.to_thread(pbx.with_control, settings,
                                        lambda control: control.leave("8003"))
    finally:
        await set_mode(sessions, "closed")
    assert result.returncode == 0, result.output
    assert answered

    call = await finished_call(sessions, caller)
    assert call.route == "queue" and call.agent
    assert call.menu_path == "1,5,*,0"
    heard = prompts_of(call)
    assert heard[:5] == ["office-menu", "main-menu", "appointment-menu", "appointment-menu",
                         "transfer-seat"]
