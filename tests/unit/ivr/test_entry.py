"""ivr.modules.entry: the first voice-menu step, against a scripted AGI session and a real
database (the open/closed mode is forced through the shared state)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from hotline import hours
from hotline.db import calls, state
from hotline.db.base import session_scope
from hotline.db.models import Call
from ivr import variables as v
from ivr.modules.entry import MENU_KEYS, MENU_TIMEOUT_MS, Entry
from ivr.services import Services

CALL = "1795747054.0"


@dataclass
class FakeAgi:
    """Just the AgiSession methods entry uses; replies come from the script."""

    linkedid: str | None = CALL
    stream_keys: list[str] = field(default_factory=list)  # one per stream_file, "" if absent
    data_replies: list[tuple[str, bool]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=lambda: {
        "uniqueid": "1795747054.0", "callerid": "13812345678",
        "channel": "PJSIP/carrier-00000000", "network_script": "entry"})
    variables: dict[str, str] = field(default_factory=dict)
    played: list[tuple[str, str, str]] = field(default_factory=list)  # (command, file, keys)

    async def get_variable(self, name: str) -> str | None:
        assert name == v.LINKEDID
        return self.linkedid

    async def set_variable(self, name: str, value: str) -> None:
        self.variables[name] = value

    async def stream_file(self, filename: str, escape_digits: str = "") -> str:
        self.played.append(("stream", filename, escape_digits))
        return self.stream_keys.pop(0) if self.stream_keys else ""

    async def get_data(self, filename: str, timeout_ms: int, max_digits: int) -> tuple[str, bool]:
        assert (timeout_ms, max_digits) == (MENU_TIMEOUT_MS, 1)
        self.played.append(("get_data", filename, ""))
        assert self.data_replies, f"the menu asked once more than scripted: {filename}"
        return self.data_replies.pop(0)

    def prompts(self) -> list[str]:
        return [Path(filename).name for _, filename, _ in self.played]


async def _force_mode(services: Services, mode: str) -> None:
    async with session_scope(services.sessions) as session:
        await state.set_state(session, hours.MODE_KEY, mode)


async def _call(services: Services, call_id: str = CALL) -> Call:
    async with session_scope(services.sessions) as session:
        call = await calls.get_call(session, call_id)
    assert call is not None
    return call


async def test_closed_key_pressed_during_welcome(services: Services) -> None:
    await _force_mode(services, "closed")
    agi = FakeAgi(stream_keys=["1"])

    await Entry(services).handle(agi)  # type: ignore[arg-type]

    assert agi.prompts() == ["welcome", "service-not-ready"]
    assert agi.played[0] == ("stream", services.sound("welcome"), MENU_KEYS)
    assert agi.played[1][2] == ""  # the closing prompt cannot be skipped by a key
    assert agi.variables == {v.ROUTE_VAR: v.ROUTE_CLOSED, v.CDR_ROUTE: v.CALL_ROUTE_MENU}
    call = await _call(services)
    assert (call.route, call.menu_path) == (v.CALL_ROUTE_MENU, "1")
    assert (call.caller_number, call.channel) == ("13812345678", "PJSIP/carrier-00000000")
    assert [(e.kind, e.detail) for e in call.events] == [
        ("route", {"route": "menu"}),
        ("prompt", {"prompt": "welcome"}),
        ("menu", {"prompt": "welcome", "key": "1", "timeout": "no"}),
        ("prompt", {"prompt": "service-not-ready"}),
    ]


async def test_closed_three_timeouts(services: Services) -> None:
    await _force_mode(services, "closed")
    agi = FakeAgi(data_replies=[("", True)] * 3)

    await Entry(services).handle(agi)  # type: ignore[arg-type]

    assert agi.prompts() == ["welcome", "main-menu", "main-menu-retry", "main-menu-retry"]
    assert [kind for kind, _, _ in agi.played] == ["stream", "get_data", "get_data", "get_data"]
    assert agi.variables[v.ROUTE_VAR] == v.ROUTE_CLOSED
    assert agi.variables[v.CDR_ROUTE] == v.CALL_ROUTE_MENU
    call = await _call(services)
    assert (call.route, call.menu_path) == (v.CALL_ROUTE_MENU, "")
    prompts = ("main-menu", "main-menu-retry", "main-menu-retry")
    assert [(e.kind, e.detail) for e in call.events] == [
        ("route", {"route": "menu"}), ("prompt", {"prompt": "welcome"}),
        *[pair for p in prompts for pair in (
            ("prompt", {"prompt": p}), ("menu", {"prompt": p, "key": "", "timeout": "yes"}))],
    ]


async def test_closed_invalid_key_then_a_choice(services: Services) -> None:
    await _force_mode(services, "closed")
    agi = FakeAgi(stream_keys=["5"], data_replies=[("2", False)])

    await Entry(services).handle(agi)  # type: ignore[arg-type]

    assert agi.prompts() == ["welcome", "main-menu-retry", "service-not-ready"]
    call = await _call(services)
    assert call.menu_path == "5,2"
    assert agi.variables[v.ROUTE_VAR] == v.ROUTE_CLOSED


async def test_closed_zero_goes_straight_to_the_message(services: Services) -> None:
    await _force_mode(services, "closed")
    agi = FakeAgi(data_replies=[("0", False)])

    await Entry(services).handle(agi)  # type: ignore[arg-type]

    assert agi.prompts() == ["welcome", "main-menu"]
    assert (await _call(services)).menu_path == "0"
    assert agi.variables[v.ROUTE_VAR] == v.ROUTE_CLOSED


async def test_open_goes_to_the_queue(services: Services) -> None:
    await _force_mode(services, "open")
    agi = FakeAgi()

    await Entry(services).handle(agi)  # type: ignore[arg-type]

    assert agi.variables == {v.ROUTE_VAR: v.ROUTE_QUEUE, v.CDR_ROUTE: v.CALL_ROUTE_QUEUE}
    assert agi.prompts() == ["transfer-seat"]
    call = await _call(services)
    assert (call.route, call.menu_path) == (v.CALL_ROUTE_QUEUE, "")
    assert [e.kind for e in call.events] == ["route", "prompt"]


async def test_call_id_falls_back_to_the_uniqueid(services: Services) -> None:
    await _force_mode(services, "open")
    agi = FakeAgi(linkedid=None)
    agi.headers["uniqueid"] = "1795747099.7"

    await Entry(services).handle(agi)  # type: ignore[arg-type]

    assert (await _call(services, "1795747099.7")).route == v.CALL_ROUTE_QUEUE


async def test_call_registered_by_ami_first_keeps_its_facts(services: Services) -> None:
    started = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
    async with session_scope(services.sessions) as session:
        await calls.ensure_call(session, CALL, caller_number="13812345678", started_at=started,
                                channel="PJSIP/carrier-00000000")
    await _force_mode(services, "open")

    await Entry(services).handle(FakeAgi())  # type: ignore[arg-type]

    call = await _call(services)
    assert (call.started_at, call.caller_number) == (started, "13812345678")
    assert call.route == v.CALL_ROUTE_QUEUE
