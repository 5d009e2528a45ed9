"""agent_console.live: queue and agent events, as Asterisk 22 sends them, into what each
listening page receives. The PBX end is proven in tests/integration/test_desk.py; here
the database is real and the events are written out by hand."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from datetime import UTC, datetime, timedelta

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
from hotline.db.models import CallLog
from hotline.db.tickets import create_ticket
from hotline.settings import Settings
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


class SeatsPbx:
    """The queue's side of the PBX as the desk asks it: pauses and resumes are recorded,
    the queue read back. Only this one piece is stood in for; the database is real."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str, str]] = []
        self.waiting: dict[str, str] = {}
        self.queue: dict[str, Member] = {}

    async def pause(self, extension: str, reason: str) -> None:
        self.asked.append(("pause", extension, reason))

    async def resume(self, extension: str) -> None:
        self.asked.append(("resume", extension, ""))

    async def waiting_callers(self) -> dict[str, str]:
        return dict(self.waiting)

    async def members(self) -> dict[str, Member]:
        return dict(self.queue)


async def _seated(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with session_scope(sessions) as db:
        user = await accounts.add_user(db, "lisi", "a-long-password-1", AGENT, "李四", "8001")
        await presence_db.set_presence(db, user.id, "8001", presence_db.READY, "",
                                       datetime.now(UTC))
        return user.id


async def _state(sessions: async_sessionmaker[AsyncSession], user_id: int) -> str:
    async with session_scope(sessions) as db:
        row = await presence_db.get_presence(db, user_id)
        assert row is not None
        return row.state


async def _talking(desk: LiveDesk) -> None:
    handlers = desk.subscriptions()
    await handlers["AgentCalled"](agent_called())
    await handlers["AgentConnect"](event(Event="AgentConnect", Interface="PJSIP/8001",
                                         DestChannel="PJSIP/8001-00000001"))


async def test_hang_up_wraps_up_until_the_log_is_saved(
        sessions: async_sessionmaker[AsyncSession]) -> None:
    user_id = await _seated(sessions)
    pbx = SeatsPbx()
    desk = LiveDesk(pbx, sessions)  # type: ignore[arg-type]
    listener = desk.listen("8001", AGENT)
    await _talking(desk)
    assert desk.calls["8001"].state == "connected" and desk.calls["8001"].answered_at

    await desk.subscriptions()["AgentComplete"](event(Event="AgentComplete",
                                                      Interface="PJSIP/8001"))

    kinds = [kind for kind, _ in await drain(desk, listener)]
    assert kinds[-1] == "wrap_up", "the call stays on the desk"
    assert desk.calls["8001"].state == "wrap_up"
    assert pbx.asked == [("pause", "8001", "after_call")]
    assert await _state(sessions, user_id) == presence_db.WRAP_UP

    assert await desk.end_wrap_up("8001", datetime.now(UTC)) is True
    assert "8001" not in desk.calls
    assert [k for k, _ in await drain(desk, listener)][-1] == "ended"
    assert pbx.asked[-1] == ("resume", "8001", "")
    assert await _state(sessions, user_id) == presence_db.READY
    assert await desk.end_wrap_up("8001", datetime.now(UTC)) is False, "nothing left to end"
    await desk.shutdown()


async def test_a_wrap_up_left_open_returns_the_seat_after_the_limit(
        sessions: async_sessionmaker[AsyncSession], settings: Settings) -> None:
    user_id = await _seated(sessions)
    pbx = SeatsPbx()
    desk = LiveDesk(pbx, sessions, dataclasses.replace(  # type: ignore[arg-type]
        settings, console=dataclasses.replace(settings.console, wrap_up_seconds=1)))
    await _talking(desk)
    await desk.subscriptions()["AgentComplete"](event(Event="AgentComplete",
                                                      Interface="PJSIP/8001"))
    assert await _state(sessions, user_id) == presence_db.WRAP_UP

    for _ in range(400):  # 1 s, on a busy machine up to 20
        await asyncio.sleep(0.05)
        if len(pbx.asked) == 2:
            break
    assert "8001" not in desk.calls
    assert pbx.asked == [("pause", "8001", "after_call"), ("resume", "8001", "")]
    assert await _state(sessions, user_id) == presence_db.READY


async def test_a_log_saved_during_the_call_needs_no_wrap_up_and_a_paused_seat_stays_paused(
        sessions: async_sessionmaker[AsyncSession]) -> None:
    user_id = await _seated(sessions)
    pbx = SeatsPbx()
    desk = LiveDesk(pbx, sessions)  # type: ignore[arg-type]
    await _talking(desk)
    assert await desk.end_wrap_up("8001", datetime.now(UTC)) is True  # the log, saved
    await desk.subscriptions()["AgentComplete"](event(Event="AgentComplete",
                                                      Interface="PJSIP/8001"))
    assert "8001" not in desk.calls and pbx.asked == []

    # Paused (小休) during the next call: the hang-up shows wrap-up but leaves the pause.
    async with session_scope(sessions) as db:
        await presence_db.set_presence(db, user_id, "8001", presence_db.PAUSED, "break",
                                       datetime.now(UTC))
    await _talking(desk)
    await desk.subscriptions()["AgentComplete"](event(Event="AgentComplete",
                                                      Interface="PJSIP/8001"))
    assert desk.calls["8001"].state == "wrap_up" and pbx.asked == []
    await desk.end_wrap_up("8001", datetime.now(UTC))
    assert pbx.asked == [] and await _state(sessions, user_id) == presence_db.PAUSED
    await desk.shutdown()


async def test_a_ring_nobody_answered_leaves_no_wrap_up(
        sessions: async_sessionmaker[AsyncSession]) -> None:
    desk = LiveDesk(None, sessions)
    listener = desk.listen("8001", AGENT)
    await desk.subscriptions()["AgentCalled"](agent_called())
    await desk.subscriptions()["AgentRingNoAnswer"](event(Event="AgentRingNoAnswer",
                                                          Interface="PJSIP/8001"))
    assert desk.calls == {}
    assert [k for k, _ in await drain(desk, listener)][-1] == "ended"


async def test_a_transfer_frees_the_seat_that_made_it_into_wrap_up(
        sessions: async_sessionmaker[AsyncSession]) -> None:
    desk = LiveDesk(None, sessions)
    handlers = desk.subscriptions()
    await _talking(desk)

    await handlers["BlindTransfer"](event(Event="BlindTransfer", Result="Success",
                                          TransfererChannel="PJSIP/8001-00000001",
                                          Extension="8101"))

    assert desk.calls["8001"].state == "wrap_up"
    await desk.shutdown()


async def test_the_pop_says_who_where_from_and_when_in_beijing_time(
        sessions: async_sessionmaker[AsyncSession]) -> None:
    async with session_scope(sessions) as db:
        await calls.ensure_call(db, "1700000000.1", caller_number=CALLER,
                                started_at=datetime(2026, 11, 20, 17, 5, tzinfo=UTC),
                                route="menu", menu_path="2,0")
        await calls.ensure_call(db, "1795756476.0", caller_number=CALLER, route="queue")
        await create_ticket(db, "complaint", CALLER, call_id="1700000000.1")
        user = await accounts.add_user(db, "lisi", "a-long-password-1", AGENT, "李四", "8001")
        db.add(CallLog(call_id="1700000000.1", owner_id=user.id, caller_name="王五",
                       caller_kind="party", contact=CALLER, category="consultation",
                       question="立案", outcome="answered"))
    desk = LiveDesk(None, sessions)
    await desk.subscriptions()["AgentCalled"](agent_called())

    pop = desk.snapshot("8001", AGENT)["call"]
    assert pop["origin"] == "直接转人工座席"
    assert pop["caller_name"] == "王五" and pop["caller_kind"] == "当事人"
    [past] = pop["history"]
    assert past["started_local"] == "2026-11-21 01:05", "UTC 17:05 is 01:05 next day in Beijing"
    assert past["route_label"] == "语音菜单按键：诉讼咨询 → 留言"
    [matter] = pop["tickets"]
    assert (matter["type_label"], matter["status_label"]) == ("投诉举报", "办理中")
    assert "T" not in matter["created_local"]
    leader = desk.snapshot("8001", LEADER)["call"]
    assert leader["caller_name"] != "王五"


def test_the_queue_summary_counts_waiting_callers_and_free_seats() -> None:
    summary = live.queue_summary(
        {"1795756470.5": "PJSIP/carrier-1", "1795756460.2": "PJSIP/carrier-2"},
        {"8001": Member("8001", "李四", False, "", "idle"),
         "8002": Member("8002", "张三", True, "after_call", "idle"),
         "8003": Member("8003", "赵六", False, "", "in_use")})
    assert summary == {"waiting": 2, "oldest_at": 1795756460.2, "free": 1, "members": 3,
                       "known": True}
    empty = live.queue_summary({}, {})
    assert empty["waiting"] == 0 and empty["oldest_at"] is None


async def test_every_desk_hears_the_queue_change(
        sessions: async_sessionmaker[AsyncSession]) -> None:
    pbx = SeatsPbx()
    desk = LiveDesk(pbx, sessions)  # type: ignore[arg-type]
    mine, other = desk.listen("8001", AGENT), desk.listen("8002", AGENT)
    await desk.refresh_queue()
    pbx.waiting = {"1795756470.5": "PJSIP/carrier-1"}
    await desk.refresh_queue()
    for listener in (mine, other):
        queues = [d for k, d in await drain(desk, listener) if k == "queue"]
        assert queues[-1]["waiting"] == 1
    await desk.shutdown()


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


async def test_a_console_restarting_mid_wrap_up_keeps_the_seat_paused_until_the_limit(
        sessions: async_sessionmaker[AsyncSession], settings: Settings) -> None:
    async with session_scope(sessions) as db:
        if "8001" not in {p.extension for p in await phones_db.list_phones(db)}:
            await phones_db.add_phone(db, "8001", "seat")
        user = await accounts.add_user(db, "lisi", "a-long-password-1", AGENT, "李四", "8001")
        # Wrap-up began 119 s ago: 1 s of the 120 s limit is left.
        await presence_db.set_presence(db, user.id, "8001", presence_db.WRAP_UP,
                                       "after_call", datetime.now(UTC) - timedelta(seconds=119))
    pbx = StartingPbx(refusals=0)
    asked: list[str] = []

    async def resume(extension: str) -> None:
        asked.append(extension)
        pbx.queue[extension] = Member(extension, "李四", False, "", "idle")
    pbx.resume = resume  # type: ignore[attr-defined]
    desk = LiveDesk(pbx, sessions, settings)  # type: ignore[arg-type]

    await desk.restore()

    assert pbx.queue == {"8001": Member("8001", "李四", True, "after_call", "idle")}
    for _ in range(400):  # 1 s, on a busy machine up to 20
        await asyncio.sleep(0.05)
        if asked:
            break
    assert asked == ["8001"]
    async with session_scope(sessions) as db:
        row = await presence_db.get_presence(db, user.id)
        assert row is not None and row.state == presence_db.READY
