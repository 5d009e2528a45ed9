"""The bridge's services for its unit tests: the shared fixture's, with the writer closed at
the end of each test (its task must not outlive the test's event loop)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.settings import Settings
from ivr.services import Services
from pbx import PbxInstance


@pytest.fixture
async def services(settings: Settings, sessions: async_sessionmaker[AsyncSession],
                   tmp_path: Path) -> AsyncIterator[Services]:
    built = Services(settings, sessions, PbxInstance(chroot=None, pbx_root=tmp_path / "pbx"))
    yield built
    await built.writer.close()
