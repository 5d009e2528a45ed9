"""A forwarded ticket answered for real: by SMS through a real SMSC whose receipt closes it,
by a click-to-call the console has Asterisk place (the handler's SIPp desk phone, then a
SIPp caller at the carrier's address), and never without one of the two proofs.

Everything runs as in production: Asterisk with the repo's configuration, the bridge
(which links the reply call to the ticket), `hotline console` over HTTP."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import pbx
from agent_console import accounts
from agent_console.texts import AGENT, DEPT_HANDLER, DEPT_HEAD, LEADER
from hotline import tickets
from hotline.db import departments
from hotline.db import recording_access as recording_access_db
from hotline.db.base import session_scope
from hotline.db.models import Recording, SmsMessage, Ticket
from hotline.db.tickets import create_ticket
from hotline.settings import Settings, SmsSettings
from hotline.sms import register_delivery_hook, unregister_delivery_hook
from hotline.sms.sender import Sender
from hotline.sms.smpp_session import SmppDriver
from recordings import files
from tests.integration import sipp
from tests.integration.conftest import (
    PORTS,
    BridgeProcess,
    live_channels,
    phone_password,
    port,
)
from tests.sms.conftest import PASSWORD as SMSC_PASSWORD
from tests.sms.conftest import SYSTEM_ID, Smsc, smsc  # noqa: F401  (the smsc fixture)

CONSOLE = f"http://127.0.0.1:{PORTS['console']}"
PASSWORD = "replies-12368"
HANDLER_EXT = "8004"
CALLER = "13812345678"
Sessions = async_sessionmaker[AsyncSession]


async def _user(sessions: Sessions, username: str, role: str, extension: str = "") -> int:
    async with session_scope(sessions) as db:
        found = await accounts.get_user(db, username)
        if found is None:
            found = await accounts.add_user(db, username, PASSWORD, role, username, extension)
        return found.id


@pytest.fixture
async def desk(console: None, sessions: Sessions) -> AsyncIterator[dict[str, Any]]:
    """Agent, handler (desk phone 8004), head and leader; a department; API tokens."""
    ids: dict[str, Any] = {name: await _user(sessions, f"tr_{name}", role, ext)
           for name, role, ext in (("agent", AGENT, ""), ("handler", DEPT_HANDLER, HANDLER_EXT),
                                   ("head", DEPT_HEAD, ""), ("leader", LEADER, ""))}
    async with session_scope(sessions) as db:
        found = [d for d in await departments.list_departments(db) if d.name == "立案庭"]
        department = found[0] if found else await departments.save_department(
            db, "立案庭", handler_id=ids["handler"], head_id=ids["head"],
            leader_id=ids["leader"])
        ids["department"] = department.id
    async with httpx.AsyncClient(base_url=CONSOLE, timeout=30) as client:
        for name in ("agent", "handler"):
            login = await client.post("/api/login", json={"username": f"tr_{name}",
                                                          "password": PASSWORD})
            assert login.status_code == 200, login.text
            ids[f"{name}_auth"] = {"Authorization": f"Bearer {login.json()['access_token']}"}
        yield {"client": client, **ids}


async def _forwarded_ticket(sessions: Sessions, desk: dict[str, Any]) -> int:
    async with session_scope(sessions) as db:
        ticket = await create_ticket(db, "complaint", CALLER, None, text="立案窗口推诿",
                                     owner_id=desk["agent"])
        ticket_id = ticket.id
    forwarded = await desk["client"].post(f"/api/tickets/{ticket_id}/forward",
                                          headers=desk["agent_auth"],
                                          json={"department_id": desk["department"]})
    assert forwarded.status_code == 200, forwarded.text
    return ticket_id


async def _ticket(sessions: Sessions, ticket_id: int) -> Ticket:
    async with session_scope(sessions) as db:
        found = await db.get(Ticket, ticket_id)
        assert found is not None
        return found


async def test_a_ticket_without_proof_cannot_close(sessions: Sessions,
                                                   desk: dict[str, Any]) -> None:
    ticket_id = await _forwarded_ticket(sessions, desk)

    refused = await desk["client"].post(f"/api/tickets/{ticket_id}/close",
                                        headers=desk["handler_auth"])

    assert refused.status_code == 409
    assert refused.json()["detail"] == "须有回复录音或短信送达回执，才能办结。"
    ticket = await _ticket(sessions, ticket_id)
    assert ticket.status == "open" and ticket.next_escalation_at == ticket.due_at


async def test_an_sms_reply_closes_the_ticket_when_the_smsc_receipt_arrives(
        sessions: Sessions, desk: dict[str, Any], smsc: Smsc) -> None:  # noqa: F811
    ticket_id = await _forwarded_ticket(sessions, desk)
    replied = await desk["client"].post(f"/api/tickets/{ticket_id}/reply-sms",
                                        headers=desk["handler_auth"],
                                        json={"text": "您反映的问题立案庭已核查，请于周一到窗口办理。"})
    assert replied.status_code == 200, replied.text
    sms_id = replied.json()["answer_sms_id"]
    settings = SmsSettings(driver="smpp", smpp_host="127.0.0.1", smpp_port=smsc.port,
                           smpp_system_id=SYSTEM_ID, smpp_password=SMSC_PASSWORD,
                           smpp_timeout=5.0)
    # The scheduler's sms job registers the same hook (scheduler/sms.py).
    sender = Sender(settings, SmppDriver(settings), sessions)
    register_delivery_hook(tickets.close_on_delivered)
    reference = (await _ticket(sessions, ticket_id)).reference

    def to_caller() -> list[str]:  # about this matter (the others' go to the same number)
        return [e["text"] for e in smsc.events("message") if e["to"] == CALLER
                and (reference in e["text"] or e["text"].startswith("您反映的问题立案庭"))]
    try:
        for _ in range(60):  # until closed and the caller told so, through the SMSC
            await sender.run_once()
            if (await _ticket(sessions, ticket_id)).status == "closed" and any(
                    "办结" in text for text in to_caller()):
                break
            await asyncio.sleep(0.25)
    finally:
        unregister_delivery_hook(tickets.close_on_delivered)
        await sender.driver.close()

    # The caller's side of the loop (issue 15): told when it was forwarded (where to, by
    # when), then the reply itself, then that it is closed, each one SMS with the signature;
    # the closing one asks for the rating too (one SMS, not two).
    forwarded, reply, closed = to_caller()
    assert forwarded.startswith("【") and "已转立案庭办理" in forwarded and "前答复您" in forwarded
    assert reply.startswith("您反映的问题立案庭已核查")
    assert closed.startswith("【") and "办结" in closed and "3不满意" in closed
    assert all(len(text) <= 70 for text in (forwarded, closed))
    ticket = await _ticket(sessions, ticket_id)
    assert ticket.status == "closed" and ticket.next_escalation_at is None
    async with session_scope(sessions) as db:
        message = await db.get(SmsMessage, sms_id)
        assert message is not None and message.status == "delivered"
        assert ticket.answered_at == message.delivered_at
        kinds = [e.kind for e in await tickets.history(db, ticket_id)]
    assert kinds == ["forwarded", "notified", "caller_told", "replied", "closed", "caller_told"]
    # The agent who owns the matter (Art. 6) reads that it closed in the console.
    mine = await desk["client"].get("/api/notices", headers=desk["agent_auth"])
    assert mine.status_code == 200, mine.text
    assert [n["kind"] for n in mine.json()["notices"] if reference in n["text"]] == ["closed"]


@pytest.fixture
def carrier_caller(tmp_path: Path) -> Iterator[None]:
    """The caller's phone out in the public network: a SIPp UAS at the carrier's address
    that answers the hotline's call after a ring and talks until hung up on."""
    proc = subprocess.Popen(
        ["sipp", "-sf", str(sipp.SCENARIOS / "phone.xml"), "-i", "127.0.0.1",
         "-p", str(PORTS["carrier"]), "-mp", str(port(26600)), "-nostdin", "-trace_err"],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sipp.wait_bound(PORTS["carrier"])
    try:
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=10)


async def _wait(predicate: Any, timeout: float = 30.0) -> Any:
    for _ in range(int(timeout / 0.25)):
        if value := await predicate():
            return value
        await asyncio.sleep(0.25)
    raise AssertionError(f"condition not met within {timeout} s")


async def test_a_click_to_call_reply_picked_up_by_the_caller_closes_with_its_recording(
        settings: Settings, sessions: Sessions, bridge: BridgeProcess, desk: dict[str, Any],
        carrier_caller: None, tmp_path: Path) -> None:
    ticket_id = await _forwarded_ticket(sessions, desk)
    password = await phone_password(sessions, HANDLER_EXT)
    handler_phone = sipp.Phone(HANDLER_EXT, password, target=f"127.0.0.1:{PORTS['sip']}",
                               port=port(25300), media_port=port(26300), workdir=tmp_path)

    with handler_phone:
        calling = await desk["client"].post(f"/api/tickets/{ticket_id}/reply-call",
                                            headers=desk["handler_auth"])
        assert calling.status_code == 202, calling.text

        async def both_talking() -> bool:
            up = [c for c in await asyncio.to_thread(live_channels, settings)
                  if c.get("ChannelStateDesc") == "Up"]
            return {c["Channel"].split("-")[0] for c in up} >= {f"PJSIP/{HANDLER_EXT}",
                                                              "PJSIP/carrier"}
        await _wait(both_talking)
        await asyncio.sleep(3)  # they talk
        await asyncio.to_thread(pbx.with_control, settings, lambda control: control.ami.action(
            {"Action": "Hangup", "Channel": f"/^PJSIP\\/{HANDLER_EXT}-.*$/"}))

        async def linked() -> str | None:
            return (await _ticket(sessions, ticket_id)).answer_call_id
        call_id = await _wait(linked)

        async def recorded() -> Recording | None:
            async with session_scope(sessions) as db:
                found = await db.get(Recording, await _recording_id(db, call_id))
                return found if found is not None and found.status == "complete" else None
        recording = await _wait(recorded)

    closed = await desk["client"].post(f"/api/tickets/{ticket_id}/close",
                                       headers=desk["handler_auth"])
    assert closed.status_code == 200, closed.text
    body = closed.json()
    assert body["status"] == "closed" and body["answer_call_id"] == call_id
    assert [e["kind"] for e in body["history"]] == [
        "forwarded", "notified", "caller_told", "reply_call", "call_answered", "caller_told",
        "closed", "caller_told"]
    assert body["history"][-2]["detail"]["recording"] == recording.path
    # The caller was told by SMS that the department answered them, and that it closed;
    # the owner agent, in the console, each time.
    async with session_scope(sessions) as db:
        # (to the caller, not staff; it closed, with the rating question in the same SMS)
        told = (await db.execute(select(SmsMessage.kind).where(
            SmsMessage.ticket_id == ticket_id, SmsMessage.user_id.is_(None))
            .order_by(SmsMessage.id))).scalars()
        assert list(told) == ["forwarded", "answered", "rating_ask"]
    mine = (await desk["client"].get("/api/notices", headers=desk["agent_auth"])).json()
    assert sorted(n["kind"] for n in mine["notices"]
                  if body["reference"] in n["text"]) == ["answered", "closed"]
    probe = files.probe(pbx.instance_for(settings).recordings_dir / recording.path)
    assert probe.status == "complete" and (probe.duration_seconds or 0) >= 3
    ticket = await _ticket(sessions, ticket_id)
    assert ticket.next_escalation_at is None and ticket.answered_at is not None
    # The PBX names who it rang for the reply (HotlineReply): theirs to hear, nobody else's
    # but the department's and the administrators' (hotline.recording_access).
    async with session_scope(sessions) as db:
        made = await recording_access_db.call_events(db, call_id, ("reply-call",))
    assert [e.detail["user_id"] for e in made] == [str(desk["handler"])]


async def _recording_id(db: AsyncSession, call_id: str) -> int:
    query = select(Recording.id).where(Recording.call_id == call_id, Recording.kind == "call")
    return (await db.execute(query)).scalar_one_or_none() or 0
