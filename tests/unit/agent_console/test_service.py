"""The service layer: a workflow is written once and raises one refusal, which the page
renders as itself again (status, errors, every value as typed) and the API as the JSON it
has always answered."""

from __future__ import annotations

import html

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agent_console import accounts, calllog, sms
from agent_console.accounts import Account
from agent_console.app import create_app
from agent_console.auth import Principal
from agent_console.forms import Invalid, Refused
from agent_console.service import Actor, attempt, transaction
from agent_console.texts import MESSAGES
from hotline.db.base import session_scope
from hotline.db.models import KnowledgeEntry
from hotline.settings import Settings

from .conftest import AGENT_NAME, PASSWORD, Clock, csrf_of, log_in

Sessions = async_sessionmaker[AsyncSession]
# Two fields wrong, the others as an agent types them.
TYPED = {"caller_name": "王五", "caller_kind": "party", "contact": "call me", "id_number": "",
         "case_number": "", "category": "consultation", "question": "上诉期限是多久？",
         "answer": "", "outcome": "answered"}
ERRORS = {"contact": "联系电话有误：电话号码只能包含数字、空格、连字符、括号，开头可有“+86”，分机号前可写“转”或“-”。",
          "answer": "当场解答或告知属实体法律问题时，请填写答复内容。"}


def test_the_api_bodies_of_a_refusal() -> None:
    assert Invalid(ERRORS).status_code == 422
    assert Invalid(ERRORS).detail == {"message": "请更正下面标出的内容。", "errors": ERRORS}
    assert Refused(409, MESSAGES["ticket_closed"]).detail == MESSAGES["ticket_closed"]
    # A message and the field it concerns: the API says the message, the page marks the field.
    both = Refused(403, MESSAGES["not_your_call"], {"call": "该通话不是您接听的。"})
    assert both.detail == MESSAGES["not_your_call"] and both.errors == {"call": "该通话不是您接听的。"}
    assert Refused(404, "x", {"f": "y"}, detail={"field": "f", "message": "y"}).detail == {
        "field": "f", "message": "y"}


@pytest.fixture
async def agent(settings: Settings, sessions: Sessions, clock: Clock, staff: None) -> Actor:
    """The agent as a workflow sees them: no request, no page, no API."""
    async with session_scope(sessions) as db:
        user = await accounts.get_user(db, AGENT_NAME)
    assert user is not None
    console = create_app(settings, sessions, clock=clock).state.console
    return Actor(console, Principal(Account.of(user), None))


async def _token(client: httpx.AsyncClient) -> dict[str, str]:
    response = await client.post("/api/login", json={"username": AGENT_NAME,
                                                     "password": PASSWORD})
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def test_one_field_refusal_renders_as_the_page_with_what_was_typed_and_as_json(
        client: httpx.AsyncClient, agent: Actor) -> None:
    refused = await attempt(calllog.file_log(agent, TYPED, None, False))
    assert isinstance(refused, Refused) and refused.errors == ERRORS

    await log_in(client)
    form = await client.get("/calls/log")
    page = await client.post("/calls/log", data={**TYPED, "csrf_token": csrf_of(form.text)})
    assert page.status_code == 422
    for name in ("caller_name", "contact", "question"):
        assert f'value="{html.escape(TYPED[name])}"' in page.text or \
            f">{html.escape(TYPED[name])}<" in page.text, f"{name} was not kept as typed"
    for message in ERRORS.values():
        assert html.escape(message, quote=False) in page.text

    api = await client.post("/api/calllogs", json=TYPED, headers=await _token(client))
    assert api.status_code == 422
    assert api.json() == {"detail": {"message": "请更正下面标出的内容。", "errors": ERRORS}}
    assert api.json() == {"detail": refused.detail}


async def test_one_refusal_with_a_message_renders_as_the_page_and_as_json(
        client: httpx.AsyncClient, agent: Actor) -> None:
    refused = await attempt(sms.retry(agent, 424242))
    assert isinstance(refused, Refused)
    assert (refused.status_code, refused.message) == (404, MESSAGES["not_found"])

    await log_in(client)
    outbox = await client.get("/sms/outbox")
    page = await client.post("/sms/outbox/424242/retry",
                             data={"csrf_token": csrf_of(outbox.text)})
    assert page.status_code == 404
    assert "text/html" in page.headers["content-type"]
    assert html.escape(MESSAGES["not_found"], quote=False) in page.text

    api = await client.post("/api/sms/outbox/424242/retry", headers=await _token(client))
    assert (api.status_code, api.json()) == (404, {"detail": MESSAGES["not_found"]})


async def test_a_refused_workflow_leaves_nothing_written(agent: Actor,
                                                        sessions: Sessions) -> None:
    """The workflow's transaction rolls back: a step refused half-way saves no half."""
    with pytest.raises(Refused) as refused:
        async with transaction(agent, {LookupError: lambda _: Refused(409, "no")}) as db:
            db.add(KnowledgeEntry(title="半途", answer="未完成"))
            await db.flush()
            raise LookupError("half-way")
    assert refused.value.status_code == 409
    async with session_scope(sessions) as db:
        found = await db.execute(select(KnowledgeEntry).where(KnowledgeEntry.title == "半途"))
        assert found.scalars().first() is None
