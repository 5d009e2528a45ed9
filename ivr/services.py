"""What the bridge's components need from the rest of the system, handed to them at
start-up by ivr/main.py (tests build their own).

writer, hours, knowledge and directory are what keeps the database out of the caller's
way: every write goes behind the call through the one writer (ivr/writebehind.py), and
whether the hotline is open and what the consultation menu offers are answered from memory
(hotline.hours.OpenHours, hotline.knowledge.KnowledgeMenu, and the telephone directory
the department menu reads, hotline.directory.DirectoryBook; refreshed by ivr/main.py). Left
out, they are made here: a writer without a journal, hours and knowledge not loaded yet.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.blocklist import BlockList
from hotline.cases import QueryLockout
from hotline.courts import CourtBook
from hotline.directory import DirectoryBook
from hotline.hours import OpenHours
from hotline.knowledge import KnowledgeMenu
from hotline.settings import Settings
from ivr import journaled
from ivr.writebehind import WriteBehind
from pbx import PbxInstance


@dataclass(frozen=True)
class Services:
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    pbx: PbxInstance
    writer: WriteBehind = field(default=None)  # type: ignore[assignment]
    hours: OpenHours = field(default=None)  # type: ignore[assignment]
    knowledge: KnowledgeMenu = field(default=None)  # type: ignore[assignment]
    # the block list, in memory (hotline.blocklist; refreshed by ivr/main.py)
    blocked: BlockList = field(default_factory=BlockList)
    directory: DirectoryBook = field(default_factory=DirectoryBook)
    # the courts the voice menu offers, by key (hotline.courts; refreshed by ivr/main.py)
    courts: CourtBook = field(default_factory=CourtBook)
    # the case query's lock-out, in memory (hotline.cases; refreshed by ivr/main.py)
    lockout: QueryLockout = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.writer is None:
            object.__setattr__(self, "writer", WriteBehind(self.sessions))
        journaled.register(self.writer, self.settings)
        if self.hours is None:
            object.__setattr__(self, "hours", OpenHours(self.settings))
        if self.knowledge is None:
            object.__setattr__(self, "knowledge", KnowledgeMenu())
        if self.lockout is None:
            object.__setattr__(self, "lockout", QueryLockout(self.settings))

    def sound(self, prompt_id: str) -> str:
        """A prompt as Asterisk names it: its path without the extension."""
        return f"{self._sounds}/{prompt_id}"

    @functools.cached_property
    def _sounds(self) -> str:
        return str(self.pbx.pbx_root / "sounds" / "zh")

    @property
    def node(self) -> str:
        """The cluster node whose Asterisk this bridge serves; every call it records is
        stamped with it (calls.node). "" on a single server."""
        return self.settings.cluster.node

    def recording_file(self, relative: str) -> Path:
        """Host path of a recording the dialplan names relative to the recordings folder."""
        return self.pbx.recordings_dir / relative
