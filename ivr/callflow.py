"""One call in the voice menu: what every action does with it — play, ask, say numbers,
speak data, record — each step written to the call's log as it happens.

Prompts are logged as they start (a caller who hangs up mid-prompt still heard part of
it), keys and timeouts as they come. Logging never waits: the steps go to the bridge's
writer (ivr/writebehind.py), which commits them behind the call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import pbx
from hotline import callid, prompts
from hotline.db import callwrites as w
from hotline.db.base import utcnow
from ivr.fastagi import AgiError, AgiHangup, AgiSession
from ivr.menu import SEATS_KEY
from ivr.services import Services
from pbx import names as v
from recordings import Probe, probe

ANY_KEY = "0123456789*#"
# How long a failed prompt waits for Asterisk's HANGUP line (it comes within a millisecond of
# the -1 when the caller has gone) before it asks the channel instead.
HANGUP_FOLLOWS_SECONDS = 0.2
T = TypeVar("T")


class SeatRequested(Exception):
    """The caller keyed 0 for a seat while the hotline is open (CallFlow.seat_on_zero): in
    office hours 0 is a seat from every level of the menu, an action's own one-key
    choices included (issue 15); whatever asked is left, and the menu puts them through
    (ivr/modules/entry.py)."""


class CallFlow:
    def __init__(self, agi: AgiSession, services: Services, call_id: str,
                 caller_number: str) -> None:
        self.agi, self.services = agi, services
        # set by the office-hours menu: a 0 at a one-key choice raises SeatRequested
        self.seat_on_zero = False
        self.call_id, self.caller_number = call_id, caller_number
        # the court the caller chose in the voice menu (ivr/modules/court.py; issue 17)
        self.court_id: int | None = None

    @classmethod
    async def start(cls, agi: AgiSession, services: Services) -> CallFlow:
        """Register the call (the AMI tracker may have done it already: no harm). The
        dialplan passes the call's linkedid as the AGI's first argument, saving a round
        trip before the first prompt; without it, it is read from the channel."""
        linkedid = agi.headers.get("arg_1") or await agi.get_variable(v.LINKEDID)
        call = callid.from_agi(agi.headers, linkedid)
        services.writer.write(w.ensure(call.call_id, caller_number=call.caller_number,
                                       channel=agi.headers.get("channel", ""),
                                       node=services.node))
        return cls(agi, services, call.call_id, call.caller_number)

    # --- listening ------------------------------------------------------------------

    async def play(self, prompt_ids: str | Sequence[str], keys: str = "") -> str:
        """Play prompts in order; a key from `keys` stops them and is returned."""
        for prompt in [prompt_ids] if isinstance(prompt_ids, str) else prompt_ids:
            key = await self._stream(self.services.sound(prompt), prompt, keys)
            if key:
                return key
        return ""

    async def choose(self, prompt_ids: Sequence[str], timeout: float) -> str:
        """Play prompts, then wait `timeout` seconds for one key; a key during a prompt
        counts at once. SeatRequested for a 0 while seat_on_zero and the hotline is open."""
        *lead, last = prompt_ids
        key = await self.play(lead, ANY_KEY) if lead else ""
        return self._seat_or(key or await self._ask(self.services.sound(last), last,
                                                    timeout, 1))

    def _seat_or(self, key: str) -> str:
        if key == SEATS_KEY and self.seat_on_zero and self.services.hours.is_open(utcnow()):
            raise SeatRequested
        return key

    async def ask_number(self, prompt: str, timeout: float, max_digits: int) -> str:
        """A code or ID number keyed by the caller, ended by #. It is personal data: the
        call's log records only how many digits came, never the digits."""
        return await self._ask(self.services.sound(prompt), prompt, timeout, max_digits,
                               private=True)

    async def ask_key(self, prompt: str, timeout: float) -> str:
        """One key that answers a question rather than choosing in the menu (the rating
        after a seat's call): logged with its prompt, kept out of the call's menu path."""
        return await self._ask(self.services.sound(prompt), prompt, timeout, 1, path=False)

    async def ask_words(self, words: Sequence[str], label: str, timeout: float,
                        max_digits: int) -> str:
        """Prompts (digit and unit words, then a question) played as one sound that the
        first key stops, then keys up to max_digits ended by #: a list read out with its
        keys, which the caller who knows need not hear to the end. Logged as label, keys
        as ask_number logs them."""
        zh = self.services.pbx.sounds_dir / "zh"
        path = await asyncio.to_thread(prompts.joined_cached,
                                       [zh / f"{word}.wav" for word in words],
                                       self.services.pbx.sounds_dir / "tts")
        return await self._ask(str(self.services.pbx.to_pbx(path.with_suffix(""))), label,
                               timeout, max_digits, private=True)

    async def ask_text(self, text: str, label: str, timeout: float) -> str:
        """Like choose() with a sentence made from data (e.g. the knowledge-base menu)."""
        return self._seat_or(await self._ask(await self._tts(text), label, timeout, 1))

    async def _ask(self, sound: str, label: str, timeout: float, max_digits: int,
                   private: bool = False, path: bool = True) -> str:
        self.log("prompt", {"prompt": label})
        digits, timed_out = await self._hangup_aware(
            self.agi.get_data(sound, int(timeout * 1000), max_digits))
        shown = f"<{len(digits)} digits>" if private and digits else digits
        self.log("menu", {"prompt": label, "key": shown,
                                "timeout": "yes" if timed_out and not digits else "no"},
                       path=path and not private)
        return digits

    async def _stream(self, sound: str, label: str, keys: str) -> str:
        self.log("prompt", {"prompt": label})
        key = await self._hangup_aware(self.agi.stream_file(sound, keys))
        if key:
            self.log("menu", {"prompt": label, "key": key, "timeout": "no"})
        return key

    async def _hangup_aware(self, command: Awaitable[T]) -> T:
        """A prompt that fails as the caller hangs up answers -1 before Asterisk says
        HANGUP: a HANGUP right behind it ends the call quietly; with none, the channel is
        asked, so a real failure (a missing sound file) is still an error. Most calls end
        this way, so the wait spares them a command to a dead channel (issue 12)."""
        try:
            return await command
        except AgiHangup:
            raise
        except AgiError as exc:
            if await self.agi.hangup_follows(HANGUP_FOLLOWS_SECONDS):
                raise AgiHangup(f"the caller hung up ({exc})") from exc
            await self.agi.command("CHANNEL STATUS")  # raises AgiHangup on a dead channel
            raise

    # --- speaking data --------------------------------------------------------------

    async def say(self, words: Sequence[str]) -> None:
        """Numbers, dates, times: a run of digit and unit prompts (ivr/say.py), in one go."""
        if words:
            self.log("say", {"words": " ".join(words)})
            await self.agi.exec("Playback", "&".join(self.services.sound(w) for w in words))

    async def speak(self, text: str, label: str, keys: str = "") -> str:
        """A sentence made from data, synthesized once and cached."""
        return await self._stream(await self._tts(text), label, keys)

    async def _tts(self, text: str) -> str:
        folder = self.services.pbx.sounds_dir / "tts"
        path = prompts.synthesized_path(text, folder)
        # Made before (every knowledge-base caller hears the same menu): one stat here,
        # not a hop to a worker thread and back; a new sentence is synthesized there.
        if not path.exists():
            path = await asyncio.to_thread(prompts.synthesize_cached, text, folder)
        return str(self.services.pbx.to_pbx(path.with_suffix("")))

    # --- recording ------------------------------------------------------------------

    async def record(self, relative: str, max_seconds: int, silence: int = 3) -> Probe:
        """Record the caller into recordings/<relative>.wav after a beep; # ends it."""
        host = self.services.recording_file(relative + ".wav")
        # Asterisk writes the file: the folder must be its user's (pbx.make_pbx_dirs), made
        # in a worker thread the first time a day (later, one stat here).
        if not host.parent.is_dir():
            await asyncio.to_thread(pbx.make_pbx_dirs, self.services.pbx, host.parent)
        target = self.services.pbx.to_pbx(host.with_suffix(""))
        self.log("record", {"path": relative + ".wav"})
        await self.agi.stream_file(str(self.services.pbx.pbx_root / "sounds" / "tones" / "beep"))
        reply = await self.agi.command(
            f'RECORD FILE "{target}" wav "#" {max_seconds * 1000} s={silence}')
        if reply.result == "-1" and reply.data != "hangup":
            raise AgiError(f"recording failed: {reply}")
        return probe(host)

    async def play_recording(self, relative: str, keys: str = "") -> str:
        """Play back something the caller recorded (recordings/<relative>)."""
        sound = self.services.pbx.to_pbx(self.recording_path(relative).with_suffix(""))
        return await self._stream(str(sound), "recording", keys)

    def recording_path(self, relative: str) -> Path:
        return self.services.recording_file(relative)

    # --- the call's log -------------------------------------------------------------

    def log(self, kind: str, detail: dict[str, Any], path: bool = True) -> None:
        """One event in the call's log; menu keys also extend its menu path. Queued: it
        returns at once."""
        writes = [w.event(self.call_id, kind, {k: str(val) for k, val in detail.items()})]
        if path and kind == "menu" and detail.get("key"):
            writes.append(w.menu_key(self.call_id, str(detail["key"])))
        self.services.writer.write(*writes)

    async def set_route(self, route: str, dialplan: str) -> None:
        """What the call record says (route) and where the dialplan goes next (dialplan):
        both in one AGI round trip (MSet)."""
        await self.agi.set_variables({v.CALL_ROUTE: route, v.ROUTE_VAR: dialplan})
        self.services.writer.write(w.update(self.call_id, route=route),
                                   w.event(self.call_id, "route", {"route": route}))
        if route == v.CALL_ROUTE_QUEUE:  # to a seat: the agent's screen reads the call soon
            self.services.writer.hurry()
