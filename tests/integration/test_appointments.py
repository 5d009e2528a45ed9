"""After hours: appointments as matters the court can act on (issue 15, Art. 4(6), 4(8)),
through the real Asterisk with keys from a SIPp caller — the half-days the caller keys come
from the court calendar the bridge holds in memory."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline import appointments
from hotline.db.base import session_scope
from hotline.db.models import Appointment
from hotline.hours import court_today, load_calendar
from hotline.settings import Settings
from tests.integration import sipp
from tests.integration.conftest import BridgeProcess
from tests.integration.test_voice_menu import (
    QUERY_CODE,
    finished_call,
    go_when_heard,
    keys,
    prompts_of,
    tickets_of,
)
from tests.integration.test_walking_skeleton import place_call, set_mode


@pytest.fixture(autouse=True)
async def after_hours(bridge: BridgeProcess, sessions: async_sessionmaker[AsyncSession],
                      cases_imported: None) -> None:
    await set_mode(sessions, "closed")


async def _offered(settings: Settings, sessions: async_sessionmaker[AsyncSession]
                   ) -> list[appointments.HalfDay]:
    async with session_scope(sessions) as session:
        calendar = await load_calendar(session, settings)
    return appointments.offered_half_days(calendar, court_today(settings))


async def _appointment(sessions: async_sessionmaker[AsyncSession],
                       ticket_id: int) -> Appointment:
    async with session_scope(sessions) as session:
        found = await session.get(Appointment, ticket_id)
    assert found is not None
    return found


async def test_a_filing_hears_mediation_first_then_keys_its_half_days(
        settings: Settings, sessions: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    caller = "13700001501"
    steps = (sipp.wait_go(1) + sipp.key("5", 0)          # 预约服务, during the welcome
             + sipp.wait_go(2) + sipp.key("1", 0)        # 预约立案
             + sipp.wait_go(3) + sipp.key("2", 0)        # mediation explained: 2 = filing
             + sipp.wait_go(4) + keys("13") + sipp.key("#", 0)  # 1st and 3rd half-days,
             + sipp.wait_go(5))                          # during the list; hangs up once told
    placed = asyncio.create_task(place_call(settings, steps, tmp_path, caller=caller))
    await go_when_heard(sessions, caller, "welcome", tmp_path, 1)
    await go_when_heard(sessions, caller, "appointment-menu", tmp_path, 2)
    await go_when_heard(sessions, caller, "appointment-guidance", tmp_path, 3)
    await go_when_heard(sessions, caller, "appointment-half-day-input", tmp_path, 4)
    await go_when_heard(sessions, caller, "ticket-created", tmp_path, 5)
    result = await placed
    assert result.returncode == 0, result.output

    call = await finished_call(sessions, caller)
    heard = prompts_of(call)
    for prompt in ("mediation-info", "appointment-guidance", "appointment-half-day-input",
                   "ticket-created"):
        assert prompt in heard, (prompt, heard)
    assert heard.index("mediation-info") < heard.index("appointment-half-day-input")
    assert "appointment-case-input" not in heard  # a filing has no case yet
    assert call.menu_path.startswith("5,1,2")
    [ticket] = await tickets_of(sessions, call)
    assert (ticket.type, ticket.subtype, ticket.status) == ("appointment", "filing", "open")
    found = await _appointment(sessions, ticket.id)
    offered = await _offered(settings, sessions)
    assert (found.kind, found.guidance, found.status) == ("filing", "filing", "requested")
    assert found.preferred == [offered[0].code, offered[2].code]
    assert [h.half for h in offered[:3]] == ["am", "pm", "am"]


async def test_meeting_a_judge_keys_the_case_and_a_wrong_half_day_is_asked_again(
        settings: Settings, sessions: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    caller = "13700001502"
    steps = (sipp.wait_go(1) + sipp.key("5", 0) + sipp.wait_go(2) + sipp.key("3", 0)  # 约见法官
             + sipp.wait_go(3) + keys(QUERY_CODE + "#")  # the acceptance notice's code
             + sipp.wait_go(4) + sipp.key("*") + sipp.key("#", 0)  # no half-day is *
             + sipp.wait_go(5) + sipp.key("2") + sipp.key("#", 0)  # asked again: the 2nd
             + sipp.wait_go(6))
    placed = asyncio.create_task(place_call(settings, steps, tmp_path, caller=caller))
    await go_when_heard(sessions, caller, "welcome", tmp_path, 1)
    await go_when_heard(sessions, caller, "appointment-menu", tmp_path, 2)
    await go_when_heard(sessions, caller, "appointment-case-input", tmp_path, 3)
    await go_when_heard(sessions, caller, "appointment-half-day-input", tmp_path, 4)
    await go_when_heard(sessions, caller, "appointment-half-day-retry", tmp_path, 5)
    await go_when_heard(sessions, caller, "ticket-created", tmp_path, 6)
    result = await placed
    assert result.returncode == 0, result.output

    call = await finished_call(sessions, caller)
    heard = prompts_of(call)
    assert "mediation-info" not in heard and "ticket-created" in heard, heard
    [ticket] = await tickets_of(sessions, call)
    found = await _appointment(sessions, ticket.id)
    offered = await _offered(settings, sessions)
    assert (ticket.subtype, found.kind, found.guidance) == ("meet_judge", "meet_judge", "")
    assert found.case_number == "（2026）豫03民初1234号" and found.case_code == ""
    assert found.preferred == [offered[1].code]
    assert QUERY_CODE not in repr([e.detail for e in call.events]) + call.menu_path
