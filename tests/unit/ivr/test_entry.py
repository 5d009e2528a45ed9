"""ivr.modules.entry: office hours to the seats, after hours the menu engine — against a
scripted AGI session (a unit test of one piece), a small menu file and a real database."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from hotline import hours
from hotline.db import calls, state
from hotline.db.base import session_scope
from hotline.db.models import Call
from ivr.actions import ActionRun, ActionTable
from ivr.callflow import ANY_KEY, CallFlow
from ivr.menu import MenuStore, Node
from ivr.modules.entry import MAX_STEPS, Entry
from ivr.services import Services
from ivr.writebehind import WriteBehind
from pbx import names as v

CALL = "1795747054.0"
MENU = """
start = "main"
[node.main]
kind = "menu"
prompt = ["welcome", "main-menu"]
retry_prompt = "main-menu-retry"
on_fail = "to-message"
keys = { "1" = "act", "#" = "main" }
[node.act]
kind = "action"
action = "note"
next = "bye"
[node.to-message]
kind = "play"
prompt = "menu-to-message"
next = "bye"
[node.bye]
kind = "end"
prompt = "goodbye"
"""


@dataclass
class FakeAgi:
    """Just the AgiSession methods the menu uses; keys come from the script."""

    stream_keys: list[str] = field(default_factory=list)  # one per stream_file, "" if absent
    data_replies: list[tuple[str, bool]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=lambda: {
        "uniqueid": CALL, "callerid": "13812345678", "channel": "PJSIP/carrier-00000000"})
    variables: dict[str, str] = field(default_factory=dict)
    played: list[tuple[str, str, str]] = field(default_factory=list)  # (command, file, keys)

    async def get_variable(self, name: str) -> str | None:
        return CALL if name == v.LINKEDID else None

    async def set_variable(self, name: str, value: str) -> None:
        self.variables[name] = value

    async def set_variables(self, values: dict[str, str]) -> None:
        self.variables.update(values)

    async def stream_file(self, filename: str, escape_digits: str = "") -> str:
        self.played.append(("stream", filename, escape_digits))
        return self.stream_keys.pop(0) if self.stream_keys else ""

    async def get_data(self, filename: str, timeout_ms: int, max_digits: int) -> tuple[str, bool]:
        self.played.append(("get_data", filename, ""))
        return self.data_replies.pop(0) if self.data_replies else ("", True)

    def prompts(self) -> list[str]:
        return [Path(filename).name for _, filename, _ in self.played]


def entry(services: Services, tmp_path: Path, text: str = MENU,
          action: ActionRun | None = None) -> tuple[Entry, list[str]]:
    """The menu engine on `text`; its action "note" notes the nodes it ran (or is `action`)."""
    ran: list[str] = []

    async def note(flow: CallFlow, node: Node) -> str | None:
        ran.append(node.id)
        return None

    actions = ActionTable()
    actions.add("note", action or note, lambda params: [])
    path = tmp_path / "menu.toml"
    path.write_text(text, encoding="utf-8")
    prompts = {"welcome", "main-menu", "main-menu-retry", "menu-to-message", "goodbye",
               "office-menu", "transfer-seat"}
    return Entry(services, MenuStore(path, prompts, actions.checks()), actions), ran


async def force_mode(services: Services, mode: str) -> None:
    """Set the mode as `hotline mode` does, and let the bridge's hours see it (its timer)."""
    async with session_scope(services.sessions) as session:
        await state.set_state(session, hours.MODE_KEY, mode)
    async with session_scope(services.sessions) as session:
        assert await services.hours.refresh(session)


async def the_call(services: Services) -> Call:
    await services.writer.flush()
    async with session_scope(services.sessions) as session:
        call = await calls.get_call(session, CALL)
    assert call is not None
    return call


async def test_open_goes_to_the_queue(services: Services, tmp_path: Path) -> None:
    await force_mode(services, "open")
    agi = FakeAgi()
    handler, ran = entry(services, tmp_path)

    await handler.handle(agi)  # type: ignore[arg-type]

    assert agi.variables == {v.ROUTE_VAR: v.ROUTE_QUEUE, v.CALL_ROUTE: v.CALL_ROUTE_QUEUE}
    assert agi.prompts() == ["transfer-seat"] and ran == []
    call = await the_call(services)
    assert (call.route, call.caller_number) == (v.CALL_ROUTE_QUEUE, "13812345678")


async def test_key_during_the_welcome_runs_the_action_then_ends(
        services: Services, tmp_path: Path) -> None:
    await force_mode(services, "closed")
    agi = FakeAgi(stream_keys=["1"])
    handler, ran = entry(services, tmp_path)

    await handler.handle(agi)  # type: ignore[arg-type]

    assert ran == ["act"]
    assert agi.prompts() == ["welcome", "goodbye"]
    assert agi.played[0] == ("stream", services.sound("welcome"), ANY_KEY)
    assert agi.variables == {v.ROUTE_VAR: v.ROUTE_DONE, v.CALL_ROUTE: v.CALL_ROUTE_MENU}
    call = await the_call(services)
    assert (call.route, call.menu_path) == (v.CALL_ROUTE_MENU, "1")
    assert [(e.kind, e.detail) for e in call.events][:3] == [
        ("route", {"route": "menu"}), ("prompt", {"prompt": "welcome"}),
        ("menu", {"prompt": "welcome", "key": "1", "timeout": "no"})]


async def test_three_silences_lead_out_of_the_menu(services: Services, tmp_path: Path) -> None:
    await force_mode(services, "closed")
    agi = FakeAgi()
    handler, ran = entry(services, tmp_path)

    await handler.handle(agi)  # type: ignore[arg-type]

    assert agi.prompts() == ["welcome", "main-menu", "main-menu-retry", "main-menu-retry",
                             "menu-to-message", "goodbye"]
    assert ran == []
    timeouts = [e.detail["timeout"] for e in (await the_call(services)).events if e.kind == "menu"]
    assert timeouts == ["yes", "yes", "yes"]


async def test_a_wrong_key_is_asked_again_with_the_retry_prompt(
        services: Services, tmp_path: Path) -> None:
    await force_mode(services, "closed")
    agi = FakeAgi(stream_keys=["5"], data_replies=[("1", False)])
    handler, ran = entry(services, tmp_path)

    await handler.handle(agi)  # type: ignore[arg-type]

    assert agi.prompts()[:2] == ["welcome", "main-menu-retry"]
    assert ran == ["act"]
    assert (await the_call(services)).menu_path == "5,1"


async def test_a_caller_looping_forever_is_still_ended(services: Services, tmp_path: Path) -> None:
    await force_mode(services, "closed")
    agi = FakeAgi(stream_keys=["#"] * (2 * MAX_STEPS))
    handler, _ = entry(services, tmp_path)

    await handler.handle(agi)  # type: ignore[arg-type]

    assert agi.variables[v.ROUTE_VAR] == v.ROUTE_DONE
    assert len([p for p in agi.prompts() if p == "welcome"]) == MAX_STEPS


async def test_menu_route_serves_the_menu_even_in_office_hours(
        services: Services, tmp_path: Path) -> None:
    # The seats queue was empty: the caller is sent back to the bridge's "menu" route.
    await force_mode(services, "open")
    agi = FakeAgi(stream_keys=["1"])
    handler, ran = entry(services, tmp_path)

    await handler.menu_only(agi)  # type: ignore[arg-type]

    assert ran == ["act"] and agi.prompts()[0] == "welcome"
    assert (await the_call(services)).route == v.CALL_ROUTE_MENU


# Office hours (issue 15): a seat on 0 or no key, the after-hours menu on 1.
OFFICE = 'open_start = "office"\n' + MENU + """
[node.office]
kind = "menu"
prompt = ["welcome", "office-menu"]
tries = 1
timeout = 2
on_fail = "seats"
keys = { "0" = "seats", "1" = "main" }
[node.seats]
kind = "seats"
prompt = "transfer-seat"
"""


async def test_office_hours_no_key_is_a_seat_at_once(services: Services, tmp_path: Path) -> None:
    await force_mode(services, "open")
    agi = FakeAgi()
    handler, ran = entry(services, tmp_path, OFFICE)

    await handler.handle(agi)  # type: ignore[arg-type]

    assert agi.prompts() == ["welcome", "office-menu", "transfer-seat"] and ran == []
    assert agi.variables[v.ROUTE_VAR] == v.ROUTE_QUEUE
    assert (await the_call(services)).route == v.CALL_ROUTE_QUEUE


async def test_a_caller_handed_to_the_seats_is_committed_without_the_writers_wait(
        services: Services, tmp_path: Path) -> None:
    """The agent's screen reads how the caller came through the menu as the seat rings:
    the writer, gathering writes for a minute here, commits the call at the handover."""
    await force_mode(services, "open")
    object.__setattr__(services, "writer", WriteBehind(services.sessions, batch_delay=60))
    handler, _ = entry(services, tmp_path, OFFICE)
    agi = FakeAgi(data_replies=[("0", False)])  # 0 at the office menu: a seat

    await handler.handle(agi)  # type: ignore[arg-type]

    assert agi.variables[v.ROUTE_VAR] == v.ROUTE_QUEUE
    for _ in range(100):
        async with session_scope(services.sessions) as session:
            call = await calls.get_call(session, CALL)
        if call is not None and call.route == v.CALL_ROUTE_QUEUE:
            break
        await asyncio.sleep(0.05)
    assert call is not None and call.route == v.CALL_ROUTE_QUEUE
    assert call.menu_path == "0"


async def test_star_repeats_and_zero_is_a_seat_from_a_submenu_in_office_hours(
        services: Services, tmp_path: Path) -> None:
    await force_mode(services, "open")
    # 1 into the main menu, * hears it again (no retry prompt), then 0: a seat, not "act"
    agi = FakeAgi(stream_keys=["1", "*", "0"])
    handler, ran = entry(services, tmp_path, OFFICE)

    await handler.handle(agi)  # type: ignore[arg-type]

    assert agi.prompts() == ["welcome", "welcome", "welcome", "transfer-seat"]
    assert ran == [] and agi.variables[v.ROUTE_VAR] == v.ROUTE_QUEUE
    assert (await the_call(services)).menu_path == "1,*,0"


async def test_zero_keeps_its_own_meaning_after_hours(services: Services, tmp_path: Path) -> None:
    await force_mode(services, "closed")
    agi = FakeAgi(stream_keys=["*", "0"], data_replies=[("1", False)])
    handler, ran = entry(services, tmp_path, OFFICE)

    await handler.handle(agi)  # type: ignore[arg-type]

    # * again (welcome twice), 0 is not a key of this menu after hours: the retry prompt
    assert agi.prompts()[:3] == ["welcome", "welcome", "main-menu-retry"] and ran == ["act"]
    assert agi.variables[v.ROUTE_VAR] == v.ROUTE_DONE


async def test_zero_is_a_seat_from_inside_an_actions_own_choice_in_office_hours(
        services: Services, tmp_path: Path) -> None:
    """An action that asks its own one-key question (the case query's SMS offer, the
    knowledge topics): 0 there is a seat too, in office hours — and only then."""
    asked: list[str] = []

    async def question(flow: CallFlow, node: Node) -> str | None:
        asked.append(await flow.choose(["goodbye"], 2))
        return None

    handler, _ = entry(services, tmp_path, OFFICE, question)
    await force_mode(services, "open")
    # 1: self-service, 1: the action, whose question is answered with 0
    agi = FakeAgi(stream_keys=["1", "1"], data_replies=[("0", False)])

    await handler.handle(agi)  # type: ignore[arg-type]

    assert asked == [] and agi.prompts()[-2:] == ["goodbye", "transfer-seat"]
    assert agi.variables[v.ROUTE_VAR] == v.ROUTE_QUEUE

    await force_mode(services, "closed")  # after hours the action has its 0
    agi = FakeAgi(stream_keys=["1"], data_replies=[("0", False)])
    await handler.handle(agi)  # type: ignore[arg-type]
    assert asked == ["0"] and agi.variables[v.ROUTE_VAR] == v.ROUTE_DONE


async def test_a_court_number_with_its_own_route_skips_the_welcome(
        services: Services, tmp_path: Path) -> None:
    """The switchboard's number routed to the message ([[trunks]] dids, issue 16): in
    office hours too, no welcome, the call record says closed."""
    await force_mode(services, "open")
    agi = FakeAgi()
    agi.headers["arg_2"] = "closed"
    handler, ran = entry(services, tmp_path)

    await handler.handle(agi)  # type: ignore[arg-type]

    assert agi.variables == {v.ROUTE_VAR: v.ROUTE_CLOSED, v.CALL_ROUTE: v.CALL_ROUTE_CLOSED}
    assert agi.prompts() == [] and ran == []
    assert (await the_call(services)).route == v.CALL_ROUTE_CLOSED
