"""agent_console.live: queue and agent events, as Asterisk 22 sends them, into what each
listening page receives. The PBX end is proven in tests/integration/test_desk.py; here
the database is real and the events are written out by hand."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import pytest
from panoramisk.message import Message
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agent_console import accounts, live
from agent_console.live import LiveDesk
from agent_console.texts import AGENT, LEADER
from hotline.db import calls
from hotline.db import phones as phones_db
from hotline.db import presence as presence_db
from hotline.db.base import session_scope
from hotline.db.tickets import create_ticket
from pbx import ControlError, Member

CALLER = "13812345678"
NOW = "1795756480.123456"


def event(**headers: str) -> Message:
    return Message(headers)


def agent_called(linkedid: str = "1795756476.0") -> Message:
    return event(Event="AgentCalled", Timestamp=NOW, Queue="seats", Interface="PJSIP/8001",
                 MemberName="李四", Channel="PJSIP/carrier-00000000", CallerIDNum=CALLER,
                 Linkedid=linkedid, DestChannel="PJSIP/8001-00000001")


async def drain(desk: LiveDesk, listener: object) -> list[tuple[str, dict[str, object]]]:
    inbox = listener.inbox  # type: ignore[attr-defined]
    out = []
    while not inbox.empty():
        out.append(inbox.get_nowait())
    return out


async def test_ring_pops_up_only_on_that_seat_then_history_follows(
        sessions: async_sessionmaker[AsyncSession]) -> None:
    async with session_scope(sessions) as session:
        await calls.ensure_call(session, "1700000000.1", caller_number=CALLER,
                                started_at=datetime(2026, 11, 20, 2, tzinfo=UTC), route="queue",
                                agent="8002")
        await calls.ensure_call(session, "1795756476.0", caller_number=CALLER)
        await create_ticket(session, "callback", CALLER, call_id="1700000000.1")
    desk = LiveDesk(None, sessions)
    mine, other = desk.listen("8001", AGENT), desk.listen("8002", AGENT)

    await desk.subscriptions()["AgentCalled"](agent_called())

    got = await drain(desk, mine)
    assert [kind for kind, _ in got] == ["ring", "history"]
    ring = got[0][1]
    assert ring["caller_number"] == CALLER and ring["state"] == "ringing"
    assert ring["call_id"] == "1795756476.0" and ring["ami_time"] == float(NOW)
    history = got[1][1]
    # The call now is not its own history.
    assert [h["call_id"] for h in history["history"]] == ["1700000000.1"]  # type: ignore[index]
    assert [t["type"] for t in history["tickets"]] == ["callback"]  # type: ignore[index]
    assert await drain(desk, other) == []


async def test_a_role_without_personal_data_sees_the_number_masked(
        sessions: async_sessionmaker[AsyncSession]) -> None:
    desk = LiveDesk(None, sessions)
    leader = desk.listen("8001", LEADER)

    await desk.subscriptions()["AgentCalled"](agent_called())

    [(kind, data), *_] = await drain(desk, leader)
    assert kind == "ring"
    assert data["caller_number"] != CALLER and str(data["caller_number"]).endswith("5678")
    assert desk.snapshot("8001", AGENT)["call"]["caller_number"] == CALLER


async def test_a_ring_without_a_usable_time_is_stamped_now(
        sessions: async_sessionmaker[AsyncSession]) -> None:
    # A NaN would reach the page as JSON it cannot parse.
    ring = agent_called()
    ring["Timestamp"] = "nan"
    desk = LiveDesk(None, sessions)
    await desk.subscriptions()["AgentCalled"](ring)

    assert abs(desk.calls["8001"].ami_time - time.time()) < 5


async def test_the_callers_abandon_ends_the_pop_of_that_call_only(
        sessions: async_sessionmaker[AsyncSession]) -> None:
    desk = LiveDesk(None, sessions)
    handlers = desk.subscriptions()
    other = agent_called("1795756999.0")
    other["Interface"] = "PJSIP/8002"
    await handlers["AgentCalled"](agent_called())
    await handlers["AgentCalled"](other)

    await handlers["QueueCallerAbandon"](event(Event="QueueCallerAbandon", Queue="seats",
                                               Uniqueid="1795756476.0",
                                               Linkedid="1795756476.0"))

    assert list(desk.calls) == ["8002"]


async def test_connect_then_complete_ends_the_pop(
        sessions: async_sessionmaker[AsyncSession]) -> None:
    desk = LiveDesk(None, sessions)
    handlers = desk.subscriptions()
    listener = desk.listen("8001", AGENT)
    await handlers["AgentCalled"](agent_called())
    await handlers["AgentConnect"](event(Event="AgentConnect", Interface="PJSIP/8001",
                                         DestChannel="PJSIP/8001-00000001"))
    assert desk.calls["8001"].state == "connected"

    await handlers["AgentComplete"](event(Event="AgentComplete", Interface="PJSIP/8001"))

    kinds = [kind for kind, _ in await drain(desk, listener)]
    assert kinds[-2:] == ["connected", "ended"]
    assert "8001" not in desk.calls


async def test_a_transfer_frees_the_seat_that_made_it(
        sessions: async_sessionmaker[AsyncSession]) -> None:
    desk = LiveDesk(None, sessions)
    handlers = desk.subscriptions()
    await handlers["AgentCalled"](agent_called())

    await handlers["BlindTransfer"](event(Event="BlindTransfer", Result="Success",
                                          TransfererChannel="PJSIP/8001-00000001",
                                          Extension="8101"))

    assert desk.calls == {}


async def test_queue_member_events_show_the_seat_state(
        sessions: async_sessionmaker[AsyncSession]) -> None:
    desk = LiveDesk(None, sessions)
    handlers = desk.subscriptions()
    listener = desk.listen("8001", AGENT)

    await handlers["QueueMemberPause"](event(
        Event="QueueMemberPause", Queue="seats", Interface="PJSIP/8001",
        StateInterface="PJSIP/8001", Status="1", Paused="1", PausedReason="break"))
    await handlers["QueueMemberRemoved"](event(
        Event="QueueMemberRemoved", Queue="seats", Interface="PJSIP/8001",
        StateInterface="PJSIP/8001"))

    seats = [data for kind, data in await drain(desk, listener) if kind == "seat"]
    assert seats == [{"extension": "8001", "member": True, "paused": True, "reason": "break",
                      "device": "idle"},
                     {"extension": "8001", "member": False}]


async def test_a_listener_that_falls_behind_is_dropped(
        sessions: async_sessionmaker[AsyncSession]) -> None:
    desk = LiveDesk(None, sessions)
    listener = desk.listen("8001", AGENT)
    member = event(Event="QueueMemberStatus", Interface="PJSIP/8001", Status="1", Paused="0")

    for _ in range(listener.inbox.maxsize + 1):
        await desk.subscriptions()["QueueMemberStatus"](member)

    assert listener not in desk._listeners


class StartingPbx:
    """A PBX just restarted: AMI answers, but app_queue is not loaded for the first few
    QueueAdds (what bench/faults.py asterisk-restart saw on the real Asterisk 22). Only
    this one piece is stood in for; the database is real."""

    def __init__(self, refusals: int) -> None:
        self.refusals, self.queue = refusals, {}  # type: ignore[var-annotated]

    async def join(self, extension: str, name: str, *, paused: bool = False,
                   reason: str = "") -> None:
        if self.refusals:
            self.refusals -= 1
            raise ControlError("交换机未执行 QueueAdd：Invalid/unknown command")
        self.queue[extension] = Member(extension, name, paused, reason, "idle")

    async def members(self) -> dict[str, Member]:
        return dict(self.queue)


async def test_seats_go_back_in_the_queue_once_asterisk_has_loaded_it(
        sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(live, "RESTORE_RETRY_SECONDS", 0.01)
    async with session_scope(sessions) as db:
        if "8001" not in {p.extension for p in await phones_db.list_phones(db)}:
            await phones_db.add_phone(db, "8001", "seat")
        user = await accounts.add_user(db, "lisi", "a-long-password-1", AGENT, "李四", "8001")
        await presence_db.set_presence(db, user.id, "8001", presence_db.PAUSED, "lunch",
                                       datetime.now(UTC))
    pbx = StartingPbx(refusals=3)
    desk = LiveDesk(pbx, sessions)  # type: ignore[arg-type]

    await desk.restore()  # refused: the rest goes on in the background
    assert pbx.queue == {}
    for _ in range(200):
        await asyncio.sleep(0.01)
        if pbx.queue:
            break

    assert pbx.queue == {"8001": Member("8001", "李四", True, "lunch", "idle")}
    assert desk.seats["8001"]["paused"] is True
