"""AmiClient against a fake AMI server speaking the wire protocol over real TCP."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from panoramisk.message import Message

from pbx.ami import (
    AmiClient,
    AmiError,
    AmiNotConnected,
    AmiTimeout,
    _SecretMaskingLogger,
    parse_message,
)

SECRET = "Zq9-unmistakable-AMI-secret-7731"
USERNAME = "hotline"
EOM = b"\r\n\r\n"

PING_INTERVAL = 0.2
PING_TIMEOUT = 0.2


@dataclass
class Connection:
    writer: asyncio.StreamWriter
    requests: list[dict[str, str]] = field(default_factory=list)
    silent: bool = False
    logged_in: bool = False


class FakeAmi:
    """Just enough of Asterisk's manager: Login, Ping, Logoff, CoreShowChannels, errors.

    Actions named in ``unanswered`` get no reply at all, like a reply lost on the way.
    """

    def __init__(self) -> None:
        self.connections: list[Connection] = []
        self.unanswered = {"blackhole"}
        self._handlers: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()
        self.drop()
        await self.idle()

    async def idle(self) -> None:
        """Wait until every client connection has been closed and handled."""
        if self._handlers:
            await asyncio.wait(self._handlers)

    def silence(self) -> None:
        """Half-open link: keep reading and keep the socket open, but never answer."""
        for conn in self.connections:
            conn.silent = True

    def drop(self) -> None:
        for conn in self.connections:
            conn.writer.close()

    def push_event(self, name: str, **headers: str) -> None:
        lines = [f"Event: {name}", *(f"{k}: {v}" for k, v in headers.items())]
        for conn in self.connections:
            if conn.logged_in and not conn.writer.is_closing():
                conn.writer.write(_encode(lines))

    @property
    def requests(self) -> list[dict[str, str]]:
        return [request for conn in self.connections for request in conn.requests]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        conn = Connection(writer)
        self.connections.append(conn)
        writer.write(b"Asterisk Call Manager/9.0.0\r\n")
        try:
            while await self._handle_one(reader, conn):
                pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
            self._handlers.discard(task)

    async def _handle_one(self, reader: asyncio.StreamReader, conn: Connection) -> bool:
        try:
            raw = await reader.readuntil(EOM)
        except (asyncio.IncompleteReadError, ConnectionError):
            return False
        request = _parse(raw)
        conn.requests.append(request)
        if conn.silent or request["Action"].lower() in self.unanswered:
            return True
        reply, keep_open = self._reply(conn, request)
        for message in reply:
            conn.writer.write(_encode(message))
        return keep_open

    def _reply(self, conn: Connection, request: dict[str, str]) -> tuple[list[list[str]], bool]:
        action, aid = request["Action"].lower(), f"ActionID: {request.get('ActionID', '')}"
        if action == "login":
            conn.logged_in = request.get("Secret") == SECRET
            if conn.logged_in:
                return [["Response: Success", aid, "Message: Authentication accepted"]], True
            return [["Response: Error", aid, "Message: Authentication failed"]], False
        if action == "ping":
            return [["Response: Success", aid, "Ping: Pong", "Timestamp: 1718000000.123456"]], True
        if action == "logoff":
            return [["Response: Goodbye", aid, "Message: Thanks for all the fish."]], False
        if action == "coreshowchannels":
            return _core_show_channels(aid), True
        if action == "queueadd":
            return [["Response: Success", aid, "Message: Added interface to queue"]], True
        unknown = f"Message: Invalid/unknown command: {request['Action']}."
        return [["Response: Error", aid, unknown]], True


def _core_show_channels(aid: str) -> list[list[str]]:
    return [
        ["Response: Success", aid, "EventList: start", "Message: Channels will follow"],
        ["Event: CoreShowChannel", aid, "Channel: PJSIP/1001-00000001", "Uniqueid: 1.1"],
        ["Event: CoreShowChannel", aid, "Channel: PJSIP/1002-00000002", "Uniqueid: 1.2"],
        ["Event: CoreShowChannelsComplete", aid, "EventList: Complete", "ListItems: 2"],
    ]


def _parse(raw: bytes) -> dict[str, str]:
    lines = raw.decode().strip().split("\r\n")
    return dict(line.split(": ", 1) for line in lines if ": " in line)


def _encode(lines: list[str]) -> bytes:
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def eventually(condition: Callable[[], bool], within: float = 3.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


@pytest.fixture
async def ami() -> AsyncIterator[FakeAmi]:
    server = FakeAmi()
    await server.start()
    yield server
    await server.stop()


def make_client(
    port: int,
    secret: str = SECRET,
    action_timeout: float = 0.5,
    ping_interval: float = PING_INTERVAL,
) -> AmiClient:
    return AmiClient(
        "127.0.0.1",
        port,
        USERNAME,
        secret,
        action_timeout=action_timeout,
        ping_interval=ping_interval,
        ping_timeout=PING_TIMEOUT,
        reconnect_delay=0.05,
    )


@pytest.fixture
async def client(ami: FakeAmi) -> AsyncIterator[AmiClient]:
    ami_client = make_client(ami.port)
    yield ami_client
    await ami_client.close()


@pytest.fixture
def lifecycle(client: AmiClient) -> list[str]:
    return track_lifecycle(client)


def track_lifecycle(client: AmiClient) -> list[str]:
    calls: list[str] = []

    async def connected() -> None:
        calls.append("connect")

    async def disconnected() -> None:
        calls.append("disconnect")

    client.on_connect(connected)
    client.on_disconnect(disconnected)
    return calls


def actions_seen(requests: list[dict[str, str]]) -> list[str]:
    return [request["Action"] for request in requests]


def other_tasks() -> set[asyncio.Task[object]]:
    return asyncio.all_tasks() - {asyncio.current_task()}


# -- 1. login and round trips ------------------------------------------------------


async def test_connect_logs_in_and_actions_round_trip(ami: FakeAmi, client: AmiClient) -> None:
    with pytest.raises(AmiNotConnected):
        await client.action({"Action": "Ping"})

    await client.connect(wait=2)

    assert client.connected
    login = ami.requests[0]
    assert (login["Action"], login["Username"], login["Events"]) == ("Login", USERNAME, "on")
    reply = await client.action({"Action": "Ping"})
    assert not isinstance(reply, list)
    assert reply.response == "Success"
    assert reply.ping == "Pong"
    assert {"Action": "Ping", "ActionID": reply.actionid} in ami.requests


async def test_error_response_raises_ami_error_with_the_message(client: AmiClient) -> None:
    await client.connect(wait=2)

    with pytest.raises(AmiError) as caught:
        await client.action({"Action": "Frobnicate", "Channel": "PJSIP/1001-00000001"})

    assert type(caught.value) is AmiError
    assert caught.value.message == "Invalid/unknown command: Frobnicate."
    assert not isinstance(caught.value.reply, list)
    assert caught.value.reply is not None and caught.value.reply.response == "Error"
    assert client.connected  # an error reply is not a link problem


async def test_single_replies_that_panoramisk_mistakes_for_lists_return_at_once(
    client: AmiClient,
) -> None:
    # panoramisk 1.4 waits for an event list after "Added interface to queue".
    await client.connect(wait=2)

    reply = await client.action({"Action": "QueueAdd", "Queue": "seats",
                                 "Interface": "PJSIP/8001"}, timeout=1.0)

    assert not isinstance(reply, list)
    assert reply.message == "Added interface to queue"


async def test_action_without_action_field_is_rejected(client: AmiClient) -> None:
    await client.connect(wait=2)

    with pytest.raises(ValueError, match="Action"):
        await client.action({"Channel": "PJSIP/1001-00000001"})


# -- 2. lost replies ---------------------------------------------------------------


async def test_action_without_reply_times_out_and_client_stays_usable(
    ami: FakeAmi, client: AmiClient
) -> None:
    await client.connect(wait=2)

    started = time.monotonic()
    with pytest.raises(AmiTimeout, match="Blackhole"):
        await client.action({"Action": "Blackhole"}, timeout=0.2)
    elapsed = time.monotonic() - started

    assert 0.2 <= elapsed < 0.45
    assert "Blackhole" in actions_seen(ami.requests)  # sent, just never answered
    reply = await client.action({"Action": "Ping"})
    assert not isinstance(reply, list) and reply.ping == "Pong"


async def test_action_timeout_defaults_to_the_client_setting(ami: FakeAmi) -> None:
    ami_client = make_client(ami.port, action_timeout=0.25, ping_interval=5)
    try:
        await ami_client.connect(wait=2)
        started = time.monotonic()
        with pytest.raises(AmiTimeout):
            await ami_client.action({"Action": "Blackhole"})
        assert 0.25 <= time.monotonic() - started < 0.5
    finally:
        await ami_client.close()


# -- 3./4. link failures -----------------------------------------------------------


async def test_half_open_link_is_detected_by_ping_and_reconnected(
    ami: FakeAmi, client: AmiClient, lifecycle: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    await client.connect(wait=2)
    await eventually(lambda: lifecycle == ["connect"])

    ami.silence()
    silenced = time.monotonic()
    await eventually(lambda: lifecycle[1:] == ["disconnect"], within=2)
    noticed = time.monotonic() - silenced
    await eventually(lambda: lifecycle == ["connect", "disconnect", "connect"], within=2)

    assert noticed <= PING_INTERVAL + PING_TIMEOUT + 0.2
    assert len(ami.connections) == 2
    assert ami.connections[0].writer.is_closing()  # the client dropped the dead link
    assert client.connected
    reply = await client.action({"Action": "Ping"})
    assert not isinstance(reply, list) and reply.ping == "Pong"
    assert "no Ping reply" in caplog.text


async def test_server_close_is_noticed_and_client_reconnects(ami: FakeAmi) -> None:
    # A long ping interval shows the close itself is noticed, not a failed ping.
    client = make_client(ami.port, ping_interval=30)
    lifecycle = track_lifecycle(client)
    try:
        await _reconnects_after_server_close(ami, client, lifecycle)
    finally:
        await client.close()


async def _reconnects_after_server_close(
    ami: FakeAmi, client: AmiClient, lifecycle: list[str]
) -> None:
    await client.connect(wait=2)
    await eventually(lambda: lifecycle == ["connect"])

    ami.drop()
    await eventually(lambda: not client.connected, within=0.5)
    await eventually(lambda: lifecycle == ["connect", "disconnect", "connect"], within=2)

    assert len(ami.connections) == 2
    assert [c.requests[0]["Action"] for c in ami.connections] == ["Login", "Login"]
    assert client.connected
    reply = await client.action({"Action": "Ping"})
    assert not isinstance(reply, list) and reply.ping == "Pong"


async def test_asterisk_s_shutdown_event_ends_the_session_and_a_new_one_follows(
    ami: FakeAmi, client: AmiClient, lifecycle: list[str]
) -> None:
    """Asterisk says Shutdown before it stops: the client takes the link for lost at once
    (events skip the base class's reply look-up, this one included)."""
    await client.connect(wait=2)
    await eventually(lambda: lifecycle == ["connect"])

    ami.push_event("Shutdown", Shutdown="Cleanly", Restart="True")

    await eventually(lambda: lifecycle == ["connect", "disconnect", "connect"], within=2)
    assert len(ami.connections) == 2


async def test_no_second_session_from_panoramisk_own_reconnect_timer(
    ami: FakeAmi, client: AmiClient, lifecycle: list[str]
) -> None:
    await client.connect(wait=2)
    ami.drop()
    dropped = time.monotonic()
    await eventually(lambda: lifecycle == ["connect", "disconnect", "connect"])

    # Manager.connection_lost would reconnect after its default reconnect_timeout of
    # 2 s, opening a second, parallel session (every event delivered twice).
    await asyncio.sleep(dropped + 2.3 - time.monotonic())

    assert len(ami.connections) == 2
    assert lifecycle == ["connect", "disconnect", "connect"]


async def test_action_pending_when_link_drops_fails_fast_and_is_not_replayed(
    ami: FakeAmi, client: AmiClient, lifecycle: list[str]
) -> None:
    await client.connect(wait=2)
    pending = asyncio.create_task(client.action({"Action": "Blackhole"}, timeout=5))
    await eventually(lambda: "Blackhole" in actions_seen(ami.requests))

    started = time.monotonic()
    ami.drop()
    with pytest.raises(AmiNotConnected):
        await pending

    assert time.monotonic() - started < 0.5
    await eventually(lambda: lifecycle == ["connect", "disconnect", "connect"])
    ami.push_event("FullyBooted", Status="Fully Booted")  # panoramisk's replay trigger
    await client.action({"Action": "Ping"})
    assert "Blackhole" not in actions_seen(ami.connections[1].requests)


async def test_failed_start_raises_timeout_and_leaves_nothing_running(
    ami: FakeAmi, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "Wrong-secret-for-this-test-4410"
    ami_client = make_client(ami.port, secret=wrong)

    with pytest.raises(AmiTimeout, match="Authentication failed"):
        await ami_client.connect(wait=0.3)

    assert not ami_client.connected
    assert len(ami.connections) >= 2  # it kept retrying until the deadline
    await ami.idle()
    assert other_tasks() == set()
    assert "Authentication failed" in caplog.text
    assert wrong not in caplog.text


async def test_unreachable_server_times_out(caplog: pytest.LogCaptureFixture) -> None:
    # Bound but not listening: connections are refused and no one else can take the port.
    with socket.socket() as reserved:
        reserved.bind(("127.0.0.1", 0))
        ami_client = make_client(reserved.getsockname()[1])

        with pytest.raises(AmiTimeout, match="cannot connect"):
            await ami_client.connect(wait=0.3)

    assert other_tasks() == set()
    # Repeated identical failures are demoted to debug after the first warning.
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1


# -- 5./6. events and event lists ---------------------------------------------------


async def test_events_reach_handlers_by_exact_name_and_survive_a_failing_handler(
    ami: FakeAmi, client: AmiClient, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[tuple[str, str]] = []

    async def on_hangup(event: Message) -> None:
        if event.channel == "PJSIP/boom":
            raise RuntimeError("handler bug")
        seen.append(("hangup", event.channel))

    async def also_on_hangup(event: Message) -> None:
        seen.append(("audit", event.channel))

    client.on_event("Hangup", on_hangup)
    client.on_event("Hangup", also_on_hangup)
    await client.connect(wait=2)

    ami.push_event("Hangup", Channel="PJSIP/boom")
    ami.push_event("HangupRequest", Channel="PJSIP/1001-00000001")
    ami.push_event("hangup", Channel="PJSIP/1001-00000001")
    ami.push_event("Hangup", Channel="PJSIP/1002-00000002")
    await eventually(lambda: len(seen) == 3)
    await asyncio.sleep(0.05)  # room for any wrongly delivered event to show up

    assert seen == [
        ("audit", "PJSIP/boom"),
        ("hangup", "PJSIP/1002-00000002"),
        ("audit", "PJSIP/1002-00000002"),
    ]
    failures = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(failures) == 1 and failures[0].exc_info is not None
    assert "handler bug" in caplog.text
    assert client.connected


async def test_sync_callbacks_are_rejected(client: AmiClient) -> None:
    def sync_handler(event: Message) -> None:
        pass

    def sync_callback() -> None:
        pass

    with pytest.raises(TypeError, match="async"):
        client.on_event("Hangup", sync_handler)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="async"):
        client.on_connect(sync_callback)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="async"):
        client.on_disconnect(sync_callback)  # type: ignore[arg-type]


async def test_event_list_action_returns_every_message(ami: FakeAmi, client: AmiClient) -> None:
    stray: list[object] = []

    async def on_channel(event: Message) -> None:
        stray.append(event)

    client.on_event("CoreShowChannel", on_channel)
    await client.connect(wait=2)

    reply = await client.action({"Action": "CoreShowChannels"})

    assert isinstance(reply, list)
    assert [m.response or m.event for m in reply] == [
        "Success",
        "CoreShowChannel",
        "CoreShowChannel",
        "CoreShowChannelsComplete",
    ]
    assert [m.channel for m in reply[1:3]] == ["PJSIP/1001-00000001", "PJSIP/1002-00000002"]
    assert reply[-1].listitems == "2"
    await asyncio.sleep(0.05)
    assert stray == []  # list members belong to the action, not to event handlers


# -- 7. shutdown and secrecy --------------------------------------------------------


async def test_close_logs_off_and_leaves_no_tasks_and_secret_never_logged(
    ami: FakeAmi, client: AmiClient, lifecycle: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await client.connect(wait=2)
    await client.action({"Action": "Ping"})
    await eventually(lambda: lifecycle == ["connect"])

    await client.close()

    assert not client.connected
    assert ami.requests[-1]["Action"] == "Logoff"
    await ami.idle()
    assert other_tasks() == set()
    await asyncio.sleep(PING_INTERVAL + 0.1)  # long enough for a stray reconnect
    assert len(ami.connections) == 1
    assert lifecycle == ["connect"]  # close() is not a disconnect to be reconciled
    with pytest.raises(AmiNotConnected):
        await client.action({"Action": "Ping"})
    assert ami.requests[0]["Secret"] == SECRET  # it was really sent...
    assert "logged in to AMI" in caplog.text
    assert SECRET not in caplog.text  # ...and never logged


async def test_client_can_be_started_again_after_close(ami: FakeAmi, client: AmiClient) -> None:
    await client.connect(wait=2)
    await client.close()
    await client.connect(wait=2)

    assert client.connected
    assert len(ami.connections) == 2


def test_secret_is_masked_even_in_messages_logged_by_panoramisk(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log = _SecretMaskingLogger(logging.getLogger("test.ami"), SECRET)
    action = {"Action": "Login", "Username": USERNAME, "Secret": SECRET}

    log.error("Fail to send %r", action)  # the exact call panoramisk makes on write errors

    assert SECRET not in caplog.text
    assert "'Secret': '********'" in caplog.text
    assert (
        caplog.records[0].funcName == "test_secret_is_masked_even_in_messages_logged_by_panoramisk"
    )


FIXTURES = Path(__file__).parents[2] / "fixtures" / "ami_events"
CRAFTED = [
    "Response: Success\r\nActionID: 7\r\nMessage: Authentication accepted",
    "Response: Follows\r\nActionID: 8\r\nPrivilege: Command\r\nline one\r\nline two\r\n",
    "Response: Error\r\nActionID: 9\r\nMessage: No such channel",
    "Event: AGIExecEnd\r\nResult: 200%20result%3D1 \r\nCommand: ANSWER",
    "Event: VarSet\r\nChanVariable: A=1\r\nChanVariable: B=2\r\nChanVariable: C=3",
    "Event: UserEvent\r\nUserEvent: HotlineRecording\r\nPath: a: b: c\r\nEmpty: \r\nX",
    "Privilege: call,all\r\nChannel: PJSIP/x",  # neither event nor reply
    "Asterisk Call Manager/9.0.0",
]


def _blocks(name: str) -> list[str]:
    text = (FIXTURES / name).read_text(encoding="utf-8")
    return [block.strip("\n").replace("\n", "\r\n") for block in text.split("\n\n")
            if block.strip()]


def test_the_fast_parse_gives_what_panoramisk_s_gives() -> None:
    blocks = [*CRAFTED, *(b for f in sorted(FIXTURES.glob("*.txt")) for b in _blocks(f.name))]
    assert len(blocks) > 30
    for block in blocks:
        ours, theirs = parse_message(block), Message.from_line(block)
        if theirs is None:
            assert ours is None, block
            continue
        assert ours is not None, block
        assert dict(ours.items()) == dict(theirs.items()), block
        assert (ours.event, ours.id, ours.success) == (theirs.event, theirs.id, theirs.success)
        for key in [*theirs, "uniqueid", "UNIQUEID", "NoSuchHeader"]:
            assert ours.get(key) == theirs.get(key), (block, key)
            assert ours.get(key, "-") == theirs.get(key, "-"), (block, key)
            assert getattr(ours, key) == getattr(theirs, key), (block, key)
    values = parse_message(CRAFTED[4])
    assert values is not None and values["chanvariable"] == ["A=1", "B=2", "C=3"]


async def test_a_failing_handler_is_logged_and_the_others_and_later_events_go_on(
        ami: FakeAmi, client: AmiClient, caplog: pytest.LogCaptureFixture) -> None:
    seen: list[str] = []

    async def broken(event: Message) -> None:
        raise RuntimeError(f"broken on {event.Uniqueid}")

    async def record(event: Message) -> None:
        seen.append(f"{event.event} {event.Uniqueid}")

    client.on_event("Newchannel", broken)
    client.on_event("Newchannel", record)
    client.on_event("Hangup", record)
    await client.connect(wait=2)
    ami.push_event("Newchannel", Uniqueid="17.1")
    ami.push_event("Hangup", Uniqueid="17.1")

    await eventually(lambda: seen == ["Newchannel 17.1", "Hangup 17.1"])
    assert "AMI Newchannel event handler" in caplog.text and "broken on 17.1" in caplog.text


async def test_events_split_across_reads_arrive_whole_and_in_order(
        ami: FakeAmi, client: AmiClient) -> None:
    seen: list[tuple[str, str, str]] = []

    async def record(event: Message) -> None:
        seen.append((event.event, event.Uniqueid, event.CallerIDName))

    client.on_event("Newchannel", record)
    client.on_event("Hangup", record)
    await client.connect(wait=2)
    wire = b"".join(f"Event: {name}\r\nUniqueid: 17.{n}\r\nCallerIDName: 张三\r\n\r\n".encode()
                    for n, name in enumerate(["Newchannel", "Hangup"] * 3))
    conn = ami.connections[0]
    for start in range(0, len(wire), 7):  # a few bytes at a time, cut anywhere
        conn.writer.write(wire[start:start + 7])
        await conn.writer.drain()
        await asyncio.sleep(0)
    for _ in range(100):
        if len(seen) == 6:
            break
        await asyncio.sleep(0.02)
    # every character of the name arrives, though reads cut its bytes apart
    assert seen == [(name, f"17.{n}", "张三")
                    for n, name in enumerate(["Newchannel", "Hangup"] * 3)]
