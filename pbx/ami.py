"""Asterisk Manager Interface client: panoramisk's ``Manager`` plus the safety it lacks.

panoramisk 1.4 parses the protocol, matches replies to actions and dispatches events
well, but it never checks that pings are answered (a half-open TCP link goes unnoticed
forever), an action whose reply is lost hangs its caller forever, and its reconnect
timers are neither cancellable nor sub-second (``int(reconnect_timeout)``).

``AmiClient`` therefore keeps panoramisk for everything on the wire and owns the
connection lifecycle itself: one supervisor task connects, logs in, pings, and
reconnects after ``reconnect_delay``; every request races its reply against a timeout
and against the loss of the link it was sent on.

Semantics worth knowing:

* Requests are at most once. panoramisk would resend requests that were in flight when
  the link dropped (on the next ``FullyBooted``); for Originate or Redirect a duplicate
  is worse than an error, so a request pending when the link drops raises
  ``AmiNotConnected`` and is never replayed. The caller decides whether to retry.
* Event handlers and on_connect/on_disconnect callbacks run one at a time, in arrival
  order, on a single delivery task, so state trackers see Newchannel before Hangup and
  the reconnect reconciliation before the events that follow it. A slow handler delays
  the ones after it; hand long work off to a task of your own.
"""

from __future__ import annotations

import asyncio
import collections
import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeAlias
from urllib.parse import unquote

from panoramisk import actions
from panoramisk.ami_protocol import AMIProtocol
from panoramisk.manager import Manager
from panoramisk.message import Message

__all__ = [
    "AmiClient",
    "AmiError",
    "AmiNotConnected",
    "AmiTimeout",
    "Callback",
    "EventHandler",
]

EventHandler: TypeAlias = Callable[[Message], Awaitable[None]]
Callback: TypeAlias = Callable[[], Awaitable[None]]
# What waits in the delivery queue: an event's name, its handlers and the event; or a
# label and connect/disconnect callbacks, without an event.
_Delivery: TypeAlias = tuple[str, tuple[Any, ...], Message | None]
Reply: TypeAlias = "Message | list[Message]"
ActionFields: TypeAlias = Mapping[str, str | list[str]]

# panoramisk's own pinger sends Pings whose replies nobody reads; AmiClient's watchdog
# replaces it. Manager int()s the delay, so "never" has to be a large finite number.
_PANORAMISK_PING_NEVER = 10**9
_MASK = "********"


class AmiError(Exception):
    """The server refused an action (``Response: Error``), or the exchange failed."""

    def __init__(self, message: str, reply: Reply | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.reply = reply


class AmiTimeout(AmiError):
    """No reply arrived within the timeout."""


class AmiNotConnected(AmiError):
    """Not logged in, or the link dropped before the reply arrived."""


class _Masked:
    """A log message whose text is built lazily, with the secret masked."""

    __slots__ = ("_args", "_msg", "_secret")

    def __init__(self, msg: object, args: tuple[object, ...], secret: str) -> None:
        self._msg, self._args, self._secret = msg, args, secret

    def __str__(self) -> str:
        text = str(self._msg) % self._args if self._args else str(self._msg)
        return text.replace(self._secret, _MASK) if self._secret else text


class _SecretMaskingLogger(logging.LoggerAdapter[logging.Logger]):
    """Masks the AMI secret in every message, ours and panoramisk's alike.

    panoramisk logs whole actions in some paths (``Fail to send %r``), and the Login
    action carries the secret; masking here makes the guarantee independent of that.
    Formatting stays lazy, and a bad format string is reported by logging's handler as
    usual instead of raising into the caller.
    """

    def __init__(self, logger: logging.Logger, secret: str) -> None:
        super().__init__(logger, None)
        self._secret = secret

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        if not self.isEnabledFor(level):
            return  # panoramisk logs every received message at DEBUG
        # One frame more, so records name the caller rather than this method.
        kwargs["stacklevel"] = kwargs.get("stacklevel", 1) + 1
        super().log(level, _Masked(msg, args, self._secret), **kwargs)


_EOL = "\r\n"
_BLOCK_END = b"\r\n\r\n"  # the blank line that ends every AMI message
_HAS_BODY = ("Response: Follows", "Response: Fail")


class AmiMessage(Message):  # type: ignore[misc]  # panoramisk is untyped
    """panoramisk's Message with its look-ups in one step: Message.get went through
    MutableMapping.get, __getitem__ and lower(), and every event is looked at a dozen times
    on the bridge's loop (the call tracker, hotline.callid). Same answers: a missing header
    is the default for get() and "" as an attribute."""

    def get(self, key: str, default: Any = None) -> Any:
        found = self._store.get(key.lower())
        return default if found is None else found[1]

    def __getattr__(self, attr: str) -> Any:
        return self.get(attr, "")


def parse_message(block: str) -> Message | None:
    """One AMI message (its lines, without the blank line that ends it) as panoramisk's
    Message, or None if it is neither an event nor a reply: what Message.from_line gives,
    built straight into the case-insensitive store. panoramisk sets each header through
    MutableMapping.update, a Python call a header, and that was most of an event's
    parse (bench/README.md, 2026-12-02). A header that comes twice becomes a list."""
    lines = block.split(_EOL)
    content = ""
    if lines[0].startswith(_HAS_BODY):
        content = lines.pop()
        while not content and lines:
            content = lines.pop()
    store: dict[str, tuple[str, Any]] = {}
    for line in lines:
        key, sep, value = line.partition(": ")
        if not sep:
            continue
        lower = key.lower()
        if lower == "result":  # panoramisk's Message.quoted_keys
            value = unquote(value).strip()
        if lower in store:
            seen = store[lower][1]
            store[lower] = (key, [*seen, value] if isinstance(seen, list) else [seen, value])
        else:
            store[lower] = (key, value)
    if "event" not in store and "response" not in store:
        return None
    store["content"] = ("content", content)
    message: Message = AmiMessage.__new__(AmiMessage)
    message._store = store
    message.manager = None
    return message


class _AmiProtocol(AMIProtocol):  # type: ignore[misc]  # panoramisk is untyped
    """AMIProtocol that reports the loss of its link instead of reconnecting, and parses
    messages with parse_message.

    The base class calls ``Manager.connection_lost``, which schedules a reconnect with
    ``loop.call_later`` and keeps no handle, so it could fire after ``close()``.
    """

    lost: asyncio.Future[None]
    version: str | None
    # Where an event that answers no action goes: AmiClient's delivery (set in its _open).
    # Without it, panoramisk's Manager.dispatch, as the base class does.
    on_event: Callable[[Message], None] | None = None
    _rest = b""

    def data_received(self, data: bytes) -> None:
        """As AMIProtocol.data_received (what it did with each message, and the greeting's
        version), without its per-message debug log and parse. Messages are cut apart in
        bytes, at the blank line that ends each, and each is decoded whole: no character is
        split between two reads (panoramisk decoded each read alone and dropped such a
        character: a caller's name in Chinese could lose one), and without an incremental
        decoder, a Python call every read (bench/README.md, 2026-12-02)."""
        if self.version is None and data.startswith(b"Asterisk Call Manager/"):
            greeting = data.partition(b"\r\n")[0].decode("ascii", "replace")
            self.version = greeting.partition("/")[2].strip()
            self.log.info("protocol version: '%s'", self.version)
        if self._rest:
            data = self._rest + data
        *blocks, self._rest = data.split(_BLOCK_END)
        encoding = getattr(self, "encoding", "utf-8")
        for block in blocks:
            message = parse_message(block.decode(encoding, "ignore").strip())
            if message is not None:
                self.handle_message(message)

    def handle_message(self, message: Message) -> None:
        """An event that answers no action goes straight to on_event (the base class first
        looks it up among the replies it awaits, through three property look-ups an event,
        then panoramisk's dispatch matched it against patterns and asked whether each
        handler's result was a coroutine)."""
        store = message._store
        if "event" in store and "actionid" not in store and "commandid" not in store:
            if store["event"][1].lower() == "shutdown":
                self.connection_lost(message)
            if self.on_event is not None:
                self.on_event(message)
            else:
                self.factory.dispatch(message)
            return
        super().handle_message(message)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.lost = asyncio.get_running_loop().create_future()

    def connection_lost(self, exc: BaseException | None) -> None:
        if not self.closed:
            self.close()  # still needed: it closes the transport and empties the reply table
        if not self.lost.done():
            self.lost.set_result(None)


def _require_async(func: object) -> None:
    # A sync callable would "work" until the first time its result is awaited, far from
    # the registration that was wrong.
    if not inspect.iscoroutinefunction(func):
        raise TypeError(f"{func!r} must be an async function (async def)")


class _ListAwareMixin:
    """Event lists are announced by ``EventList: start`` (Asterisk 12+), nothing else.

    panoramisk also takes a reply whose message starts "Added" and ends "to queue"
    (QueueAdd's "Added interface to queue") or ends "successfully queued" (Originate) for
    the start of an event list, and then waits for an end that never comes.
    """

    responses: list[Message]

    @property
    def multi(self) -> bool:
        first = self.responses[0]
        return (str(first.get("EventList", "")).lower() == "start"
                or first.get("SubEvent") == "Start"
                or "will follow" in str(first.get("Message", "")).lower())


class _Action(_ListAwareMixin, actions.Action):  # type: ignore[misc]  # panoramisk is untyped
    pass


class _Command(_ListAwareMixin, actions.Command):  # type: ignore[misc]
    pass


def _new_action(fields: ActionFields) -> Any:
    if not any(key.lower() == "action" for key in fields):
        raise ValueError(f"an AMI action needs an 'Action' field: {dict(fields)!r}")
    # Same choice Manager.send_action makes for plain dicts: Command gets a CommandID.
    klass = _Command if "Command" in fields else _Action
    return klass(fields)


def _checked(reply: Any) -> Reply:
    head = reply[0] if isinstance(reply, list) else reply
    if not head.success:
        raise AmiError(head.message or f"Response: {head.response}", reply)
    return reply


class AmiClient:
    """A self-healing AMI connection. See the module docstring for the semantics."""

    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        secret: str,
        *,
        action_timeout: float = 5.0,
        ping_interval: float = 5.0,
        ping_timeout: float = 3.0,
        reconnect_delay: float = 1.0,
        logger: logging.Logger | None = None,
    ) -> None:
        self._host, self._port = host, port
        self._address = f"{host}:{port}"
        self._username, self._secret = username, secret
        self._action_timeout = action_timeout
        self._ping_interval = ping_interval
        self._ping_timeout = ping_timeout
        self._reconnect_delay = reconnect_delay
        base_logger = logger or logging.getLogger(__name__)
        self._log = _SecretMaskingLogger(base_logger, secret)
        # A child logger, so panoramisk's chatter can be tuned apart from the client's.
        self._panoramisk_log = _SecretMaskingLogger(base_logger.getChild("panoramisk"), secret)
        self._handlers: dict[str, tuple[EventHandler, ...]] = {}
        self._on_connect: list[Callback] = []
        self._on_disconnect: list[Callback] = []
        self._manager: Any = None
        self._protocol: _AmiProtocol | None = None
        self._connected = False
        self._closing = False
        self._last_error: str | None = None
        self._ready = asyncio.Event()
        # What the delivery task has still to hand out, and its wake-up while there is none
        # (a deque and a future: asyncio.Queue's get and put cost a few Python calls an
        # event on the bridge's loop).
        self._inbox: collections.deque[_Delivery] = collections.deque()
        self._arrived: asyncio.Future[None] | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._delivery: asyncio.Task[None] | None = None

    # -- registration -------------------------------------------------------------

    def on_event(self, name: str, handler: EventHandler) -> None:
        """Call ``handler(message)`` for every event named exactly ``name``."""
        _require_async(handler)
        self._handlers[name] = (*self._handlers.get(name, ()), handler)

    def on_connect(self, callback: Callback) -> None:
        """Call ``callback()`` after every successful login, the first one included."""
        _require_async(callback)
        self._on_connect.append(callback)

    def on_disconnect(self, callback: Callback) -> None:
        """Call ``callback()`` when a logged-in link is lost (not on ``close()``)."""
        _require_async(callback)
        self._on_disconnect.append(callback)

    # -- public operations --------------------------------------------------------

    @property
    def connected(self) -> bool:
        protocol = self._protocol
        return self._connected and protocol is not None and not protocol.lost.done()

    async def connect(self, wait: float | None = 10.0) -> None:
        """Start the client and return once logged in; it then reconnects until close().

        If not logged in within ``wait`` seconds (None: no limit) the client is closed
        again and AmiTimeout is raised, so a failed start leaves nothing running.
        """
        if self._supervisor is not None:
            raise RuntimeError("AmiClient is already started; close() it first")
        self._manager = self._new_manager()
        self._inbox.clear()
        self._delivery = asyncio.create_task(self._deliver(), name=f"ami-events {self._address}")
        self._supervisor = asyncio.create_task(self._supervise(), name=f"ami {self._address}")
        try:
            async with asyncio.timeout(wait):  # not wait_for: see _open()
                await self._ready.wait()
        except TimeoutError:
            await self.close()
            raise AmiTimeout(
                f"not logged in to AMI {self._address} within {wait} s"
                f" (last error: {self._last_error})"
            ) from None
        except asyncio.CancelledError:
            await self.close()
            raise

    async def action(
        self,
        action: ActionFields,
        timeout: float | None = None,  # part of the agreed API
    ) -> Reply:
        """Send ``action`` and return its reply (a list for event-list actions).

        Raises AmiError if the server answers with an error, AmiTimeout if no reply
        arrives within ``timeout`` (default: action_timeout) and AmiNotConnected if not
        logged in or the link drops first.
        """
        protocol = self._protocol
        if protocol is None or not self.connected:
            raise AmiNotConnected(f"not logged in to AMI {self._address}")
        limit = self._action_timeout if timeout is None else timeout
        return await self._request(protocol, action, limit)

    async def close(self) -> None:
        """Log off if possible, stop reconnecting and end every task the client started."""
        supervisor, delivery = self._supervisor, self._delivery
        if supervisor is None or delivery is None:
            return
        self._closing = True
        try:
            if self.connected and self._protocol is not None:
                await self._logoff(self._protocol)
            await self._stop(supervisor)
            await self._stop(delivery)
        finally:
            self._supervisor = self._delivery = None
            self._manager = self._protocol = None
            self._closing = False
            self._ready.clear()

    # -- connection lifecycle -----------------------------------------------------

    def _new_manager(self) -> Any:
        # No username in the config: Manager would then log in by itself, through a
        # callback that cannot time out; AmiClient sends Login as an ordinary request.
        manager = Manager(
            host=self._host,
            port=self._port,
            loop=asyncio.get_running_loop(),
            log=self._panoramisk_log,
            ping_delay=_PANORAMISK_PING_NEVER,
            ping_interval=_PANORAMISK_PING_NEVER,
        )
        # Events reach _on_ami_event from the protocol itself (_AmiProtocol.on_event), not
        # through the manager's patterns: an exact-name lookup, so registered names are not
        # fnmatch globs, handlers may be added at any time, and panoramisk's own FullyBooted
        # handler (which would resend requests pending at a drop) never runs.
        return manager

    async def _supervise(self) -> None:
        while True:
            try:
                await self._session()
            except Exception:
                # Whatever went wrong, the hotline needs the link back; never give up.
                self._log.exception("unexpected error in the AMI session with %s", self._address)
            await asyncio.sleep(self._reconnect_delay)

    async def _session(self) -> None:
        try:
            protocol = await self._open()
        except (OSError, TimeoutError) as exc:
            self._note_failure(f"cannot connect: {exc or 'timed out'}")
            return
        self._protocol = protocol
        try:
            await self._request(protocol, self._login_fields(), self._action_timeout)
            self._logged_in()
            await self._watch(protocol)
        except AmiError as exc:
            self._note_failure(f"session failed: {exc}")
        finally:
            was_logged_in, self._connected = self._connected, False
            await self._drop(protocol)
        if was_logged_in and not self._closing:
            self._enqueue("on_disconnect callback", self._on_disconnect)

    async def _open(self) -> _AmiProtocol:
        loop = asyncio.get_running_loop()
        # asyncio.timeout, not wait_for: on 3.11 wait_for swallows a cancel that lands as
        # the connect attempt fails, and close() would then wait for this task forever.
        async with asyncio.timeout(self._action_timeout):
            transport, protocol = await loop.create_connection(_AmiProtocol, self._host, self._port)
        # Manager.connection_made wires the protocol to the manager (dispatch, encoding,
        # reply table); it takes the future its own connect() would have produced.
        handed_over = loop.create_future()
        handed_over.set_result((transport, protocol))
        self._manager.connection_made(handed_over)
        protocol.on_event = self._on_ami_event
        return protocol

    def _login_fields(self) -> dict[str, str]:
        return {
            "Action": "Login",
            "Username": self._username,
            "Secret": self._secret,
            "Events": "on",
        }

    def _logged_in(self) -> None:
        self._connected = True
        self._last_error = None
        self._ready.set()
        self._log.info("logged in to AMI %s as %s", self._address, self._username)
        self._enqueue("on_connect callback", self._on_connect)

    async def _watch(self, protocol: _AmiProtocol) -> None:
        while True:
            await asyncio.wait((protocol.lost,), timeout=self._ping_interval)
            if protocol.lost.done():
                # During close() the peer closing after our Logoff is the expected end.
                level = logging.DEBUG if self._closing else logging.WARNING
                self._log.log(level, "AMI connection to %s was closed", self._address)
                return
            try:
                await self._request(protocol, {"Action": "Ping"}, self._ping_timeout)
            except AmiNotConnected:
                continue  # the next turn reports the closed link
            except AmiTimeout:
                self._log.warning(
                    "no Ping reply from AMI %s within %.1f s; dropping the link and reconnecting",
                    self._address,
                    self._ping_timeout,
                )
                return

    async def _drop(self, protocol: _AmiProtocol) -> None:
        # abort(), not close(): on a half-open link close() would wait for the write
        # buffer to drain, which never happens.
        protocol.transport.abort()
        await protocol.lost
        self._manager.close()  # cancels panoramisk's (idle) ping timer
        # Requests pending at the drop were failed, never to be replayed (at most once).
        self._manager.awaiting_actions.clear()

    async def _logoff(self, protocol: _AmiProtocol) -> None:
        try:
            await self._request(protocol, {"Action": "Logoff"}, self._ping_timeout)
        except AmiError as exc:
            self._log.debug("AMI Logoff from %s failed: %s", self._address, exc)

    async def _stop(self, task: asyncio.Task[None]) -> None:
        task.cancel()
        await asyncio.wait((task,))
        if not task.cancelled() and task.exception() is not None:
            self._log.error("AMI task %s had failed", task.get_name(), exc_info=task.exception())

    def _note_failure(self, reason: str) -> None:
        # While Asterisk is down this repeats every reconnect_delay; warn once per cause.
        level = logging.DEBUG if reason == self._last_error else logging.WARNING
        self._last_error = reason
        self._log.log(
            level, "AMI %s: %s; retrying every %.1f s", self._address, reason, self._reconnect_delay
        )

    # -- requests -----------------------------------------------------------------

    async def _request(self, protocol: _AmiProtocol, fields: ActionFields, limit: float) -> Reply:
        request = _new_action(fields)
        name = request["Action"]
        # as_list=None lets panoramisk detect event lists; protocol.send defaults to False.
        reply: asyncio.Future[Any] = protocol.send(request, as_list=None)
        try:
            await asyncio.wait(
                (reply, protocol.lost), timeout=limit, return_when=asyncio.FIRST_COMPLETED
            )
            if reply.done():
                return _checked(reply.result())
            if protocol.lost.done():
                raise AmiNotConnected(f"AMI link to {self._address} lost before the {name} reply")
            raise AmiTimeout(f"no reply to {name} from AMI {self._address} within {limit} s")
        finally:
            if not reply.done():
                self._forget(protocol, request, reply)

    @staticmethod
    def _forget(protocol: _AmiProtocol, request: Any, reply: asyncio.Future[Any]) -> None:
        # A cancelled future is also what makes panoramisk's FullyBooted replay skip it.
        reply.cancel()
        protocol.responses.pop(request.id, None)
        protocol.responses.pop(request.action_id, None)

    # -- event delivery -----------------------------------------------------------

    def _on_ami_event(self, message: Message) -> None:
        handlers = self._handlers.get(message.event)
        if handlers:  # as (name, handlers, event): no closure or label made an event
            self._inbox.append((message.event, handlers, message))
            self._wake_delivery()

    def _enqueue(self, label: str, callbacks: Sequence[Callback]) -> None:
        if callbacks:
            self._inbox.append((label, tuple(callbacks), None))
            self._wake_delivery()

    def _wake_delivery(self) -> None:
        arrived = self._arrived
        if arrived is not None and not arrived.done():
            arrived.set_result(None)

    async def _deliver(self) -> None:
        """Every event's handlers, and the connect and disconnect callbacks, one after
        another in the order they came; one that fails is logged and the rest go on."""
        while True:
            if not self._inbox:
                self._arrived = asyncio.get_running_loop().create_future()
                try:
                    await self._arrived
                finally:
                    self._arrived = None
                continue
            name, callbacks, message = self._inbox.popleft()
            for callback in callbacks:
                try:
                    await (callback() if message is None else callback(message))
                except Exception:
                    what = name if message is None else f"{name} event handler"
                    self._log.exception("AMI %s %r failed", what, callback)
