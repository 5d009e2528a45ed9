"""What the bridge's components need from the rest of the system, handed to them at
start-up by ivr/main.py (tests build their own)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.settings import Settings
from pbx import PbxInstance


@dataclass(frozen=True)
class Services:
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    pbx: PbxInstance

    def sound(self, prompt_id: str) -> str:
        """A prompt as Asterisk names it: its path without the extension."""
        return str(self.pbx.pbx_root / "sounds" / "zh" / prompt_id)

    def recording_file(self, relative: str) -> Path:
        """Host path of a recording the dialplan names relative to the recordings folder."""
        return self.pbx.recordings_dir / relative
