"""Agents pick the court on the call log (issue 17): the field appears with more than one
active court, left empty it is the case number's court, else the centre's; a court that
is not active is named as a wrong field; the matter raised from the log is that court's."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agent_console.calllog import check_log
from agent_console.forms import Invalid
from hotline import tickets
from hotline.db import calllogs
from hotline.db.base import session_scope
from hotline.db.courts import CourtFields, save_court
from hotline.db.models import Court

from .conftest import AGENT_NAME, PASSWORD, csrf_of, log_in

Sessions = async_sessionmaker[AsyncSession]
GOOD = {"caller_name": "王五", "caller_kind": "party", "contact": "13812345678",
        "category": "consultation", "question": "何时开庭？", "answer": "",
        "outcome": "forwarded"}
CENTRE = Court(id=1, name="洛阳市中级人民法院", case_prefix="豫03", centre=True, active=True)
XIGONG = Court(id=2, name="洛阳市西工区人民法院", case_prefix="豫0303", centre=False,
               active=True)


@pytest.mark.parametrize(("court", "case_number", "expected"), [
    ("", "（2026）豫0303民初12号", 2),  # left empty: the case number's court
    ("", "（2026）豫03民终5号", 1),
    ("", "", 1),  # no case number: the centre's
    ("1", "（2026）豫0303民初12号", 1),  # the agent's pick wins over the case number
    ("2", "", 2),
])
def test_the_logs_court(court: str, case_number: str, expected: int) -> None:
    fields = check_log({**GOOD, "court": court, "case_number": case_number},
                       [CENTRE, XIGONG])
    assert fields.court_id == expected


def test_a_court_not_offered_is_named_and_one_court_asks_nothing() -> None:
    with pytest.raises(Invalid) as refused:
        check_log({**GOOD, "court": "3"}, [CENTRE, XIGONG])
    assert refused.value.errors == {"court": "所属法院不存在，请重新选择。"}
    assert check_log({**GOOD, "court": "3"}, [CENTRE]).court_id is None


async def test_the_form_offers_the_courts_and_the_matter_is_the_picked_courts(
        client: httpx.AsyncClient, sessions: Sessions) -> None:
    await log_in(client)
    form = await client.get("/calls/log")
    assert 'name="court"' not in form.text, "one court: nothing to pick"
    assert 'name="court"' not in (await client.get("/desk")).text
    async with session_scope(sessions) as db:
        xigong = await save_court(db, CourtFields("洛阳市西工区人民法院", "西工区法院",
                                                  "豫0303"))
    form = await client.get("/calls/log")
    assert 'name="court"' in form.text and ">西工区法院</option>" in form.text
    desk = await client.get("/desk")
    assert desk.status_code == 200 and ">西工区法院</option>" in desk.text, "the desk's too"
    csrf = csrf_of(form.text)

    wrong = await client.post("/calls/log", data={**GOOD, "court": "99",
                                                  "csrf_token": csrf})
    assert wrong.status_code == 422
    assert 'id="court-error" role="alert">所属法院不存在' in wrong.text
    assert 'value="王五"' in wrong.text, "what was typed is kept"

    saved = await client.post("/calls/log", data={**GOOD, "court": str(xigong.id),
                                                  "csrf_token": csrf})
    assert saved.status_code == 303
    log_id = int(re.findall(r"\d+", saved.headers["location"])[-1])
    async with session_scope(sessions) as db:
        log = await calllogs.get_log(db, log_id)
        assert log is not None and log.court_id == xigong.id
        matter = await tickets.ticket_for_call_log(db, log)
        assert matter.court_id == xigong.id
    edit = await client.get(f"/calls/log/{log_id}")
    assert 'name="court"' not in edit.text, "its matter's court moves by forwarding"


async def test_the_api_takes_the_court(client: httpx.AsyncClient, sessions: Sessions) -> None:
    async with session_scope(sessions) as db:
        xigong = await save_court(db, CourtFields("洛阳市西工区人民法院", case_prefix="豫0303"))
    login = await client.post("/api/login", json={"username": AGENT_NAME,
                                                  "password": PASSWORD})
    agent = {"Authorization": f"Bearer {login.json()['access_token']}"}
    by_case = await client.post("/api/calllogs", headers=agent, json={
        **GOOD, "case_number": "（2026）豫0303民初12号"})
    assert by_case.status_code == 201 and by_case.json()["court_id"] == xigong.id
    wrong = await client.post("/api/calllogs", headers=agent, json={**GOOD, "court": "x"})
    assert wrong.status_code == 422
    assert wrong.json()["detail"]["errors"] == {"court": "所属法院不存在，请重新选择。"}
