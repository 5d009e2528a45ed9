"""ivr.modules.directory against a scripted AGI session (a unit test of one piece): which
entry a key or an extension reaches, ringing in office hours and a message otherwise, and
the menu's shared keys (* again, # back, 0 a seat in office hours)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotline.directory import DEPARTMENT, STAFF, DirectoryItem
from ivr.callflow import CallFlow
from ivr.menu import HANDED_OVER, SEATS, Node
from ivr.modules import directory
from ivr.services import Services
from pbx import names as v
from tests.unit.ivr.test_entry import FakeAgi, force_mode

NODE = Node(id="directory", kind="action", action="directory", next="goodbye",
            params={"back": "office"})
FILING = DirectoryItem(DEPARTMENT, "立案庭", "8201", "立案庭", menu_key="1", id=1,
                       hours="00:00-24:00")
CLERK = DirectoryItem(STAFF, "李书记员", "8402", "民一庭", title="书记员", id=2)


@pytest.fixture(autouse=True)
def no_synthesis(monkeypatch: pytest.MonkeyPatch) -> None:
    """The list is spoken through cached synthesis (espeak-ng); here it is only named."""
    async def named(flow: CallFlow, text: str) -> str:
        return "tts/directory-list"
    monkeypatch.setattr(CallFlow, "_tts", named)


@pytest.fixture
def messages(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Whom a message was taken for (the voice message itself is voice_ticket's)."""
    taken: list[str] = []

    async def leave(flow: CallFlow, item: DirectoryItem | None) -> None:
        taken.append(item.department if item else "")
    monkeypatch.setattr(directory, "leave_message", leave)
    return taken


async def run(services: Services, agi: FakeAgi) -> str | None:
    services.directory.load([FILING, CLERK])
    flow = CallFlow(agi, services, "1795747054.0", "13812345678")  # type: ignore[arg-type]
    return await directory.run(flow, NODE)


def keyed(*keys: str) -> list[tuple[str, bool]]:
    return [(k, False) for k in keys]


async def test_a_department_key_rings_it_in_office_hours(services: Services) -> None:
    await force_mode(services, "open")
    agi = FakeAgi(data_replies=keyed("*", "1"))
    assert await run(services, agi) == HANDED_OVER
    assert agi.variables[v.DIRECTORY_DIAL] == "8201"
    assert agi.variables[v.DIRECTORY_ENTRY] == "1"
    assert agi.variables[v.ROUTE_VAR] == v.ROUTE_DIRECTORY
    assert agi.prompts()[-1] == "directory-connecting"


async def test_nine_and_an_extension_reach_a_staff_member(services: Services) -> None:
    await force_mode(services, "open")
    agi = FakeAgi(data_replies=keyed("9", "8402"))
    assert await run(services, agi) == HANDED_OVER
    assert agi.variables[v.DIRECTORY_DIAL] == "8402"


async def test_after_hours_the_department_is_not_rung_a_message_is_taken(
        services: Services, messages: list[str]) -> None:
    await force_mode(services, "closed")
    agi = FakeAgi(data_replies=keyed("1"))
    assert await run(services, agi) is None  # then the node's next: goodbye
    assert v.DIRECTORY_DIAL not in agi.variables
    assert "directory-closed" in agi.prompts() and messages == ["立案庭"]


@pytest.mark.parametrize(("mode", "keys", "expected"), [
    ("open", ("0",), SEATS), ("open", ("#",), "office"), ("closed", ("0", "5", "7"), None),
    ("open", ("9", "1234", "5", "6"), SEATS),  # an unknown extension, two wrong keys: a seat
])
async def test_shared_keys_and_wrong_ones(services: Services, messages: list[str], mode: str,
                                          keys: tuple[str, ...], expected: str | None) -> None:
    await force_mode(services, mode)
    agi = FakeAgi(data_replies=keyed(*keys))
    assert await run(services, agi) == expected
    assert v.DIRECTORY_DIAL not in agi.variables and messages == []


def test_the_list_says_the_keys() -> None:
    in_hours = directory.menu_sentence({"1": FILING}, True)
    after_hours = directory.menu_sentence({"1": FILING}, False)
    assert in_hours.startswith("立案庭请按一，知道分机号码的请按九")
    assert "重听请按星号键" in in_hours and "返回上级菜单请按井号键" in in_hours
    assert "人工服务请按零" in in_hours and "人工服务请按零" not in after_hours


async def test_not_loaded_yet_reads_the_database(services: Services, tmp_path: Path) -> None:
    await force_mode(services, "open")
    agi = FakeAgi(data_replies=keyed("#"))
    flow = CallFlow(agi, services, "1795747054.0", "13812345678")  # type: ignore[arg-type]
    assert await directory.run(flow, NODE) == "office"
    assert services.directory.loaded
