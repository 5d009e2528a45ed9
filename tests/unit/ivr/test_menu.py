"""ivr.menu: the voice menu file — each kind of mistake gets its own clear error, the shipped
menu is valid, and a changed file is picked up (or refused) without a restart."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from hotline.prompts import manifest
from ivr.actions import build_actions
from ivr.menu import MENU_FILE, MenuError, MenuStore, load

PROMPTS = {"hello", "menu", "retry", "bye"}


def no_params(params: Mapping[str, Any]) -> list[str]:
    return [f"unknown field(s) {sorted(params)}"] if params else []


ACTIONS = {"noop": no_params}

GOOD = """
start = "main"
[node.main]
kind = "menu"
prompt = ["hello", "menu"]
retry_prompt = "retry"
on_fail = "bye"
keys = { "1" = "act", "#" = "main" }
[node.act]
kind = "action"
action = "noop"
next = "bye"
[node.bye]
kind = "end"
prompt = "bye"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "menu.toml"
    path.write_text(text, encoding="utf-8")
    return path


def error_of(tmp_path: Path, text: str) -> str:
    with pytest.raises(MenuError) as caught:
        load(write(tmp_path, text), PROMPTS, ACTIONS)
    return str(caught.value)


def test_a_good_menu_loads(tmp_path: Path) -> None:
    menu = load(write(tmp_path, GOOD), PROMPTS, ACTIONS)
    assert menu.start == "main"
    assert menu.node("main").prompts == ("hello", "menu")
    assert dict(menu.node("main").keys) == {"1": "act", "#": "main"}
    assert menu.node("main").tries == 3 and menu.node("main").timeout == 6


def test_the_shipped_menu_is_valid() -> None:
    menu = load(MENU_FILE, set(manifest()), build_actions().checks())
    assert menu.start == "welcome"
    assert set(menu.node("welcome").keys) == set("123456780")
    assert menu.node("main").keys["8"] == "departments"  # the directory (issue 15)
    assert menu.node("main").keys["7"] == "progress"  # a matter's progress (issue 15)
    # office hours: a seat on 0 and on no key, self-service, the directory (issue 15)
    office = menu.node(menu.open_start)
    assert dict(office.keys) == {"0": "seats-now", "1": "main", "2": "directory"}
    assert office.on_fail == "seats-now" and menu.node("seats-now").kind == "seats"


@pytest.mark.parametrize(("change", "message"), [
    (('start = "main"', 'start = "nowhere"'), "start: no node 'nowhere'"),
    (('kind = "menu"', 'kind = "menue"'), "node 'main' field 'kind': 'menue' is not one of"),
    (('"1" = "act"', '"12" = "act"'), "node 'main' field 'keys': ['12'] are not single"),
    (('"1" = "act"', '"1" = "missing"'), "node 'main' field 'keys.1': no node 'missing'"),
    (('retry_prompt = "retry"', 'retry_prompt = "nope"'), "node 'main' field 'prompt': no prompt 'nope'"),
    (('on_fail = "bye"', 'on_fail = "gone"'), "node 'main' field 'on_fail': no node 'gone'"),
    (('on_fail = "bye"\n', ''), "node 'main' field 'on_fail': where a caller goes"),
    (('retry_prompt = "retry"', 'tries = 0'), "node 'main' field 'tries': 0 must be a number"),
    (('retry_prompt = "retry"', 'timeout = "long"'), "node 'main' field 'timeout'"),
    (('action = "noop"', 'action = "fly"'), "node 'act' field 'action': no action 'fly'"),
    (('action = "noop"', 'action = "noop"\ncolour = "red"'), "node 'act' unknown field(s) ['colour']"),
    (('next = "bye"\n', ''), "node 'act' field 'next': required for kind 'action'"),
    (('kind = "end"', 'kind = "end"\nkeys = {}'), "node 'bye': unknown field(s) ['keys'] for kind 'end'"),
])
def test_each_mistake_names_node_and_field(tmp_path: Path, change: tuple[str, str],
                                           message: str) -> None:
    old, new = change
    assert old in GOOD
    text = error_of(tmp_path, GOOD.replace(old, new, 1))
    assert message in text
    assert text.startswith(str(tmp_path / "menu.toml"))


def test_broken_toml_names_the_line(tmp_path: Path) -> None:
    assert "line 4" in error_of(tmp_path, GOOD.replace('kind = "menu"', 'kind = menu', 1))


def test_no_nodes(tmp_path: Path) -> None:
    assert "no [node.<id>] tables" in error_of(tmp_path, 'start = "main"\n')


def test_every_problem_is_listed_at_once(tmp_path: Path) -> None:
    text = error_of(tmp_path, GOOD.replace('"1" = "act"', '"1" = "x"').replace(
        'action = "noop"', 'action = "fly"'))
    assert "no node 'x'" in text and "no action 'fly'" in text


def test_store_reloads_a_changed_file_and_keeps_the_last_good_one(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = write(tmp_path, GOOD)
    store = MenuStore(path, PROMPTS, ACTIONS)
    in_progress = store.current()
    path.write_text(GOOD.replace('"#" = "main"', '"0" = "bye"'), encoding="utf-8")
    os.utime(path, ns=(1, 1))  # a different stamp even within the same clock tick
    changed = store.current()
    assert set(changed.node("main").keys) == {"1", "0"}
    assert set(in_progress.node("main").keys) == {"1", "#"}  # a call keeps its tree

    path.write_text(GOOD.replace('start = "main"', 'start = "gone"'), encoding="utf-8")
    os.utime(path, ns=(2, 2))
    with caplog.at_level(logging.ERROR):
        kept = store.current()
    assert kept is changed
    assert "voice menu change refused" in caplog.text and "no node 'gone'" in caplog.text


def test_store_refuses_a_broken_file_at_start(tmp_path: Path) -> None:
    with pytest.raises(MenuError):
        MenuStore(write(tmp_path, GOOD.replace('start = "main"', 'start = "x"')), PROMPTS,
                  ACTIONS)


def test_open_start_must_name_a_node(tmp_path: Path) -> None:
    with pytest.raises(MenuError, match="open_start: no node 'office'"):
        load(write(tmp_path, 'open_start = "office"\n' + GOOD), PROMPTS, ACTIONS)
    menu = load(write(tmp_path, 'open_start = "main"\n' + GOOD), PROMPTS, ACTIONS)
    assert menu.open_start == "main"
