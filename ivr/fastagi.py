"""A small asyncio FastAGI server: Asterisk connects per call, one handler runs the call.

Written in-house rather than using panoramisk.fast_agi: that server busy-loops when a
connection closes before the AGI header block ends (health checks, port scans), which
freezes every other call, and it wraps sync handlers with asyncio.coroutine, which
Python 3.11 removed.
"""

from __future__ import annotations

import asyncio
import inspect
import ipaddress
import logging
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, NamedTuple, Protocol, cast

__all__ = [
    "AgiCommandError",
    "AgiError",
    "AgiHangup",
    "AgiResult",
    "AgiSession",
    "FastAgiBindError",
    "FastAgiServer",
    "Handler",
    "RouteTable",
    "route_from_script",
]

_log = logging.getLogger(__name__)

# Asterisk sends ~25 headers plus one per AGI argument; anything far beyond that is
# not Asterisk and must not be allowed to grow memory until header_timeout fires.
_MAX_HEADER_LINES = 512
# A peer that stops reading must not keep a finished session's socket alive forever.
_CLOSE_GRACE = 2.0
# Refused addresses are logged once each; a scan from many addresses must not grow the
# set (or the log) without bound.
_MAX_REFUSED_LOGGED = 256
# Peer addresses whose verdict is kept (FastAgiServer.peer_allowed); past it, start again.
_MAX_VERDICTS = 256

_STATUS_RE = re.compile(r"(\d{3})(?:([ -])(.*))?")
# The data in parentheses is free text (a variable's value may contain parentheses or
# spaces), so it is matched greedily and only trailing key=value tokens are split off.
_RESULT_RE = re.compile(
    r"result=(?P<result>\S*)(?:\s+\((?P<data>.*)\))?(?P<extra>(?:\s+[^\s=]+=\S*)*)\s*"
)


class AgiError(Exception):
    """Base class for everything that goes wrong in an AGI conversation."""


class AgiHangup(AgiError):
    """The caller hung up: HANGUP + 511, or the connection closed mid-command."""


class AgiCommandError(AgiError):
    """Asterisk rejected a command (510 unknown command, 520 usage error)."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(f"{code} {text}")
        self.code = code
        self.text = text


class FastAgiBindError(ValueError):
    """The server may not listen where it was asked to (see FastAgiServer)."""


Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_allowed_peers(entries: Iterable[str]) -> tuple[Network, ...]:
    """Addresses or networks ("10.1.2.3", "10.1.2.0/28") that may speak FastAGI to us."""
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise FastAgiBindError(f"[pbx] agi_allow: {entry!r} is not an IP address or "
                                   "network") from None
    return tuple(networks)


def _peer_address(peer: object) -> Address | None:
    host = peer[0] if isinstance(peer, tuple) and peer else None
    try:
        address = ipaddress.ip_address(str(host).partition("%")[0])
    except ValueError:
        return None
    # A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d.
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped or address


def _is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name or "" (every interface): not known to stay on this machine


class AgiResult(NamedTuple):
    """A parsed ``200 result=<r> [(data)] [key=value ...]`` reply. A tuple: a call makes
    a dozen, and a frozen dataclass's __init__ set each field through
    object.__setattr__."""

    code: int
    result: str
    data: str | None
    extra: dict[str, str]

    @classmethod
    def parse(cls, line: str) -> AgiResult:
        code, _, rest = line.partition(" ")
        if code == "200" and rest.startswith("result=") and "(" not in rest:
            # The common shape, "result=<r> [key=value ...]", without the regex.
            head, *fields = rest.split()
            if all(field.find("=") > 0 for field in fields):
                pairs = (field.partition("=") for field in fields)
                return cls(200, head[7:], None, {key: value for key, _, value in pairs})
        match = _RESULT_RE.fullmatch(rest)
        if code != "200" or match is None:
            raise AgiError(f"unparsable AGI reply: {line!r}")
        tokens = (token.partition("=") for token in match["extra"].split())
        extra = {key: value for key, _, value in tokens}
        return cls(200, match["result"], match["data"], extra)


Handler = Callable[["AgiSession"], Awaitable[None]]


def route_from_script(script: str) -> str:
    """Route name for an ``agi_network_script`` value (``entry?x=1`` -> ``entry``)."""
    return script.partition("?")[0].strip("/")


class RouteTable:
    """The explicit table of voice-menu actions that the dialplan may ask for."""

    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}

    def add(self, name: str, handler: Handler) -> None:
        if not name or route_from_script(name) != name:
            raise ValueError(f"route name {name!r} could never match an AGI script name")
        if name in self._handlers:
            raise ValueError(f"route {name!r} is already registered")
        # A sync function would only fail once a caller reaches it; refuse it at startup.
        if not inspect.iscoroutinefunction(handler):
            raise TypeError(f"handler for route {name!r} must be an async def function")
        self._handlers[name] = handler

    def get(self, name: str) -> Handler | None:
        return self._handlers.get(name)

    def names(self) -> list[str]:
        return list(self._handlers)


def _quote(arg: str) -> str:
    """Quote one argument the way Asterisk's AGI argument parser unquotes it."""
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _decode(raw: bytes) -> str:
    # Caller names can arrive in any encoding; a bad byte must not end the call.
    return raw.decode("utf-8", "replace").rstrip("\r\n")


def _split_status(line: str) -> tuple[int, bool, str]:
    """Return (code, continues, text); ``continues`` marks a ``520-`` block opener."""
    match = _STATUS_RE.fullmatch(line)
    if match is None:
        raise AgiError(f"unexpected line from Asterisk: {line!r}")
    return int(match[1]), match[2] == "-", match[3] or ""


class LineReader(Protocol):
    """Where a session reads Asterisk's lines: the server's connection, or an asyncio
    StreamReader."""

    async def readline(self) -> bytes: ...


class CommandWriter(Protocol):
    """Where a session sends its commands: the server's connection, or a StreamWriter."""

    def write(self, data: bytes) -> None: ...

    async def drain(self) -> None: ...


class AgiSession:
    """One call's AGI conversation: send a command, read its final reply."""

    def __init__(
        self,
        reader: LineReader,
        writer: CommandWriter,
        headers: dict[str, str],
    ) -> None:
        self.headers = headers
        self.route = route_from_script(headers.get("network_script", ""))
        self.hung_up = False
        self._reader = reader
        self._writer = writer
        # Two tasks interleaving commands would read each other's replies.
        self._lock = asyncio.Lock()
        self._out_of_step = False

    # The per-command timeout is part of the agreed API; it is applied with asyncio.timeout.
    async def command(self, line: str, timeout: float | None = None) -> AgiResult:
        if not line or "\n" in line or "\r" in line:
            raise ValueError(f"an AGI command must be one non-empty line: {line!r}")
        async with self._lock:
            if self._out_of_step:
                raise AgiError("an earlier command was abandoned; replies are out of step")
            try:
                if timeout is None:  # most commands: no timer to set up and take down
                    return await self._exchange(line)
                async with asyncio.timeout(timeout):
                    return await self._exchange(line)
            except (AgiHangup, AgiCommandError):
                raise
            except BaseException:
                # The reply (or the rest of it) may still arrive and would be taken
                # for the reply to the next command.
                self._out_of_step = True
                raise

    async def _exchange(self, line: str) -> AgiResult:
        try:
            self._writer.write(line.encode() + b"\n")
            await self._writer.drain()
        except ConnectionError as exc:
            self.hung_up = True
            raise AgiHangup(f"connection lost while sending {line.split()[0]}") from exc
        return await self._read_reply()

    async def _read_line(self) -> str | None:
        """The next line without its terminator; None once Asterisk has closed."""
        try:
            raw = await self._reader.readline()
        except ConnectionError:
            return None
        except ValueError as exc:  # the reader's limit, i.e. max_line
            raise AgiError("reply line longer than max_line") from exc
        return _decode(raw) if raw.endswith(b"\n") else None

    async def _read_reply(self) -> AgiResult:
        while True:
            line = await self._read_line()
            if line is None:
                self.hung_up = True
                raise AgiHangup("Asterisk closed the connection before replying")
            if line == "HANGUP":
                # The command may still complete; its reply tells us whether it ran.
                self.hung_up = True
                continue
            if line.startswith("200 "):  # nearly every reply: no status regex for it
                return AgiResult.parse(line)
            code, continues, text = _split_status(line)
            if code == 200:
                return AgiResult.parse(line)
            if code != 100:  # 100 is "Trying...", a provisional reply
                raise await self._failure(code, continues, text)

    async def _failure(self, code: int, continues: bool, text: str) -> AgiError:
        if code == 511:
            self.hung_up = True
            return AgiHangup(f"{code} {text}")
        if continues:
            text = await self._read_continuation(code, text)
        return AgiCommandError(code, text)

    async def _read_continuation(self, code: int, first: str) -> str:
        """Collect a multi-line block up to its ``<code> <text>`` closing line."""
        parts = [first]
        closing = f"{code} "
        while True:
            line = await self._read_line()
            if line is None:
                self.hung_up = True
                raise AgiHangup(f"connection closed inside a {code} reply")
            if line == "HANGUP":
                self.hung_up = True
            elif line.startswith(closing):
                parts.append(line[len(closing) :])
                return "\n".join(parts)
            else:
                parts.append(line)

    async def hangup_follows(self, within: float) -> bool:
        """After a command answered -1: whether Asterisk says HANGUP within `within`
        seconds. When the caller hangs up during a prompt, Asterisk sends the prompt's -1
        first and HANGUP right after it; waiting for that line tells a hang-up from a
        real failure without a command to a dead channel. An unexpected line is an error
        (and the session out of step)."""
        if self.hung_up:
            return True
        async with self._lock:
            try:
                async with asyncio.timeout(within):
                    line = await self._read_line()
            except TimeoutError:
                return False  # nothing more to read: the channel is up
            if line is None or line == "HANGUP":
                self.hung_up = True
                return True
            self._out_of_step = True
            raise AgiError(f"unexpected line from Asterisk after a failed command: {line!r}")

    def _failed(self, what: str, reply: AgiResult) -> AgiError:
        # -1 is both "channel gone" and "could not do it" (e.g. a missing sound file).
        if self.hung_up:
            return AgiHangup(f"{what} failed after the caller hung up")
        return AgiError(f"{what} failed: result={reply.result}")

    def _number(self, what: str, reply: AgiResult) -> int:
        try:
            value = int(reply.result)
        except ValueError:
            raise AgiError(f"{what}: non-numeric result {reply.result!r}") from None
        if value < 0:
            raise self._failed(what, reply)
        return value

    async def answer(self) -> None:
        reply = await self.command("ANSWER")
        self._number("ANSWER", reply)

    async def exec(self, app: str, *args: str) -> AgiResult:
        """Run a dialplan application; args are joined with ',' as the app expects."""
        if not app or any(ch.isspace() or ch == '"' for ch in app):
            raise ValueError(f"invalid application name {app!r}")
        line = f"EXEC {app}"
        if args:
            line += " " + _quote(",".join(args))
        return await self.command(line)

    async def get_variable(self, name: str) -> str | None:
        reply = await self.command(f"GET VARIABLE {_quote(name)}")
        if reply.result != "1":
            return None
        return reply.data if reply.data is not None else ""

    async def set_variable(self, name: str, value: str) -> None:
        await self.command(f"SET VARIABLE {_quote(name)} {_quote(value)}")

    async def set_variables(self, values: Mapping[str, str]) -> None:
        """Several variables (or functions such as CDR(x)) in one round trip (MSet), in
        order. MSet splits on commas: names and values may not hold one."""
        pairs = [f"{name}={value}" for name, value in values.items()]
        if not pairs or any("," in pair for pair in pairs):
            raise ValueError(f"MSet cannot carry {values!r}")
        await self.exec("MSet", *pairs)

    async def stream_file(self, filename: str, escape_digits: str = "") -> str:
        """Play a prompt; return the escape digit pressed, or "" if none was."""
        reply = await self.command(f"STREAM FILE {_quote(filename)} {_quote(escape_digits)}")
        code = self._number("STREAM FILE", reply)
        return chr(code) if code else ""

    async def get_data(self, filename: str, timeout_ms: int, max_digits: int) -> tuple[str, bool]:
        """Play a prompt and collect digits; return (digits, timed_out)."""
        line = f"GET DATA {_quote(filename)} {int(timeout_ms)} {int(max_digits)}"
        reply = await self.command(line)
        if reply.result.startswith("-"):
            raise self._failed("GET DATA", reply)
        return reply.result, reply.data == "timeout"

    async def verbose(self, message: str, level: int = 1) -> None:
        await self.command(f"VERBOSE {_quote(message)} {int(level)}")


class _HeaderAbort(Exception):
    """The peer went away or misbehaved before finishing the header block."""


class _MalformedHeader(Exception):
    """A header line that is not ``agi_name: value``."""


class _Connection(asyncio.Protocol):
    """One FastAGI connection as the server sees it: Asterisk's bytes as they come, our
    commands out. It does for the server what asyncio's StreamReader, StreamReaderProtocol
    and StreamWriter did, with less between a reply and the session awaiting it: a line
    already received is returned without a suspension, and bytes that arrive wake the
    one waiting reader's future directly. Those three classes' Python code, a few calls per
    AGI command, was a tenth of the bridge's CPU (bench/README.md, 2026-12-02)."""

    transport: asyncio.Transport

    def __init__(self, server: FastAgiServer, limit: int) -> None:
        self._server, self._limit = server, limit
        self._buffer = bytearray()
        self._eof = False  # Asterisk closed its side (or the link is gone)
        self._lost = False
        self._waiter: asyncio.Future[None] | None = None  # a reader waiting for bytes
        self._paused = False  # the transport's buffer is full (flow control)
        self._drained: asyncio.Future[None] | None = None
        self._closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    # --- asyncio.Protocol -------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self._server._accept(self)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        self._wake()

    def eof_received(self) -> bool:
        self._eof = True
        self._wake()
        return True  # our side stays open until the session closes it (as the streams did)

    def connection_lost(self, exc: Exception | None) -> None:
        self._eof = self._lost = True
        self._wake()
        self._resume()
        if not self._closed.done():
            self._closed.set_result(None)

    def pause_writing(self) -> None:
        self._paused = True

    def resume_writing(self) -> None:
        self._paused = False
        self._resume()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _resume(self) -> None:
        drained = self._drained
        if drained is not None and not drained.done():
            drained.set_result(None)

    async def _more(self) -> None:
        """Wait until more bytes, the end of the stream, or the link's loss."""
        if self._waiter is not None:
            raise RuntimeError("two readers on one FastAGI connection")
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None

    # --- what the session reads -------------------------------------------------------

    async def readline(self) -> bytes:
        """The next line with its newline; at the end, what is left (b"" if nothing). A line
        longer than the limit is dropped with ValueError, as StreamReader.readline does."""
        while True:
            end = self._buffer.find(b"\n")
            if end >= 0:
                line = bytes(self._buffer[:end + 1])
                del self._buffer[:end + 1]
                if end > self._limit:
                    raise ValueError("a line longer than the limit")
                return line
            if len(self._buffer) > self._limit:
                self._buffer.clear()
                raise ValueError("a line longer than the limit")
            if self._eof:
                rest = bytes(self._buffer)
                self._buffer.clear()
                return rest
            await self._more()

    async def header_block(self) -> bytes:
        """The bytes up to and with the blank line that ends the header block; what comes
        after it (a HANGUP as the caller leaves) stays for the session. _HeaderAbort for a
        line longer than the limit, too many lines, or the end of the stream first."""
        while (end := _header_end(self._buffer)) is None:
            if len(self._buffer) - self._buffer.rfind(b"\n") - 1 > self._limit:
                raise _HeaderAbort("header line longer than max_line")
            if self._buffer.count(b"\n") > _MAX_HEADER_LINES:
                raise _HeaderAbort("too many header lines")
            if self._eof:  # waiting on nothing more is what froze panoramisk
                raise _HeaderAbort("connection closed before the header block ended")
            await self._more()
        block = bytes(self._buffer[:end])
        del self._buffer[:end]
        return block

    # --- what the session writes ------------------------------------------------------

    def write(self, data: bytes) -> None:
        self.transport.write(data)

    async def drain(self) -> None:
        """Return once the transport takes more; ConnectionResetError once the link is
        gone (as StreamWriter.drain)."""
        while True:
            if self._lost:
                raise ConnectionResetError("Connection lost")
            if not self._paused:
                return
            self._drained = asyncio.get_running_loop().create_future()
            await self._drained

    def get_extra_info(self, name: str) -> Any:
        return self.transport.get_extra_info(name)

    def close(self) -> None:
        self.transport.close()  # flushes what is buffered, then closes

    async def wait_closed(self) -> None:
        await asyncio.shield(self._closed)


async def _read_header_block(connection: _Connection, max_line: int) -> list[str]:
    """The header lines, without the blank one that ends them (lines may end in CRLF); a
    line longer than max_line, too many lines, or the peer closing before the blank line
    is a _HeaderAbort. One wait for the whole block where it can be (a readline a line was
    about 25 a call on the bridge's loop)."""
    raw_lines = (await connection.header_block()).split(b"\n")[:-1]
    if raw_lines and raw_lines[-1] in (b"", b"\r"):
        raw_lines.pop()  # the blank line
    if len(raw_lines) > _MAX_HEADER_LINES:
        raise _HeaderAbort("too many header lines")
    if any(len(raw) > max_line for raw in raw_lines):  # as StreamReader's limit judged
        raise _HeaderAbort("header line longer than max_line")
    return [_decode(raw) for raw in raw_lines]


def _header_end(data: bytes | bytearray) -> int | None:
    """Where the header block in data ends (just after its blank line), if it does."""
    if data.startswith((b"\n", b"\r\n")):
        return data.index(b"\n") + 1
    ends = [found + len(mark) for mark in (b"\n\n", b"\n\r\n")
            if (found := data.find(mark)) >= 0]
    return min(ends) if ends else None


def _parse_headers(lines: list[str]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in lines:
        name, sep, value = line.partition(": ")
        if not sep and line.endswith(":"):  # an empty value whose space was trimmed
            name, sep = line[:-1], ":"
        if not sep or not name:
            raise _MalformedHeader(line)
        headers[name.removeprefix("agi_")] = value
    return headers


async def _close(connection: _Connection) -> None:
    connection.close()  # flushes what is buffered, then closes
    try:
        async with asyncio.timeout(_CLOSE_GRACE):
            await connection.wait_closed()
    except ConnectionError:
        pass
    except TimeoutError:
        connection.transport.abort()


class FastAgiServer:
    """Accepts FastAGI connections and runs each one's route handler in its own task.

    Whoever connects is taken for Asterisk, so who may connect is checked on every
    connection: with no ``allowed_peers`` the server listens on loopback only and serves
    loopback peers; listening anywhere else needs the list of Asterisk's addresses
    (``[pbx] agi_allow``), and then only those are served.
    """

    def __init__(
        self,
        routes: RouteTable,
        host: str = "127.0.0.1",
        port: int = 4573,
        *,
        allowed_peers: Iterable[str] = (),
        header_timeout: float = 5.0,
        max_line: int = 8192,
        logger: logging.Logger | None = None,
    ) -> None:
        self.routes = routes
        self.host = host
        self.port = port
        self._allowed = parse_allowed_peers(allowed_peers)
        self._verdicts: dict[str, bool] = {}  # peer host -> allowed
        if not self._allowed and not _is_loopback_host(host):
            raise FastAgiBindError(
                f"FastAGI: refusing to listen on {host or 'every interface'!r}: any machine "
                "that reaches it could act as Asterisk. Listen on 127.0.0.1, or list "
                "Asterisk's addresses in [pbx] agi_allow")
        self._refused_logged: set[str] = set()
        self._header_timeout = header_timeout
        self._max_line = max_line
        self._log = logger or _log
        self._server: asyncio.Server | None = None
        self._sessions: set[asyncio.Task[None]] = set()

    @property
    def active_sessions(self) -> int:
        return len(self._sessions)

    async def start(self) -> None:
        if self._server is not None:
            raise RuntimeError("FastAGI server already started")
        self._server = await asyncio.get_running_loop().create_server(
            lambda: _Connection(self, self._max_line), self.host, self.port
        )
        self.port = int(self._server.sockets[0].getsockname()[1])
        self._log.info("FastAGI server listening on %s:%d", self.host, self.port)

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        # A connection accepted just before close() may add a task while we wait.
        while self._sessions:
            tasks = list(self._sessions)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()
        self._log.info("FastAGI server on port %d stopped", self.port)

    def peer_allowed(self, peer: object) -> bool:
        """Whether a connection from `peer` (a socket's peername) may speak FastAGI. Asterisk
        connects from one address for every call: the verdict on it is kept, not worked out
        through the ipaddress module at each call (issue 12)."""
        host = peer[0] if isinstance(peer, tuple) and peer else None
        if isinstance(host, str):
            verdict = self._verdicts.get(host)
            if verdict is None:
                if len(self._verdicts) >= _MAX_VERDICTS:
                    self._verdicts.clear()  # scanned from many addresses: start again
                verdict = self._verdicts[host] = self._judge(peer)
            return verdict
        return self._judge(peer)

    def _judge(self, peer: object) -> bool:
        address = _peer_address(peer)
        if address is None:
            return False
        if not self._allowed:
            return address.is_loopback
        return any(address in network for network in self._allowed)

    def _refuse(self, connection: _Connection, peer: object) -> None:
        connection.transport.abort()
        shown = str(_peer_address(peer) or peer)
        if shown in self._refused_logged or len(self._refused_logged) > _MAX_REFUSED_LOGGED:
            return
        self._refused_logged.add(shown)
        if len(self._refused_logged) > _MAX_REFUSED_LOGGED:
            self._log.warning("FastAGI: more than %d addresses refused; no longer logging "
                              "each", _MAX_REFUSED_LOGGED)
            return
        self._log.warning("FastAGI connection from %s refused: not an allowed Asterisk "
                          "address ([pbx] agi_allow); further ones from it are not logged",
                          shown)

    def _accept(self, connection: _Connection) -> None:
        peer = connection.get_extra_info("peername")
        if not self.peer_allowed(peer):
            self._refuse(connection, peer)
            return
        task = asyncio.create_task(self._serve(connection))
        self._sessions.add(task)
        task.add_done_callback(self._sessions.discard)

    async def _serve(self, connection: _Connection) -> None:
        try:
            opened = await self._open(connection)
            if opened is not None:
                await self._run(*opened)
        except Exception:
            # Never let one connection's surprise become an unretrieved task exception.
            self._log.exception("FastAGI connection failed")
        finally:
            await _close(connection)

    async def _open(self, connection: _Connection) -> tuple[AgiSession, Handler] | None:
        headers = await self._read_headers(connection)
        if headers is None:
            return None
        session = AgiSession(connection, connection, headers)
        handler = self.routes.get(session.route)
        if handler is None:
            self._log.warning(
                "no FastAGI route %r (uniqueid %s); closing",
                session.route,
                headers.get("uniqueid", "?"),
            )
            return None
        return session, handler

    async def _read_headers(self, connection: _Connection) -> dict[str, str] | None:
        try:
            async with asyncio.timeout(self._header_timeout):
                lines = await _read_header_block(connection, self._max_line)
        except TimeoutError:
            self._log.debug(
                "FastAGI header block not complete in %ss; closing", self._header_timeout
            )
            return None
        except _HeaderAbort as exc:
            self._log.debug("FastAGI connection dropped before the session began: %s", exc)
            return None
        return self._parse_header_lines(lines)

    def _parse_header_lines(self, lines: list[str]) -> dict[str, str] | None:
        try:
            headers = _parse_headers(lines)
        except _MalformedHeader as exc:
            # The line itself may carry the caller's number, so only debug shows it.
            self._log.warning("malformed FastAGI header line; closing")
            self._log.debug("malformed FastAGI header line: %r", exc.args[0])
            return None
        self._log.debug("FastAGI headers: %r", headers)
        return headers

    async def _run(self, session: AgiSession, handler: Handler) -> None:
        uniqueid = session.headers.get("uniqueid", "?")
        try:
            await handler(session)
        except AgiHangup:
            # Routine (most calls end so) and recorded with the call: not a line per call
            # in the bridge's log, whose handler formatted, sought and wrote for each.
            self._log.debug("caller hung up in route %r (uniqueid %s)", session.route, uniqueid)
        except Exception:
            self._log.exception(
                "FastAGI handler for route %r failed (uniqueid %s)", session.route, uniqueid
            )
