"""entry: the first thing every 12368 call meets once it is answered and recording.

In office hours the caller goes to the seats. Otherwise the voice menu serves them; the
self-service paths (case query, consultation, ...) arrive with the after-hours issue, so
for now every choice ends with a voice message the next working day picks up.
"""

from __future__ import annotations

from hotline import hours
from hotline.db import calls, state
from hotline.db.base import session_scope, utcnow
from ivr import variables as v
from ivr.fastagi import AgiSession
from ivr.services import Services

MENU_KEYS = "0123456789*#"
MENU_TRIES = 3
MENU_TIMEOUT_MS = 6000


class Entry:
    def __init__(self, services: Services) -> None:
        self.services = services

    async def handle(self, agi: AgiSession) -> None:
        call_id = await self._register(agi)
        if await self._hotline_open():
            await self._to_seats(agi, call_id)
            return
        choice = await self._main_menu(agi, call_id)
        await self._after_menu(agi, call_id, choice)

    async def _register(self, agi: AgiSession) -> str:
        call_id = await agi.get_variable(v.LINKEDID) or agi.headers.get("uniqueid", "")
        async with session_scope(self.services.sessions) as session:
            await calls.ensure_call(session, call_id, caller_number=agi.headers.get("callerid", ""),
                                    channel=agi.headers.get("channel", ""))
        return call_id

    async def _hotline_open(self) -> bool:
        async with session_scope(self.services.sessions) as session:
            mode = await state.get_state(session, hours.MODE_KEY, "auto")
        return hours.is_open(utcnow(), self.services.settings.hours, mode)

    async def _to_seats(self, agi: AgiSession, call_id: str) -> None:
        await self._set_route(agi, call_id, v.CALL_ROUTE_QUEUE, v.ROUTE_QUEUE)
        await self._play(agi, call_id, "transfer-seat")

    async def _main_menu(self, agi: AgiSession, call_id: str) -> str:
        await self._set_route(agi, call_id, v.CALL_ROUTE_MENU, v.ROUTE_CLOSED)
        key = await self._play(agi, call_id, "welcome", MENU_KEYS)
        for attempt in range(MENU_TRIES):
            if key and key in "120":
                return key
            prompt = "main-menu" if attempt == 0 and not key else "main-menu-retry"
            key = await self._ask(agi, call_id, prompt)
        return ""

    async def _after_menu(self, agi: AgiSession, call_id: str, choice: str) -> None:
        if choice in ("1", "2"):
            await self._play(agi, call_id, "service-not-ready")
        # Every path ends in [hotline-closed]: the caller leaves a message, nobody is dropped.

    async def _ask(self, agi: AgiSession, call_id: str, prompt: str) -> str:
        await self._log(call_id, "prompt", {"prompt": prompt})
        digits, timed_out = await agi.get_data(self.services.sound(prompt), MENU_TIMEOUT_MS, 1)
        await self._log(call_id, "menu", {"prompt": prompt, "key": digits or "",
                                          "timeout": "yes" if timed_out and not digits else "no"})
        return digits

    async def _play(self, agi: AgiSession, call_id: str, prompt: str, keys: str = "") -> str:
        # Logged as it starts: a caller who hangs up mid-prompt still heard part of it.
        await self._log(call_id, "prompt", {"prompt": prompt})
        key = await agi.stream_file(self.services.sound(prompt), keys)
        if key:
            await self._log(call_id, "menu", {"prompt": prompt, "key": key, "timeout": "no"})
        return key

    async def _set_route(self, agi: AgiSession, call_id: str, route: str, dialplan: str) -> None:
        await agi.set_variable(v.CDR_ROUTE, route)
        await agi.set_variable(v.ROUTE_VAR, dialplan)
        async with session_scope(self.services.sessions) as session:
            await calls.update_call(session, call_id, route=route)
            await calls.add_event(session, call_id, "route", {"route": route})

    async def _log(self, call_id: str, kind: str, detail: dict[str, str]) -> None:
        async with session_scope(self.services.sessions) as session:
            await calls.add_event(session, call_id, kind, detail)
            if detail.get("key"):
                await calls.append_menu_key(session, call_id, detail["key"])
