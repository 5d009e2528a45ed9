"""agent_console.live with the nodes of a cluster: every node's events feed the same desks,
each known by its node (LiveDesk.attach tags them), and each node is put right on its own
reconnect. The database is real; the nodes are pbx.FanoutControl over in-memory stand-ins
(tests/unit/pbx/test_fanout.py); tests/integration/test_console_nodes.py runs two real
Asterisks."""

from __future__ import annotations

from datetime import UTC, datetime

from panoramisk.message import Message
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agent_console import accounts
from agent_console.live import LiveDesk
from agent_console.texts import AGENT
from hotline.db import phones as phones_db
from hotline.db import presence as presence_db
from hotline.db.base import session_scope
from pbx import AmiClient, FanoutControl, Member
from tests.unit.agent_console.test_live import CALLER, NOW, drain, event
from tests.unit.pbx.test_fanout import Node

Sessions = async_sessionmaker[AsyncSession]


class FakeAmi(AmiClient):
    """Only what attach() registers: the handlers, to be fed by hand as a node's link."""

    def __init__(self) -> None:
        super().__init__("127.0.0.1", 9, "console", "unused")

    async def deliver(self, message: Message) -> None:
        for handler in self._handlers.get(str(message["Event"]), []):
            await handler(message)

    async def connect_(self) -> None:
        for callback in self._on_connect:
            await callback()

    async def lose(self) -> None:
        for callback in self._on_disconnect:
            await callback()


def ring(linkedid: str, channel: str) -> Message:
    return event(Event="AgentCalled", Timestamp=NOW, Queue="seats", Interface="PJSIP/8001",
                 MemberName="李四", Channel="PJSIP/carrier-00000000", CallerIDNum=CALLER,
                 Linkedid=linkedid, DestChannel=channel)


def two_nodes(sessions: Sessions) -> tuple[LiveDesk, dict[str, FakeAmi], dict[str, Node]]:
    nodes = {"pbx1": Node("pbx1"), "pbx2": Node("pbx2")}
    desk = LiveDesk(FanoutControl(nodes), sessions)
    links = {name: FakeAmi() for name in nodes}
    for name, ami in links.items():
        desk.attach(name, ami)
    return desk, links, nodes


async def test_a_ring_on_node_2_pops_and_only_node_2_moves_that_call(
        sessions: Sessions) -> None:
    desk, links, _ = two_nodes(sessions)
    page = desk.listen("8001", AGENT)
    # Both nodes number their channels alike: the same name on node 1 is another call.
    await links["pbx2"].deliver(ring("1795756476.0", "PJSIP/8001-00000001"))
    assert next(k for k, _ in await drain(desk, page)) == "ring"
    assert desk.calls["8001"].node == "pbx2"

    await links["pbx1"].deliver(event(Event="AgentConnect", Interface="PJSIP/8001",
                                      DestChannel="PJSIP/8001-00000001"))
    assert desk.calls["8001"].state == "ringing", "node 1's connect is not this call's"
    await links["pbx2"].deliver(event(Event="AgentConnect", Interface="PJSIP/8001",
                                      DestChannel="PJSIP/8001-00000001"))
    assert desk.calls["8001"].state == "connected"

    # Node 1 offers the talking seat a call (its ringinuse sees only its own calls):
    # the desk keeps the call the agent is on, and node 1's no-answer leaves it alone.
    await links["pbx1"].deliver(ring("1795756999.0", "PJSIP/8001-00000002"))
    await links["pbx1"].deliver(event(Event="AgentRingNoAnswer", Interface="PJSIP/8001"))
    await links["pbx1"].deliver(event(Event="QueueCallerAbandon", Linkedid="1795756476.0",
                                      Uniqueid="1795756476.0"))
    call = desk.calls["8001"]
    assert (call.node, call.call_id, call.state) == ("pbx2", "1795756476.0", "connected")

    # Node 1 lost: not this call's node. Node 2 lost (it died, and its calls with it): the
    # call leaves the desk as a hang-up would, through wrap-up.
    await links["pbx1"].lose()
    assert desk.calls["8001"].state == "connected"
    await links["pbx2"].lose()
    assert desk.calls["8001"].state == "wrap_up"
    assert [k for k, _ in await drain(desk, page)][-1] == "wrap_up"
    await desk.shutdown()


async def test_the_seat_is_what_the_nodes_say_together(sessions: Sessions) -> None:
    desk, links, _ = two_nodes(sessions)
    status = {"Event": "QueueMemberStatus", "Interface": "PJSIP/8001", "Paused": "0"}
    await links["pbx1"].deliver(event(**status, Status="1"))  # idle on node 1
    await links["pbx2"].deliver(event(**status, Status="2"))  # talking on node 2
    assert desk.seats["8001"]["device"] == "in_use"

    await links["pbx2"].deliver(event(Event="QueueMemberRemoved", Interface="PJSIP/8001"))
    assert desk.seats["8001"] == {"extension": "8001", "member": True, "paused": False,
                                  "reason": "", "device": "idle"}, "still in node 1's queue"
    await links["pbx1"].lose()
    assert desk.seats["8001"] == {"extension": "8001", "member": False}


async def test_a_node_back_gets_the_seats_signed_in_and_loses_those_signed_out(
        sessions: Sessions) -> None:
    async with session_scope(sessions) as db:
        for ext in ("8001", "8002"):
            if ext not in {p.extension for p in await phones_db.list_phones(db)}:
                await phones_db.add_phone(db, ext, "seat")
        lisi = await accounts.add_user(db, "lisi", "a-long-password-1", AGENT, "李四", "8001")
        await presence_db.set_presence(db, lisi.id, "8001", presence_db.PAUSED, "meeting",
                                       datetime.now(UTC))
    desk, links, nodes = two_nodes(sessions)
    # Node 1 only lost its link: it kept 8002, signed out meanwhile on node 2.
    nodes["pbx1"].queue_["8002"] = Member("8002", "王五", False, "", "idle")

    await links["pbx1"].connect_()

    assert await nodes["pbx1"].members() == {
        "8001": Member("8001", "李四", True, "meeting", "idle")}
    assert nodes["pbx2"].asked == [], "node 2 was not down: it is left alone"
    assert desk.seats["8001"]["paused"] is True
    assert desk.snapshot("8002", AGENT)["seat"]["member"] is False
