"""The voice menu after hours (docs/metrics.md, "The voice menu"): the calls the menu served,
each path's use and where callers hung up — read from what the bridge already writes per
call (route "menu"; `prompt` events as prompts start, `menu` events for keys and silences,
`ticket` events for a matter filed, `fallback` when the dialplan took over), replayed on the
menu tree of ivr/menu.toml. Paths are named by the menus' own words: what a caller hears
before 请按 (案件查询请按一 → 案件查询).

Like the other figures, every count is a set of calls (menu_calls_of), so each number's
drill-down lists exactly the calls it counts.
"""

from __future__ import annotations

import re
import tomllib
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from importlib import resources
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.catalog import TICKET_TYPES
from hotline.db.models import Call, CallEvent
from hotline.prompts import manifest
from reports.period import Period

MENU_ROUTE = "menu"  # Call.route of a call the bridge's voice menu took
EVENT_KINDS = ("prompt", "menu", "ticket", "fallback")
# Where a menu call ended, in the order a caller goes through the menu.
ENDS = ("welcome", "main", "before", "after", "completed", "fallback", "unknown", "ongoing")
END_LABELS = {
    "welcome": "欢迎语时挂机", "main": "主菜单挂机（未选择）", "before": "路径内答复前挂机",
    "after": "路径内答复后挂机", "completed": "菜单正常结束", "fallback": "转应急流程",
    "unknown": "无菜单记录", "ongoing": "通话中"}
FUNNEL_LABELS = {"served": "语音菜单来电", "chose": "进入路径", "got": "获得答复",
                 "no_key": "主菜单未按键转留言"}
# What a caller came for, per action (the bridge's prompts and events): a case read out or
# sent to the party's phone, a procedural answer spoken (or the substantive-question
# notice), a matter filed with the caller's voice message.
_CASE_ANSWERS = frozenset({"case-found", "case-count", "case-sms-to-party"})
_KEY_WORDS = {"零": "0", "一": "1", "幺": "1", "二": "2", "三": "3", "四": "4", "五": "5",
              "六": "6", "七": "7", "八": "8", "九": "9", "星号": "*", "井号": "#"}
_CHOICE = re.compile(r"([^，。；！？]+?)，?请按(" + "|".join(_KEY_WORDS) + ")")
_LEAD_WORDS = ("如需", "如要", "需要")


# --- the menu tree ------------------------------------------------------------------------

@dataclass(frozen=True)
class TreeNode:
    id: str
    kind: str  # menu | play | action | end (ivr/menu.py)
    prompts: tuple[str, ...] = ()
    retry: str = ""
    keys: Mapping[str, str] = field(default_factory=dict)
    tries: int = 3
    on_fail: str = ""
    next: str = ""
    action: str = ""
    back: str = ""
    ticket_type: str = ""

    @property
    def heard(self) -> tuple[str, ...]:
        return (*self.prompts, self.retry) if self.retry else self.prompts

    def successors(self) -> list[str]:
        return [t for t in (*self.keys.values(), self.on_fail, self.next, self.back) if t]


@dataclass(frozen=True)
class MenuTree:
    start: str
    nodes: Mapping[str, TreeNode]
    labels: Mapping[str, str]  # node id → what the menus call it
    main: frozenset[str]  # the main menu: the start node and its repeats (* = main)
    paths: tuple[str, ...]  # the main menu's choices, in its keys' order
    options: Mapping[str, tuple[str, ...]]  # a path that is a menu → its own choices
    # every prompt the tree's own nodes play (an action's prompts are its own)
    heard: frozenset[str] = frozenset()

    def resolve(self, node_id: str) -> str:
        """A play node stands for where it leads (转入留言 → 留言)."""
        seen = set()
        while node_id in self.nodes and self.nodes[node_id].kind == "play" \
                and node_id not in seen:
            seen.add(node_id)
            node_id = self.nodes[node_id].next
        return node_id

    def label(self, node_id: str) -> str:
        return self.labels.get(node_id, "未命名路径")


def tree_from(raw: Mapping[str, Any], prompts: Mapping[str, str]) -> MenuTree:
    """The tree of a menu file's contents (ivr/menu.toml's shape), named by the words of
    its prompts (hotline/resources/prompts_zh.toml)."""
    nodes = {node_id: _node(node_id, spec) for node_id, spec in raw.get("node", {}).items()}
    start = str(raw.get("start", ""))
    first = nodes.get(start)
    main = frozenset({start} | {n.id for n in nodes.values()
                                if first and n.kind == "menu" and n.keys == first.keys})
    partial = MenuTree(start, nodes, {}, main, (), {})
    labels = _labels(partial, prompts)
    paths: list[str] = []
    for target in [*(first.keys.values() if first else ()), first.on_fail if first else ""]:
        resolved = partial.resolve(target)
        if resolved and resolved not in main and resolved not in paths \
                and nodes.get(resolved, TreeNode("", "end")).kind != "end":
            paths.append(resolved)
    options = {p: tuple(dict.fromkeys(
        partial.resolve(t) for t in nodes[p].keys.values()
        if partial.resolve(t) not in main and partial.resolve(t) != p))
        for p in paths if nodes[p].kind == "menu"}
    heard = frozenset(p for n in nodes.values() if n.kind != "action" for p in n.heard)
    return MenuTree(start, nodes, labels, main, tuple(paths), options, heard)


def _node(node_id: str, spec: Mapping[str, Any]) -> TreeNode:
    prompt = spec.get("prompt", ())
    return TreeNode(
        node_id, str(spec.get("kind", "")),
        (prompt,) if isinstance(prompt, str) else tuple(prompt),
        str(spec.get("retry_prompt", "")), dict(spec.get("keys", {})),
        int(spec.get("tries", 3)), str(spec.get("on_fail", "")), str(spec.get("next", "")),
        str(spec.get("action", "")), str(spec.get("back", "")),
        str(spec.get("ticket_type", "")))


def _labels(tree: MenuTree, prompts: Mapping[str, str]) -> dict[str, str]:
    """Each choice by the shortest words any of its menu's sentences gives it."""
    labels: dict[str, str] = {}
    for node in tree.nodes.values():
        for prompt in node.heard:
            for words, key in _CHOICE.findall(prompts.get(prompt, "")):
                target = tree.resolve(node.keys.get(_KEY_WORDS[key], ""))
                words = words.strip("，、 ")
                for lead in _LEAD_WORDS:
                    words = words.removeprefix(lead)
                if target and words and (target not in labels
                                         or len(words) < len(labels[target])):
                    labels[target] = words
    for node in tree.nodes.values():  # a choice no sentence names: its matter's type
        if node.id not in labels and node.ticket_type in TICKET_TYPES:
            labels[node.id] = TICKET_TYPES[node.ticket_type]
    return labels


@lru_cache(maxsize=1)
def _in_service(text: str) -> MenuTree:
    return tree_from(tomllib.loads(text), manifest())


def menu_tree() -> MenuTree:
    """The menu in service (the bridge's ivr/menu.toml, read as data) as the report reads
    it. A call is replayed on the menu as it is now: after a change of the menu, older
    calls are read with the new one."""
    return _in_service(resources.files("ivr").joinpath("menu.toml").read_text("utf-8"))


# --- one call, replayed -----------------------------------------------------------------------

Event = tuple[str, Mapping[str, str]]  # (kind, detail)


@dataclass(frozen=True)
class MenuCall:
    """What the report knows about one call the voice menu took."""

    id: str
    started_at: datetime
    ended_at: datetime | None
    caller_number: str
    source: str
    entered: tuple[str, ...]  # the main menu's paths the caller went into, in order
    visited: frozenset[str]  # every node reached
    answered: frozenset[str]  # paths (and their options) where the answer was reached
    no_key: bool  # sent on by the main menu after its tries ran out (未按键转留言)
    end: str  # ENDS
    end_path: str  # the path of a before/after end


def _answers(node: TreeNode, kind: str, detail: Mapping[str, str]) -> bool:
    prompt = detail.get("prompt", "")
    if node.action == "case_query":
        return kind == "prompt" and prompt in _CASE_ANSWERS
    if node.action == "knowledge":
        return kind == "prompt" and (prompt.startswith("kb-answer:")
                                     or prompt == "kb-substantive")
    return kind == "ticket"  # voice_ticket, and any other action that files a matter


class _Replay:
    def __init__(self, tree: MenuTree) -> None:
        self.tree = tree
        self.node = tree.start
        self.path = ""
        self.misses = 0
        self.past_welcome = False
        self.answered_now = False
        self.entered: list[str] = []
        self.visited = {tree.start}
        self.answered: set[str] = set()
        self.no_key = self.completed = self.fallback = False
        self.heard = tree.heard

    def enter(self, target: str) -> None:
        tree, here = self.tree, self.node
        if target not in tree.nodes:
            return
        self.node, self.misses = target, 0
        resolved = tree.resolve(target)
        self.visited.update({target, resolved})
        if target in tree.main or resolved in tree.main:
            self.path = ""
        elif here in tree.main:
            self.path, self.answered_now = resolved, False
            self.entered.append(resolved)
        if tree.nodes[target].kind == "end":
            self.completed = True

    def move_by_prompt(self, prompt: str) -> bool:
        """To the nearest node after this one that plays the prompt (else any that does)."""
        nodes = self.tree.nodes
        seen, queue = {self.node}, deque(nodes[self.node].successors())
        while queue:
            candidate = queue.popleft()
            if candidate in seen or candidate not in nodes:
                continue
            seen.add(candidate)
            if prompt in nodes[candidate].heard:
                self.enter(candidate)
                return True
            queue.extend(nodes[candidate].successors())
        return False

    def step(self, kind: str, detail: Mapping[str, str]) -> None:
        if kind == "fallback":
            self.fallback = True
            return
        if self.completed:
            return
        tree = self.tree
        node = tree.nodes[self.node]
        prompt = detail.get("prompt", "")
        if not (kind == "prompt" and self.node == tree.start and node.prompts
                and prompt == node.prompts[0]):
            self.past_welcome = True
        if node.kind == "play" and not (kind == "prompt" and prompt in node.heard):
            self.enter(node.next)
            self.step(kind, detail)
        elif node.kind == "action":
            if _answers(node, kind, detail):
                self.answered.update({self.path, self.node} - {""})
                self.answered_now = True
            elif kind == "prompt" and prompt in self.heard and self.move_by_prompt(prompt):
                self.step(kind, detail)
        elif node.kind == "menu":
            self._menu(node, kind, detail, prompt)

    def _menu(self, node: TreeNode, kind: str, detail: Mapping[str, str], prompt: str) -> None:
        if prompt and prompt not in node.heard:
            if prompt in self.heard and self.move_by_prompt(prompt):
                self.step(kind, detail)
            return
        if kind != "menu":
            return
        key = detail.get("key", "")
        if key in node.keys:
            self.enter(node.keys[key])
            return
        self.misses += 1
        if self.misses >= node.tries:
            self.no_key = self.no_key or self.node in self.tree.main
            self.enter(node.on_fail)

    def end(self, ended: bool, source: str, any_events: bool) -> tuple[str, str]:
        if self.fallback:
            return "fallback", ""
        if self.completed:
            return "completed", ""
        if not any_events:
            return "unknown", ""
        if not ended and source != "reconciled":
            return "ongoing", ""
        if not self.path:
            return ("main" if self.past_welcome else "welcome"), ""
        return ("after" if self.answered_now else "before"), self.path


def replay(tree: MenuTree, row: Any, events: Sequence[Event]) -> MenuCall:
    """One call's way through the menu, from its events in the order they happened."""
    run = _Replay(tree)
    for kind, detail in events:
        run.step(kind, detail)
    end, end_path = run.end(row.ended_at is not None, row.source, bool(events))
    return MenuCall(row.id, row.started_at, row.ended_at, row.caller_number, row.source,
                    tuple(run.entered), frozenset(run.visited), frozenset(run.answered),
                    run.no_key, end, end_path)


async def load_menu_calls(session: AsyncSession, timezone: str, period: Period,
                          tree: MenuTree | None = None) -> list[MenuCall]:
    """The calls the voice menu took that started in the period, each replayed."""
    tree = tree or menu_tree()
    start, end = period.bounds(timezone)
    in_period = (Call.started_at >= start, Call.started_at < end, Call.route == MENU_ROUTE)
    rows = (await session.execute(
        select(Call.id, Call.started_at, Call.ended_at, Call.caller_number, Call.source)
        .where(*in_period).order_by(Call.started_at, Call.id))).all()
    events: dict[str, list[Event]] = {}
    found = await session.execute(
        select(CallEvent.call_id, CallEvent.kind, CallEvent.detail)
        .join(Call, Call.id == CallEvent.call_id)
        .where(*in_period, CallEvent.kind.in_(EVENT_KINDS))
        .order_by(CallEvent.at, CallEvent.id))
    for call_id, kind, detail in found:
        events.setdefault(call_id, []).append((kind, detail or {}))
    return [replay(tree, row, events.get(row.id, [])) for row in rows]


# --- the figures and the calls behind each ------------------------------------------------------

def menu_set(name: str) -> Callable[[MenuCall], bool] | None:
    """The calls a figure counts, by the name its drill-down link carries: served, no_key,
    chose (went into a path), got (reached an answer), entered:<node>, answered:<node>,
    before:<node>, after:<node>, end:<where>; None for a name that is none of these."""
    if name == "served":
        return lambda c: True
    if name == "no_key":
        return lambda c: c.no_key
    if name == "chose":
        return lambda c: bool(c.entered)
    if name == "got":
        return lambda c: bool(c.answered)
    kind, _, node = name.partition(":")
    if kind == "entered" and node:
        return lambda c: node in c.visited
    if kind == "answered" and node:
        return lambda c: node in c.answered
    if kind in ("before", "after") and node:
        return lambda c: c.end == kind and c.end_path == node
    if kind == "end" and node in ENDS:
        return lambda c: c.end == node
    return None


def menu_calls_of(calls: Iterable[MenuCall], name: str) -> list[MenuCall]:
    """The drill-down of a figure; KeyError for a name no figure has."""
    which = menu_set(name)
    if which is None:
        raise KeyError(name)
    return [c for c in calls if which(c)]


@dataclass(frozen=True)
class PathUse:
    node: str
    label: str
    parent: str  # "" for a choice of the main menu, else the path it is an option of
    entered: int
    answered: int
    before: int  # hung up in the path before its answer (main-menu paths only)
    after: int  # hung up in the path after its answer


@dataclass(frozen=True)
class MenuFigures:
    served: int
    no_key: int
    chose: int  # went into at least one path
    got: int  # reached at least one path's answer
    paths: list[PathUse]  # each main-menu path, followed by its options
    ends: dict[str, int]  # ENDS → calls

    def label(self, name: str) -> str:
        """A drill-down's title."""
        kind, _, node = name.partition(":")
        names = {p.node: p.label for p in self.paths}
        if name == "served":
            return "语音菜单来电"
        if name in FUNNEL_LABELS:
            return FUNNEL_LABELS[name]
        if kind == "end":
            return END_LABELS.get(node, "")
        verb = {"entered": "进入", "answered": "获得答复", "before": "答复前挂机",
                "after": "答复后挂机"}.get(kind, "")
        return f"{names.get(node, '')} · {verb}"


def menu_figures(calls: Sequence[MenuCall], tree: MenuTree | None = None) -> MenuFigures:
    """Every figure of the voice menu for the calls of a period (docs/metrics.md)."""
    tree = tree or menu_tree()

    def use(node: str, parent: str) -> PathUse:
        return PathUse(node, tree.label(node), parent,
                       sum(node in c.visited for c in calls),
                       sum(node in c.answered for c in calls),
                       0 if parent else sum(c.end == "before" and c.end_path == node
                                            for c in calls),
                       0 if parent else sum(c.end == "after" and c.end_path == node
                                            for c in calls))

    paths: list[PathUse] = []
    for path in tree.paths:
        paths.append(use(path, ""))
        paths += [use(option, path) for option in tree.options.get(path, ())]
    ends = {end: sum(c.end == end for c in calls) for end in ENDS}
    return MenuFigures(len(calls), sum(c.no_key for c in calls),
                       sum(bool(c.entered) for c in calls), sum(bool(c.answered) for c in calls),
                       paths, ends)
