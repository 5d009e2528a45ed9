"""The bridge keeps its own node's phones as the phones table has them (issue 17).

A phone added, re-keyed or disabled in the console or by `hotline phones` is rendered into
site/pjsip.conf and reloaded by the Asterisk of the host that made the change only. Every
PHONES_SYNC_SECONDS each bridge renders site/pjsip.conf from the table as `hotline pbx up`
and the console do (pbx.render_pjsip) and compares it with the file on its node: when they
differ it writes the file and reloads PJSIP (pbx.apply_phones, in a worker thread; calls in
progress stay up). When they are the same nothing is written and nothing reloaded, so on a
single server, where the console already applied the change, this does nothing.

It runs on single servers too, as harmless there as a check can be (one small query and one
file read every few seconds; the console's file is found to be the table's, nothing is done)
and so the one code path is exercised on every site. A reload this bridge could not make
(its Asterisk down or restarting) is tried again each round until Asterisk takes it; the
console's own failed reload is not (its file is already the table's; Asterisk reads it
when it starts, and the console tells the administrator so).

The query is the three columns the file is made of (extension, password of the enabled
phones): as cheap as a change stamp would be, and no stamp of the table is reliable across
hosts (updated_at is written by each host's own clock, and a deleted row leaves none).

A bridge that started before hotline.toml changed would render from the old settings and
undo `hotline pbx up`'s new file: when the file changed since the bridge read it and the
settings it holds now render differently, the bridge leaves the phones alone (one warning)
until it is restarted.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Sequence
from enum import Enum
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import pbx
from hotline.db.base import session_scope
from hotline.db.models import Phone
from hotline.settings import DEFAULT_CONFIG, Settings, load_settings

log = logging.getLogger("ivr.phonesync")

# How soon a phone changed on another host reaches this node's Asterisk (plus the reload).
PHONES_SYNC_SECONDS = 5.0

Apply = Callable[[Settings, Sequence[Phone]], None]


class Step(Enum):
    NOTHING = "nothing"
    WRITE = "write"  # the file differs from the table: write it and reload
    RELOAD = "reload"  # the file is right but Asterisk's reload of it failed: again


def decide(rendered: str, on_disk: str | None, unloaded: str | None) -> Step:
    """What a round does. on_disk None: no site/pjsip.conf (the PBX is not set up here;
    `hotline pbx up` renders it). unloaded: the text this bridge wrote whose reload failed."""
    if on_disk is None:
        return Step.NOTHING
    if rendered != on_disk:
        return Step.WRITE
    if unloaded is not None and unloaded == rendered:
        return Step.RELOAD
    return Step.NOTHING


def config_path() -> Path:
    """The hotline.toml load_settings() reads (the bridge's own)."""
    given = os.environ.get("HOTLINE_CONFIG")
    return Path(given) if given else DEFAULT_CONFIG


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


class PhoneSync:
    """check() once per round, from the bridge's loop; never on a caller's path."""

    def __init__(self, settings: Settings, sessions: async_sessionmaker[AsyncSession],
                 site_file: Path, apply: Apply | None = None,
                 config: Path | None = None) -> None:
        self.settings, self.sessions, self.site_file = settings, sessions, site_file
        self.apply: Apply = apply or pbx.apply_phones
        self.config = config or config_path()
        self._config_stamp = _stamp(self.config)
        self.unloaded: str | None = None  # written, Asterisk's reload failed
        self._last_problem = ""
        self.applied = 0  # writes and reloads done (tests)

    async def check(self) -> None:
        try:
            async with session_scope(self.sessions) as session:
                rows = (await session.execute(
                    select(Phone.extension, Phone.password).where(Phone.enabled))).all()
            phones = [Phone(extension=ext, password=password, enabled=True)
                      for ext, password in rows]
            await asyncio.to_thread(self._round, phones)
        except Exception as exc:  # any failure: said once, tried again next round
            self._problem(f"{type(exc).__name__}: {exc}")

    def _round(self, phones: Sequence[Phone]) -> None:
        """In a worker thread: render, compare, and write and reload when it differs."""
        rendered = pbx.render_pjsip(self.settings.pbx, phones, self.settings.cluster)
        try:
            on_disk: str | None = self.site_file.read_text()
        except FileNotFoundError:
            on_disk = None
        step = decide(rendered, on_disk, self.unloaded)
        if step is Step.NOTHING:
            self._fine()
            return
        if self._settings_changed(phones, rendered):
            return
        try:
            self.apply(self.settings, phones)
        except Exception:
            # apply_phones writes first: a failed reload leaves the file right, so the
            # next round sees no difference and must still reload.
            if _read(self.site_file) == rendered:
                self.unloaded = rendered
            raise
        self.unloaded = None
        self.applied += 1
        log.info("site/pjsip.conf %s from the phones table (%d phones); PJSIP reloaded",
                 "rewritten" if step is Step.WRITE else "unchanged", len(phones))
        self._fine()

    def _settings_changed(self, phones: Sequence[Phone], rendered: str) -> bool:
        """hotline.toml changed since this bridge read it and renders the file differently:
        this bridge's settings are stale; leave the file to `hotline pbx up`."""
        if _stamp(self.config) == self._config_stamp:
            return False
        fresh = load_settings()
        if pbx.render_pjsip(fresh.pbx, phones, fresh.cluster) == rendered:
            self._config_stamp = _stamp(self.config)  # an edit that changes nothing here
            return False
        self._problem(f"{self.config} changed since the bridge started; its phones are not "
                      "synchronised until the bridge is restarted (hotline down; hotline up)")
        return True

    def _problem(self, message: str) -> None:
        if message != self._last_problem:
            log.warning("phones not synchronised to this node's Asterisk (retried every "
                        "%.0f s): %s", PHONES_SYNC_SECONDS, message)
            self._last_problem = message

    def _fine(self) -> None:
        if self._last_problem:
            log.info("phones synchronised again")
            self._last_problem = ""


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None
