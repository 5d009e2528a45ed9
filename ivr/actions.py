"""The one table of voice-menu actions that menu nodes of kind "action" name.

Each action is one module under ivr/modules/ with ``run(flow, node)`` — returning the next
node, or None for the node's ``next`` — and ``check(params)``, which lists what is wrong
with a node's parameters so a bad menu file is refused at start.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ivr.callflow import CallFlow
from ivr.menu import Node

ActionRun = Callable[[CallFlow, Node], Awaitable[str | None]]
ParamCheck = Callable[[Mapping[str, Any]], list[str]]


@dataclass(frozen=True)
class Action:
    run: ActionRun
    check: ParamCheck


class ActionTable:
    def __init__(self) -> None:
        self._actions: dict[str, Action] = {}

    def add(self, name: str, run: ActionRun, check: ParamCheck) -> None:
        if name in self._actions:
            raise ValueError(f"voice-menu action {name!r} is registered twice")
        if not inspect.iscoroutinefunction(run):
            raise TypeError(f"voice-menu action {name!r} must be an async function")
        self._actions[name] = Action(run, check)

    def get(self, name: str) -> Action:
        return self._actions[name]

    def checks(self) -> Mapping[str, ParamCheck]:
        return {name: action.check for name, action in self._actions.items()}


def build_actions() -> ActionTable:
    from ivr.modules import (
        appointment,
        case_query,
        directory,
        knowledge,
        ticket_progress,
        voice_ticket,
    )

    table = ActionTable()
    table.add("appointment", appointment.run, appointment.check)
    table.add("case_query", case_query.run, case_query.check)
    table.add("knowledge", knowledge.run, knowledge.check)
    table.add("ticket_progress", ticket_progress.run, ticket_progress.check)
    table.add("voice_ticket", voice_ticket.run, voice_ticket.check)
    table.add("directory", directory.run, directory.check)
    return table
