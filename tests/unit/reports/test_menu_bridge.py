"""The menu report reads what the bridge really writes: calls run through the bridge's own
menu engine (ivr.modules.entry on ivr/menu.toml, the real actions) against a scripted AGI
session, then counted by reports.menu — on SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.db import callwrites as w
from hotline.db.base import session_scope, utcnow
from hotline.prompts import manifest
from hotline.settings import Settings
from ivr.actions import build_actions
from ivr.fastagi import AgiHangup
from ivr.menu import MENU_FILE, MenuStore
from ivr.modules.entry import Entry
from ivr.services import Services
from pbx import PbxInstance
from pbx import names as v
from reports import Period, load_menu_calls, menu_figures


@pytest.fixture
async def services(settings: Settings, sessions: async_sessionmaker[AsyncSession],
                   tmp_path: Path) -> AsyncIterator[Services]:
    built = Services(settings, sessions, PbxInstance(chroot=None, pbx_root=tmp_path / "pbx"))
    yield built
    await built.writer.close()


HANG_UP = "hang up"


@dataclass
class ScriptedCaller:
    """The AGI commands the menu engine uses; each prompt's answer comes from the script:
    a key, "" (none, or a silence) or HANG_UP."""

    call_id: str
    script: list[str] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.headers = {"uniqueid": self.call_id, "callerid": "13812345678",
                        "channel": "PJSIP/carrier-00000001"}

    def _next(self) -> str:
        answer = self.script.pop(0) if self.script else HANG_UP
        if answer == HANG_UP:
            raise AgiHangup("the caller hung up")
        return answer

    async def get_variable(self, name: str) -> str | None:
        return self.call_id if name == v.LINKEDID else None

    async def set_variable(self, name: str, value: str) -> None:
        pass

    async def set_variables(self, values: dict[str, str]) -> None:
        pass

    async def stream_file(self, filename: str, escape_digits: str = "") -> str:
        return self._next()

    async def get_data(self, filename: str, timeout_ms: int, max_digits: int
                       ) -> tuple[str, bool]:
        key = self._next()
        return key, not key

    async def exec(self, app: str, *args: str) -> None:
        self._next()


async def _call(entry: Entry, caller: ScriptedCaller) -> None:
    with contextlib.suppress(AgiHangup):  # as the FastAGI server ends a hung-up call
        await entry.menu_only(caller)  # type: ignore[arg-type]
    # what the call tracker writes when the channel hangs up (AMI Hangup)
    entry.services.writer.write(w.hangup(caller.call_id, utcnow(), 16))


async def test_the_report_reads_the_bridges_own_events(services: Services,
                                                       settings: Settings) -> None:
    actions = build_actions()
    entry = Entry(services, MenuStore(MENU_FILE, set(manifest()), actions.checks()), actions)
    # welcome: the stream; main-menu: get_data; mediation-info: stream; mediation-menu: get_data
    await _call(entry, ScriptedCaller("b-welcome", [HANG_UP]))
    await _call(entry, ScriptedCaller("b-main", ["", "", "", HANG_UP]))  # a silence, hung up
    await _call(entry, ScriptedCaller("b-mediation", ["6", "", "", "", ""]))  # 2 silences: bye
    await _call(entry, ScriptedCaller("b-appointment", ["", "5", HANG_UP]))  # in its menu
    await _call(entry, ScriptedCaller("b-no-key", ["", "", "", "9", HANG_UP]))  # to 留言
    await services.writer.flush()

    today = datetime.now(UTC) + timedelta(hours=8)
    period = Period.between(today.date() - timedelta(days=1), today.date() + timedelta(days=1))
    async with session_scope(services.sessions) as session:
        calls = {c.id: c for c in await load_menu_calls(session, settings.hours.timezone,
                                                         period)}
    assert {i: (c.end, c.end_path) for i, c in calls.items()} == {
        "b-welcome": ("welcome", ""), "b-main": ("main", ""),
        "b-mediation": ("completed", ""), "b-appointment": ("before", "appointment"),
        "b-no-key": ("before", "message")}
    assert calls["b-mediation"].entered == ("mediation",)
    assert calls["b-appointment"].entered == ("appointment",)
    assert calls["b-no-key"].no_key and calls["b-no-key"].entered == ("message",)
    figures = menu_figures(list(calls.values()))
    used = {p.node: p.entered for p in figures.paths}
    assert (used["mediation"], used["appointment"], used["message"], used["case-query"]) == (
        1, 1, 1, 0)
