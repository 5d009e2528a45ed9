"""Tests for ivr.fastagi: a real server on 127.0.0.1, clients playing Asterisk's side."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from ivr.fastagi import (
    AgiCommandError,
    AgiError,
    AgiHangup,
    AgiResult,
    AgiSession,
    FastAgiBindError,
    FastAgiServer,
    RouteTable,
    route_from_script,
)

LOGGER = "ivr.fastagi"
DEAD = "511 Command Not Permitted on a dead channel or intercept routine"
STEP = 2.0  # generous bound for anything that should happen "promptly"

HEADERS = {
    "agi_network": "yes",
    "agi_network_script": "entry?lang=zh",
    "agi_request": "agi://127.0.0.1:4573/entry?lang=zh",
    "agi_channel": "PJSIP/trunk-00000001",
    "agi_language": "zh",
    "agi_type": "PJSIP",
    "agi_uniqueid": "1700000000.1",
    "agi_version": "20.5.0",
    "agi_callerid": "13800138000",
    "agi_calleridname": "unknown",
    "agi_context": "from-trunk",
    "agi_extension": "12368",
    "agi_arg_1": "court-a",
}


def header_block(script: str = "entry?lang=zh") -> bytes:
    headers = {**HEADERS, "agi_network_script": script}
    return "".join(f"{k}: {v}\n" for k, v in headers.items()).encode() + b"\n"


class FakeAsterisk:
    """Asterisk's end of a FastAGI connection."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def send_raw(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def send(self, *lines: str) -> None:
        await self.send_raw("".join(f"{line}\n" for line in lines).encode())

    async def send_headers(self, script: str = "entry?lang=zh") -> None:
        await self.send_raw(header_block(script))

    async def read_command(self) -> str:
        raw = await asyncio.wait_for(self.reader.readline(), STEP)
        assert raw.endswith(b"\n"), f"server closed instead of sending a command: {raw!r}"
        return raw.decode().rstrip("\n")

    async def expect(self, command: str, *reply: str) -> None:
        assert await self.read_command() == command
        await self.send(*reply)

    async def closed_by_server(self) -> bool:
        """True when the server closes the connection without sending anything more."""
        try:
            rest = await asyncio.wait_for(self.reader.read(), STEP)
        except ConnectionResetError:
            return True
        return rest == b""

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()


Connect = Callable[[int], Awaitable[FakeAsterisk]]
StartServer = Callable[..., Awaitable[FastAgiServer]]


@pytest.fixture
async def connect() -> AsyncIterator[Connect]:
    clients: list[FakeAsterisk] = []

    async def _connect(port: int) -> FakeAsterisk:
        client = FakeAsterisk(*await asyncio.open_connection("127.0.0.1", port))
        clients.append(client)
        return client

    yield _connect
    for client in clients:
        await client.close()


@pytest.fixture
async def start_server() -> AsyncIterator[StartServer]:
    servers: list[FastAgiServer] = []

    async def _start(routes: RouteTable, **kwargs: Any) -> FastAgiServer:
        server = FastAgiServer(routes, "127.0.0.1", 0, **kwargs)
        await server.start()
        servers.append(server)
        return server

    yield _start
    for server in servers:
        await server.stop()


async def eventually(predicate: Callable[[], bool]) -> None:
    # Server bookkeeping (task done-callbacks) offers no event to wait on, so poll briefly.
    async with asyncio.timeout(STEP):
        while not predicate():  # noqa: ASYNC110
            await asyncio.sleep(0.01)


def answering_routes(calls: list[str]) -> RouteTable:
    """A route 'entry' that answers and records the call's uniqueid."""

    async def entry(session: AgiSession) -> None:
        calls.append(session.headers["uniqueid"])
        await session.answer()

    routes = RouteTable()
    routes.add("entry", entry)
    return routes


async def normal_call(connect: Connect, port: int) -> None:
    client = await connect(port)
    await client.send_headers()
    await client.expect("ANSWER", "200 result=0")
    assert await client.closed_by_server()


async def broken_connection(port: int, partial: bytes) -> None:
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        if partial:
            writer.write(partial)
            await writer.drain()
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


def single_route(
    outcome: asyncio.Future[Any], script: Callable[[AgiSession], Awaitable[Any]]
) -> RouteTable:
    """Route 'entry' runs script; its value or exception lands in outcome, then re-raises."""

    async def entry(session: AgiSession) -> None:
        try:
            outcome.set_result(await script(session))
        except Exception as exc:
            outcome.set_exception(exc)
            raise

    routes = RouteTable()
    routes.add("entry", entry)
    return routes


# --- reply parsing ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("200 result=1 (timeout) endpos=1234", AgiResult(200, "1", "timeout", {"endpos": "1234"})),
        ("200 result=0", AgiResult(200, "0", None, {})),
        ("200 result=-1 endpos=0", AgiResult(200, "-1", None, {"endpos": "0"})),
        ("200 result= (timeout)", AgiResult(200, "", "timeout", {})),
        ("200 result=1 ()", AgiResult(200, "1", "", {})),
        ("200 result=1 (a (b) c) x=1 y=2", AgiResult(200, "1", "a (b) c", {"x": "1", "y": "2"})),
        ("200 result=12\r", AgiResult(200, "12", None, {})),
    ],
)
def test_result_parse(line: str, expected: AgiResult) -> None:
    assert AgiResult.parse(line) == expected


@pytest.mark.parametrize("line", ["200 ok", "200 result=1 (unclosed", "201 result=1"])
def test_result_parse_rejects_other_lines(line: str) -> None:
    with pytest.raises(AgiError, match="unparsable"):
        AgiResult.parse(line)


@pytest.mark.parametrize(
    ("script", "route"),
    [("entry", "entry"), ("entry?lang=zh&x=1", "entry"), ("/menu/", "menu"), ("", "")],
)
def test_route_from_script(script: str, route: str) -> None:
    assert route_from_script(script) == route


# --- 1. a normal session ---------------------------------------------------------------


async def test_normal_session(start_server: StartServer, connect: Connect) -> None:
    outcome: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()

    async def script(s: AgiSession) -> dict[str, Any]:
        seen: dict[str, Any] = {"route": s.route, "headers": dict(s.headers)}
        await s.answer()
        seen["number"] = await s.get_variable("CALLERID(num)")
        seen["missing"] = await s.get_variable("NOPE")
        seen["digit"] = await s.stream_file("welcome", "12")
        seen["data"] = await s.get_data("menu", 5000, 4)
        seen["raw"] = await s.command("WAIT FOR DIGIT 100")
        seen["hung_up"] = s.hung_up
        return seen

    server = await start_server(single_route(outcome, script))
    client = await connect(server.port)
    await client.send_raw(header_block().replace(b"\n", b"\r\n"))  # CRLF tolerated
    assert await client.read_command() == "ANSWER"
    assert server.active_sessions == 1
    await client.send("200 result=0")
    await client.expect('GET VARIABLE "CALLERID(num)"', "200 result=1 (13800138000)")
    await client.expect('GET VARIABLE "NOPE"', "200 result=0")
    await client.expect('STREAM FILE "welcome" "12"', "200 result=49 endpos=8000")
    await client.expect('GET DATA "menu" 5000 4', "200 result=12 (timeout)")
    await client.expect("WAIT FOR DIGIT 100", "200 result=0 (timeout) endpos=77")
    assert await client.closed_by_server()

    seen = await asyncio.wait_for(outcome, STEP)
    assert seen["route"] == "entry"
    assert seen["headers"]["channel"] == "PJSIP/trunk-00000001"
    assert seen["headers"]["network_script"] == "entry?lang=zh"
    assert seen["headers"]["arg_1"] == "court-a"
    assert "agi_channel" not in seen["headers"]
    assert seen["number"] == "13800138000"
    assert seen["missing"] is None
    assert seen["digit"] == "1"
    assert seen["data"] == ("12", True)
    assert seen["raw"] == AgiResult(200, "0", "timeout", {"endpos": "77"})
    assert seen["hung_up"] is False
    await eventually(lambda: server.active_sessions == 0)


async def test_conveniences_quote_arguments(start_server: StartServer, connect: Connect) -> None:
    outcome: asyncio.Future[tuple[AgiResult, str, tuple[str, bool]]] = (
        asyncio.get_running_loop().create_future()
    )

    async def script(s: AgiSession) -> tuple[AgiResult, str, tuple[str, bool]]:
        dialled = await s.exec("Dial", "PJSIP/8001", "30")
        await s.set_variable("MENU_NOTE", 'say "hi" \\ bye')
        await s.set_variables({"CDR(hotline_route)": "menu", "HOTLINE_ROUTE": "closed"})
        with pytest.raises(ValueError, match="MSet"):
            await s.set_variables({"X": "a,b"})
        await s.verbose("menu reached", 3)
        no_digit = await s.stream_file("goodbye")
        return dialled, no_digit, await s.get_data("ext", 3000, 4)

    server = await start_server(single_route(outcome, script))
    client = await connect(server.port)
    await client.send_headers()
    await client.expect('EXEC Dial "PJSIP/8001,30"', "200 result=0")
    await client.expect('SET VARIABLE "MENU_NOTE" "say \\"hi\\" \\\\ bye"', "200 result=1")
    await client.expect('EXEC MSet "CDR(hotline_route)=menu,HOTLINE_ROUTE=closed"',
                        "200 result=0")
    await client.expect('VERBOSE "menu reached" 3', "200 result=1")
    await client.expect('STREAM FILE "goodbye" ""', "200 result=0 endpos=1600")
    await client.expect('GET DATA "ext" 3000 4', "200 result=8001")

    dialled, no_digit, data = await asyncio.wait_for(outcome, STEP)
    assert dialled == AgiResult(200, "0", None, {})
    assert no_digit == ""
    assert data == ("8001", False)


async def test_command_rejects_embedded_newline(
    start_server: StartServer, connect: Connect
) -> None:
    outcome: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def script(s: AgiSession) -> None:
        await s.set_variable("X", "1\nHANGUP")

    server = await start_server(single_route(outcome, script))
    client = await connect(server.port)
    await client.send_headers()
    with pytest.raises(ValueError, match="one non-empty line"):
        await asyncio.wait_for(outcome, STEP)
    assert await client.closed_by_server()  # nothing was sent


# --- 2. EOF before the header block ends ------------------------------------------------


class ServerThread:
    """A FastAgiServer on its own event loop in a daemon thread.

    If the server's loop ever freezes (the panoramisk bug), the test's loop still runs,
    so the client's timeout fails the test instead of hanging the whole run.
    """

    def __init__(self, routes: RouteTable) -> None:
        self.server = FastAgiServer(routes, "127.0.0.1", 0)
        self._ready = threading.Event()
        self._thread = threading.Thread(target=asyncio.run, args=(self._main(),), daemon=True)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._quit: asyncio.Event | None = None

    async def _main(self) -> None:
        self._loop, self._quit = asyncio.get_running_loop(), asyncio.Event()
        await self.server.start()
        self._ready.set()
        await self._quit.wait()
        await self.server.stop()

    def start(self) -> int:
        self._thread.start()
        assert self._ready.wait(STEP), "server thread did not start"
        return self.server.port

    def stop(self) -> bool:
        """Stop the server; False if its loop is frozen and could not be stopped."""
        if self._loop is not None and self._quit is not None:
            self._loop.call_soon_threadsafe(self._quit.set)
        self._thread.join(STEP)
        return not self._thread.is_alive()


async def test_eof_before_headers_does_not_block_others(connect: Connect) -> None:
    calls: list[str] = []
    thread = ServerThread(answering_routes(calls))
    port = thread.start()
    try:
        half = header_block()[:40]
        broken = [broken_connection(port, half if i % 2 else b"") for i in range(50)]
        started = time.monotonic()
        await asyncio.wait_for(asyncio.gather(normal_call(connect, port), *broken), STEP)
        assert time.monotonic() - started < STEP
        assert calls == [HEADERS["agi_uniqueid"]]  # only the complete session got a handler
        await eventually(lambda: thread.server.active_sessions == 0)
    finally:
        assert thread.stop(), "server loop is frozen"


async def test_overlong_header_line_is_dropped(start_server: StartServer, connect: Connect) -> None:
    calls: list[str] = []
    server = await start_server(answering_routes(calls), max_line=64)
    client = await connect(server.port)
    await client.send_raw(b"agi_callerid: " + b"9" * 200 + b"\n\n")
    assert await client.closed_by_server()
    await normal_call(connect, server.port)
    assert calls == [HEADERS["agi_uniqueid"]]


# --- 3. hang-up mid-command -------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "then_close"), [(["HANGUP"], True), (["HANGUP", DEAD], False), ([DEAD], False)]
)
async def test_hangup_mid_command(
    start_server: StartServer,
    connect: Connect,
    caplog: pytest.LogCaptureFixture,
    reply: list[str],
    then_close: bool,
) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    outcome: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    hung_up: list[bool] = []

    async def script(s: AgiSession) -> None:
        try:
            await s.stream_file("welcome", "123")
        finally:
            hung_up.append(s.hung_up)

    server = await start_server(single_route(outcome, script))
    client = await connect(server.port)
    await client.send_headers()
    await client.expect('STREAM FILE "welcome" "123"', *reply)
    if then_close:
        await client.close()

    with pytest.raises(AgiHangup):
        await asyncio.wait_for(outcome, STEP)
    assert hung_up == [True]
    await eventually(lambda: server.active_sessions == 0)
    # a hang-up is the usual end of a call: noted for debugging, never a warning or an error
    assert any("hung up" in r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_command_completing_after_hangup_returns_then_next_gets_511(
    start_server: StartServer, connect: Connect
) -> None:
    outcome: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    progress: list[Any] = []

    async def script(s: AgiSession) -> None:
        progress.append(await s.get_data("menu", 2000, 1))
        progress.append(s.hung_up)
        await s.verbose("after hangup")  # must still be sent: dead AGI answers 511

    server = await start_server(single_route(outcome, script))
    client = await connect(server.port)
    await client.send_headers()
    await client.expect('GET DATA "menu" 2000 1', "HANGUP", "200 result=5")
    await client.expect('VERBOSE "after hangup" 1', DEAD)

    with pytest.raises(AgiHangup, match="511"):
        await asyncio.wait_for(outcome, STEP)
    assert progress == [("5", False), True]


async def test_hangup_line_between_commands(start_server: StartServer, connect: Connect) -> None:
    outcome: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def script(s: AgiSession) -> None:
        await s.answer()
        await s.stream_file("welcome")

    server = await start_server(single_route(outcome, script))
    client = await connect(server.port)
    await client.send_headers()
    await client.expect("ANSWER", "200 result=0", "HANGUP")  # unsolicited, before next command
    await client.expect('STREAM FILE "welcome" ""', DEAD)
    with pytest.raises(AgiHangup):
        await asyncio.wait_for(outcome, STEP)


@pytest.mark.parametrize(
    ("reply", "error"),
    [(["200 result=-1 endpos=0"], AgiError), (["HANGUP", "200 result=-1 endpos=0"], AgiHangup)],
)
async def test_minus_one_result(
    start_server: StartServer, connect: Connect, reply: list[str], error: type[AgiError]
) -> None:
    outcome: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def script(s: AgiSession) -> None:
        await s.stream_file("missing-prompt")

    server = await start_server(single_route(outcome, script))
    client = await connect(server.port)
    await client.send_headers()
    await client.expect('STREAM FILE "missing-prompt" ""', *reply)
    with pytest.raises(AgiError, match="STREAM FILE failed") as info:
        await asyncio.wait_for(outcome, STEP)
    # A live caller means a real failure (e.g. missing prompt), not a hang-up.
    assert type(info.value) is error


async def test_a_hangup_right_behind_a_failed_prompt_is_seen_without_a_command(
    start_server: StartServer, connect: Connect
) -> None:
    """Asterisk answers a prompt the caller hung up on with -1, then says HANGUP: the
    session hears it without sending anything to the dead channel."""
    outcome: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    seen: list[bool] = []

    async def script(s: AgiSession) -> None:
        with contextlib.suppress(AgiError):
            await s.stream_file("welcome")
        seen.append(await s.hangup_follows(STEP))
        seen.append(s.hung_up)

    server = await start_server(single_route(outcome, script))
    client = await connect(server.port)
    await client.send_headers()
    await client.expect('STREAM FILE "welcome" ""', "200 result=-1 endpos=1200")
    await asyncio.sleep(0.05)  # the HANGUP line a moment after the reply
    await client.send("HANGUP")
    await asyncio.wait_for(outcome, STEP)
    assert seen == [True, True]
    assert await client.closed_by_server()  # and no command was sent after it


@pytest.mark.parametrize("crlf", [False, True])
async def test_what_comes_in_the_same_read_as_the_headers_reaches_the_session(
    start_server: StartServer, connect: Connect, crlf: bool
) -> None:
    """The header block is read as it comes, in one go: a HANGUP that Asterisk sent right
    behind it (the caller left at once) must still be the session's first line."""
    outcome: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    seen: list[object] = []

    async def script(s: AgiSession) -> None:
        seen.append(s.headers["uniqueid"])
        seen.append(await s.hangup_follows(STEP))

    server = await start_server(single_route(outcome, script))
    client = await connect(server.port)
    block = header_block() + b"HANGUP\n"
    await client.send_raw(block.replace(b"\n", b"\r\n") if crlf else block)
    await asyncio.wait_for(outcome, STEP)
    assert seen == [HEADERS["agi_uniqueid"], True]


async def test_no_hangup_behind_a_failed_prompt_leaves_the_session_usable(
    start_server: StartServer, connect: Connect
) -> None:
    outcome: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    seen: list[object] = []

    async def script(s: AgiSession) -> None:
        with contextlib.suppress(AgiError):
            await s.stream_file("missing-prompt")
        seen.append(await s.hangup_follows(0.1))
        seen.append(await s.get_variable("X"))

    server = await start_server(single_route(outcome, script))
    client = await connect(server.port)
    await client.send_headers()
    await client.expect('STREAM FILE "missing-prompt" ""', "200 result=-1 endpos=0")
    await client.expect('GET VARIABLE "X"', "200 result=1 (still here)")
    await asyncio.wait_for(outcome, STEP)
    assert seen == [False, "still here"]


async def test_an_unexpected_line_behind_a_failed_prompt_is_an_error(
    start_server: StartServer, connect: Connect
) -> None:
    outcome: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def script(s: AgiSession) -> None:
        with contextlib.suppress(AgiError):
            await s.stream_file("welcome")
        await s.hangup_follows(STEP)

    server = await start_server(single_route(outcome, script))
    client = await connect(server.port)
    await client.send_headers()
    await client.expect('STREAM FILE "welcome" ""', "200 result=-1 endpos=0", "200 result=0")
    with pytest.raises(AgiError, match="unexpected line"):
        await asyncio.wait_for(outcome, STEP)


# --- 4. provisional replies -------------------------------------------------------------


async def test_trying_reply_is_skipped(start_server: StartServer, connect: Connect) -> None:
    outcome: asyncio.Future[AgiResult] = asyncio.get_running_loop().create_future()

    async def script(s: AgiSession) -> AgiResult:
        return await s.exec("Playback", "welcome")

    server = await start_server(single_route(outcome, script))
    client = await connect(server.port)
    await client.send_headers()
    await client.expect('EXEC Playback "welcome"', "100 result=0 Trying...", "200 result=0")
    assert await asyncio.wait_for(outcome, STEP) == AgiResult(200, "0", None, {})


# --- 5. command errors ------------------------------------------------------------------


async def test_510_and_520_raise_and_session_stays_usable(
    start_server: StartServer, connect: Connect
) -> None:
    outcome: asyncio.Future[AgiResult] = asyncio.get_running_loop().create_future()
    errors: list[AgiCommandError] = []

    async def script(s: AgiSession) -> AgiResult:
        for bad in ("FLY AWAY", "STREAM FILE"):
            try:
                await s.command(bad)
            except AgiCommandError as exc:
                errors.append(exc)
        return await s.command("ANSWER")

    server = await start_server(single_route(outcome, script))
    client = await connect(server.port)
    await client.send_headers()
    await client.expect("FLY AWAY", "510 Invalid or unknown command")
    await client.expect(
        "STREAM FILE",
        "520-Invalid command syntax.  Proper usage follows:",
        " Usage: STREAM FILE <filename> <escape_digits> [sample offset]",
        "200 result=0 looks like a reply but is usage text",
        "520 End of proper usage.",
    )
    await client.expect("ANSWER", "200 result=0")

    assert await asyncio.wait_for(outcome, STEP) == AgiResult(200, "0", None, {})
    assert [e.code for e in errors] == [510, 520]
    assert errors[0].text == "Invalid or unknown command"
    assert errors[1].text.splitlines() == [
        "Invalid command syntax.  Proper usage follows:",
        " Usage: STREAM FILE <filename> <escape_digits> [sample offset]",
        "200 result=0 looks like a reply but is usage text",
        "End of proper usage.",
    ]


# --- 6. malformed input -----------------------------------------------------------------


async def test_garbage_reply_raises_agi_error(start_server: StartServer, connect: Connect) -> None:
    outcome: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def script(s: AgiSession) -> None:
        await s.answer()

    server = await start_server(single_route(outcome, script))
    client = await connect(server.port)
    await client.send_headers()
    await client.expect("ANSWER", "hello there")
    with pytest.raises(AgiError, match="hello there") as info:
        await asyncio.wait_for(outcome, STEP)
    assert type(info.value) is AgiError
    assert await client.closed_by_server()


async def test_malformed_header_line_skips_handler(
    start_server: StartServer, connect: Connect, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    calls: list[str] = []
    server = await start_server(answering_routes(calls))
    client = await connect(server.port)
    await client.send_raw(b"agi_network: yes\nthis is not a header\nagi_network_script: entry\n\n")
    assert await client.closed_by_server()
    assert calls == []
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert any("malformed" in r.getMessage() for r in warnings)
    assert not any("this is not a header" in r.getMessage() for r in warnings)


async def test_header_block_not_logged_at_info(
    start_server: StartServer, connect: Connect, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    calls: list[str] = []
    server = await start_server(answering_routes(calls))
    await normal_call(connect, server.port)
    assert calls
    assert not any(HEADERS["agi_callerid"] in r.getMessage() for r in caplog.records)


# --- 7. slow clients --------------------------------------------------------------------


async def test_slow_header_is_cut_off_and_others_proceed(
    start_server: StartServer, connect: Connect
) -> None:
    calls: list[str] = []
    server = await start_server(answering_routes(calls), header_timeout=0.3)
    slow = await connect(server.port)

    async def dribble() -> None:
        with contextlib.suppress(ConnectionError):
            for byte in header_block():
                await slow.send_raw(bytes([byte]))
                await asyncio.sleep(0.05)

    dribbler = asyncio.create_task(dribble())
    try:
        started = time.monotonic()
        await asyncio.wait_for(normal_call(connect, server.port), STEP)
        assert await slow.closed_by_server()
        elapsed = time.monotonic() - started
    finally:
        dribbler.cancel()
        await asyncio.gather(dribbler, return_exceptions=True)

    assert 0.25 <= elapsed < STEP
    assert calls == [HEADERS["agi_uniqueid"]]


# --- 8. routes --------------------------------------------------------------------------


def test_route_table_refuses_duplicates_and_sync_handlers() -> None:
    async def entry(session: AgiSession) -> None:
        return None

    def sync_entry(session: AgiSession) -> None:
        return None

    routes = RouteTable()
    routes.add("entry", entry)
    routes.add("menu", entry)
    with pytest.raises(ValueError, match="already registered"):
        routes.add("entry", entry)
    with pytest.raises(TypeError, match="async def"):
        routes.add("sync", sync_entry)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="never match"):
        routes.add("entry?x=1", entry)
    assert routes.names() == ["entry", "menu"]
    assert routes.get("entry") is entry
    assert routes.get("sync") is None


async def test_unknown_route_closes_without_handler(
    start_server: StartServer, connect: Connect, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    calls: list[str] = []
    server = await start_server(answering_routes(calls))
    client = await connect(server.port)
    await client.send_headers("no-such-menu?lang=zh")
    assert await client.closed_by_server()
    assert calls == []
    assert any(
        r.levelno == logging.WARNING and "no-such-menu" in r.getMessage() for r in caplog.records
    )


# --- 9. failing handlers ----------------------------------------------------------------


async def test_handler_exception_is_logged_and_server_keeps_serving(
    start_server: StartServer, connect: Connect, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    calls: list[str] = []
    routes = answering_routes(calls)

    async def broken(session: AgiSession) -> None:
        raise RuntimeError("menu table missing")

    routes.add("broken", broken)
    server = await start_server(routes)
    client = await connect(server.port)
    await client.send_headers("broken")
    assert await client.closed_by_server()

    await normal_call(connect, server.port)
    assert calls == [HEADERS["agi_uniqueid"]]
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert errors[0].exc_info is not None
    assert isinstance(errors[0].exc_info[1], RuntimeError)
    assert "broken" in errors[0].getMessage()


async def test_command_timeout_then_session_refuses_out_of_step_commands(
    start_server: StartServer, connect: Connect
) -> None:
    outcome: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    timed_out: list[bool] = []

    async def script(s: AgiSession) -> None:
        try:
            await s.command("WAIT FOR DIGIT 5000", timeout=0.1)
        except TimeoutError:
            timed_out.append(True)
        await s.answer()

    server = await start_server(single_route(outcome, script))
    client = await connect(server.port)
    await client.send_headers()
    assert await client.read_command() == "WAIT FOR DIGIT 5000"
    with pytest.raises(AgiError, match="out of step"):
        await asyncio.wait_for(outcome, STEP)
    assert timed_out == [True]
    assert await client.closed_by_server()  # ANSWER was never sent


# --- 10. stop() ---------------------------------------------------------------------------


async def test_stop_cancels_session_waiting_for_reply(
    start_server: StartServer, connect: Connect
) -> None:
    cancelled = asyncio.Event()

    async def entry(session: AgiSession) -> None:
        try:
            await session.answer()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    routes = RouteTable()
    routes.add("entry", entry)
    server = await start_server(routes)
    client = await connect(server.port)
    await client.send_headers()
    assert await client.read_command() == "ANSWER"
    assert server.active_sessions == 1

    await asyncio.wait_for(server.stop(), STEP)

    assert cancelled.is_set()
    assert server.active_sessions == 0
    assert await client.closed_by_server()
    with pytest.raises(OSError):
        await broken_connection(server.port, b"")  # no longer listening


# --- 10. who may speak FastAGI ------------------------------------------------------------


async def connect_from(source: str, port: int) -> FakeAsterisk:
    """A client whose socket is bound to `source` (any 127.x.y.z is this machine)."""
    return FakeAsterisk(*await asyncio.open_connection("127.0.0.1", port,
                                                       local_addr=(source, 0)))


@pytest.mark.parametrize("host", ["0.0.0.0", "", "::", "192.0.2.2", "agi.court.local"])
def test_refuses_to_listen_beyond_loopback_without_an_allow_list(host: str) -> None:
    with pytest.raises(FastAgiBindError, match=r"refusing to listen .*\[pbx\] agi_allow"):
        FastAgiServer(RouteTable(), host, 0)


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost"])
def test_loopback_needs_no_allow_list(host: str) -> None:
    FastAgiServer(RouteTable(), host, 0)


def test_allow_list_entries_must_be_addresses() -> None:
    with pytest.raises(FastAgiBindError, match="'asterisk-1' is not an IP address"):
        FastAgiServer(RouteTable(), "0.0.0.0", 0, allowed_peers=["10.0.0.0/8", "asterisk-1"])


async def test_only_listed_addresses_are_served(
    start_server: StartServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    calls: list[str] = []
    server = await start_server(answering_routes(calls), allowed_peers=["127.0.0.2"])

    stranger = await connect_from("127.0.0.1", server.port)
    await stranger.send_headers()
    assert await stranger.closed_by_server()
    await stranger.close()
    asterisk = await connect_from("127.0.0.2", server.port)
    await asterisk.send_headers()
    await asterisk.expect("ANSWER", "200 result=0")
    assert await asterisk.closed_by_server()
    await asterisk.close()

    assert calls == [HEADERS["agi_uniqueid"]]
    refused = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert len(refused) == 1 and "127.0.0.1" in refused[0]


async def test_a_refused_address_is_logged_once_not_per_connection(
    start_server: StartServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    server = await start_server(answering_routes([]), allowed_peers=["10.9.9.9"])

    for source in ["127.0.0.1"] * 20 + ["127.0.0.3"] * 5:
        client = await connect_from(source, server.port)
        assert await client.closed_by_server()
        await client.close()

    refused = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert len(refused) == 2
    assert server.active_sessions == 0


async def test_without_allow_list_loopback_peers_are_served(
    start_server: StartServer, connect: Connect
) -> None:
    calls: list[str] = []
    server = await start_server(answering_routes(calls))
    await normal_call(connect, server.port)
    assert calls == [HEADERS["agi_uniqueid"]]


async def test_listening_everywhere_with_an_allow_list_still_checks_peers() -> None:
    calls: list[str] = []
    server = FastAgiServer(answering_routes(calls), "0.0.0.0", 0,
                           allowed_peers=["127.0.0.2/32"])
    await server.start()
    try:
        stranger = await connect_from("127.0.0.1", server.port)
        assert await stranger.closed_by_server()
        await stranger.close()
        asterisk = await connect_from("127.0.0.2", server.port)
        await asterisk.send_headers()
        await asterisk.expect("ANSWER", "200 result=0")
        await asterisk.close()
    finally:
        await server.stop()
    assert calls == [HEADERS["agi_uniqueid"]]


@pytest.mark.parametrize(("peer", "allowed"), [
    (("127.0.0.1", 4000), True), (("::1", 4000, 0, 0), True),
    (("::ffff:127.0.0.1", 4000, 0, 0), True), (("192.0.2.7", 4000), False),
    (None, False), ("/run/agi.sock", False),
])
def test_default_peer_rule_is_loopback_only(peer: object, allowed: bool) -> None:
    assert FastAgiServer(RouteTable(), "127.0.0.1", 0).peer_allowed(peer) is allowed


def test_listed_networks_match_mapped_ipv4_peers() -> None:
    server = FastAgiServer(RouteTable(), "::", 0, allowed_peers=["10.1.2.0/28"])
    assert server.peer_allowed(("::ffff:10.1.2.9", 1, 0, 0))
    assert not server.peer_allowed(("10.1.2.16", 1))
    assert not server.peer_allowed(("127.0.0.1", 1))  # loopback too must be listed


def test_a_kept_verdict_is_the_one_its_host_was_given() -> None:
    """Verdicts are kept per host (one address for every call); asking again, from another
    port, and past the size bound gives each host its own verdict, never another's."""
    server = FastAgiServer(RouteTable(), "::", 0, allowed_peers=["10.1.2.0/28"])
    for port in (1, 2):
        assert server.peer_allowed(("10.1.2.9", port))
        assert not server.peer_allowed(("10.1.2.16", port))
        assert not server.peer_allowed(("not an address", port))
    for last in range(300):  # past the bound: the kept verdicts start again
        assert server.peer_allowed((f"10.1.3.{last % 256}", 1)) is False
    assert server.peer_allowed(("10.1.2.9", 3))
    assert not server.peer_allowed(("10.1.2.16", 3))
