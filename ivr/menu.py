"""The voice menu as data: ivr/menu.toml, loaded, validated and reloaded when it changes.

A menu file names a start node (after hours), an optional ``open_start`` (office hours;
without it office-hours callers go straight to the seats) and a table of nodes. Each node
is one of:

* ``menu``   — play ``prompt``, read one key; ``keys`` maps a key to the next node. No key
  or a wrong key: ``retry_prompt`` (a different sentence), up to ``tries`` times, then
  ``on_fail``. A key pressed during the prompt interrupts it. Two keys mean the same in
  every menu: ``*`` plays the menu's prompt again (not counted as a wrong key; a node that
  maps ``*`` itself keeps its own meaning, which the shipped menu avoids), and in office
  hours ``0`` puts the caller through to a seat. ``#`` is the way back to the main menu
  where a node maps it; the prompts say so.
* ``play``   — play ``prompt`` (a list is played in order), then go to ``next``.
* ``action`` — run a registered action (ivr/actions.py) with the node's other fields as its
  parameters, then go to ``next`` (or where the action says).
* ``end``    — play ``prompt`` if any and hang up.
* ``seats``  — play ``prompt`` if any and put the caller through to the seats queue.

Errors name the file, the node and the field. A call keeps the tree it started with; a new
call gets the file as it is now, so changes need no restart, and a broken change is refused
(logged) while the last good tree stays in service.
"""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

MENU_FILE = Path(__file__).parent / "menu.toml"
KINDS = ("menu", "play", "action", "end", "seats")
DTMF_KEYS = set("0123456789*#")
REPEAT_KEY = "*"
SEATS_KEY = "0"
# What an action may return instead of a node id: the caller goes to the seats (SEATS),
# or the action has handed the call to the dialplan itself (HANDED_OVER).
SEATS = "@seats"
HANDED_OVER = "@handed-over"
_COMMON = {"kind", "prompt", "next"}
_FIELDS = {
    "menu": _COMMON | {"retry_prompt", "keys", "tries", "timeout", "on_fail"},
    "play": _COMMON,
    "action": _COMMON | {"action"},
    "end": {"kind", "prompt"},
    "seats": {"kind", "prompt"},
}


class MenuError(ValueError):
    """The menu file is wrong; the message names the file, node and field."""


@dataclass(frozen=True)
class Node:
    id: str
    kind: str
    prompts: tuple[str, ...] = ()
    next: str = ""
    retry_prompt: str = ""
    keys: Mapping[str, str] = field(default_factory=dict)
    tries: int = 3
    timeout: float = 6.0
    on_fail: str = ""
    action: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Menu:
    start: str
    nodes: Mapping[str, Node]
    open_start: str = ""

    def node(self, node_id: str) -> Node:
        return self.nodes[node_id]


# An action's parameter check: returns the problems with a node's parameters.
ParamCheck = Callable[[Mapping[str, Any]], list[str]]


def load(path: Path, prompts: set[str], actions: Mapping[str, ParamCheck]) -> Menu:
    """Read and validate a menu file; MenuError names everything that is wrong."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise MenuError(f"{path}: {exc}") from exc
    problems: list[str] = []
    menu = _parse(raw, problems)
    if menu is not None:
        problems += _check_links(menu) + _check_names(menu, prompts, actions)
    if problems or menu is None:
        raise MenuError(f"{path}: " + "; ".join(problems))
    return menu


def _parse(raw: dict[str, Any], problems: list[str]) -> Menu | None:
    unknown = set(raw) - {"start", "open_start", "node"}
    if unknown:
        problems.append(f"unknown top-level field(s) {sorted(unknown)}")
    nodes_raw = raw.get("node")
    if not isinstance(nodes_raw, dict) or not nodes_raw:
        problems.append("no [node.<id>] tables")
        return None
    nodes = {}
    for node_id, spec in nodes_raw.items():
        node = _parse_node(node_id, spec, problems)
        if node is not None:
            nodes[node_id] = node
    return Menu(start=str(raw.get("start", "")), nodes=nodes,
                open_start=str(raw.get("open_start", "")))


def _parse_node(node_id: str, spec: Any, problems: list[str]) -> Node | None:
    where = f"node {node_id!r}"
    if not isinstance(spec, dict):
        problems.append(f"{where}: must be a table")
        return None
    kind = spec.get("kind")
    if kind not in KINDS:
        problems.append(f"{where} field 'kind': {kind!r} is not one of {', '.join(KINDS)}")
        return None
    allowed = _FIELDS[kind]
    params = {k: v for k, v in spec.items() if k not in allowed}
    if kind != "action" and params:
        problems.append(f"{where}: unknown field(s) {sorted(params)} for kind {kind!r}")
    try:
        return _build_node(node_id, kind, spec, params)
    except (TypeError, ValueError) as exc:
        problems.append(f"{where} {exc}")
        return None


def _build_node(node_id: str, kind: str, spec: dict[str, Any], params: dict[str, Any]) -> Node:
    prompt = spec.get("prompt", ())
    prompts = (prompt,) if isinstance(prompt, str) else tuple(prompt)
    keys = spec.get("keys", {})
    if not isinstance(keys, dict) or not all(isinstance(v, str) for v in keys.values()):
        raise ValueError("field 'keys': must map keys to node ids")
    bad_keys = [k for k in keys if k not in DTMF_KEYS]
    if bad_keys:
        raise ValueError(f"field 'keys': {bad_keys} are not single phone keys (0-9, *, #)")
    tries, timeout = _bounded(spec, "tries", 3, 1, 9), _bounded(spec, "timeout", 6, 1, 60)
    return Node(id=node_id, kind=kind, prompts=prompts, next=str(spec.get("next", "")),
                retry_prompt=str(spec.get("retry_prompt", "")), keys=keys, tries=int(tries),
                timeout=float(timeout), on_fail=str(spec.get("on_fail", "")),
                action=str(spec.get("action", "")), params=params)


def _bounded(spec: dict[str, Any], name: str, default: float, low: float, high: float) -> float:
    value = spec.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ValueError(f"field {name!r}: {value!r} must be a number from {low} to {high}")
    return float(value)


def _check_links(menu: Menu) -> list[str]:
    problems = [] if menu.start in menu.nodes else [f"start: no node {menu.start!r}"]
    if menu.open_start and menu.open_start not in menu.nodes:
        problems.append(f"open_start: no node {menu.open_start!r}")
    for node in menu.nodes.values():
        links = [("next", node.next), ("on_fail", node.on_fail)]
        links += [(f"keys.{key}", target) for key, target in node.keys.items()]
        problems += [f"node {node.id!r} field {name!r}: no node {target!r}"
                     for name, target in links if target and target not in menu.nodes]
        problems += _required(node)
    return problems


def _required(node: Node) -> list[str]:
    where = f"node {node.id!r}"
    missing = []
    if node.kind in ("menu", "play") and not node.prompts:
        missing.append(f"{where} field 'prompt': required for kind {node.kind!r}")
    if node.kind == "menu" and not node.keys:
        missing.append(f"{where} field 'keys': a menu needs at least one key")
    if node.kind == "menu" and not node.on_fail:
        missing.append(f"{where} field 'on_fail': where a caller goes after the last try")
    if node.kind in ("play", "action") and not node.next:
        missing.append(f"{where} field 'next': required for kind {node.kind!r}")
    return missing


def _check_names(menu: Menu, prompts: set[str], actions: Mapping[str, ParamCheck]) -> list[str]:
    problems = []
    for node in menu.nodes.values():
        for prompt in (*node.prompts, node.retry_prompt):
            if prompt and prompt not in prompts:
                problems.append(f"node {node.id!r} field 'prompt': no prompt {prompt!r} "
                                "in the prompt manifest")
        if node.kind == "action":
            check = actions.get(node.action)
            if check is None:
                problems.append(f"node {node.id!r} field 'action': no action {node.action!r}")
            else:
                problems += [f"node {node.id!r} {p}" for p in check(node.params)]
    return problems


class MenuStore:
    """The menu in service: reloaded when the file changes, the last good one kept."""

    def __init__(self, path: Path, prompts: set[str], actions: Mapping[str, ParamCheck]) -> None:
        self.path, self.prompts, self.actions = path, prompts, actions
        self._stamp = self._file_stamp()
        self._menu = load(path, prompts, actions)  # a broken file stops the start

    def current(self) -> Menu:
        stamp = self._file_stamp()
        if stamp != self._stamp:
            self._stamp = stamp
            try:
                self._menu = load(self.path, self.prompts, self.actions)
                log.info("voice menu reloaded from %s", self.path)
            except MenuError as exc:
                log.error("voice menu change refused, the previous menu stays: %s", exc)
        return self._menu

    def _file_stamp(self) -> tuple[int, int]:
        stat = self.path.stat()
        return stat.st_mtime_ns, stat.st_size
