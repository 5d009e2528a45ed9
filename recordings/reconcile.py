"""Recordings against calls: every answered call has its recording, every file its call.

The bridge indexes recordings from AMI as calls happen, and ivr/reconcile.py rebuilds calls
(with their recordings) from Asterisk's CDR after a gap, so the calls table is what Asterisk
saw. This pass compares it with the files on disk and raises alerts for what does not match:

* "recording-missing" (key: the call id): an answered, ended call with no recording row, a
  recording that never finished, was judged missing or invalid, or whose file (the WAV, or
  the kept copy once processed) is gone from disk, unless it was deleted on purpose — and
  unless the call was cut by its node's death (calls.ended_by "node-lost", a cluster): its
  recording is whatever the node wrote before it died, and the call's log says why;
* "recording-orphan" (key: the file's path under the recordings folder): an audio file no
  recording row names.

An alert resolves itself at the first pass that no longer finds its problem. The periodic
pass looks at the last [recordings] reconcile_days days; `hotline recordings check --all`
looks at everything.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from hotline.cluster import NODE_LOST
from hotline.db import alerts
from hotline.db.base import session_scope
from hotline.db.models import Call, Recording
from hotline.timefmt import utc_day_folder
from recordings.texts import ALERTS

# A call that ended moments ago may still have its file being closed; a file written
# moments ago may not be indexed yet.
GRACE_SECONDS = 120
AUDIO_SUFFIXES = (".wav", ".ogg", ".mp3")
# Files that belong to a recording without being named by its row.
COMPANION_SUFFIXES = ("-caller.wav", "-staff.wav")


@dataclass
class Findings:
    missing: dict[str, str] = field(default_factory=dict)  # call id → message
    orphans: dict[str, str] = field(default_factory=dict)  # relative path → message
    calls_checked: list[str] = field(default_factory=list)
    files_checked: list[str] = field(default_factory=list)


def _day_folders(now: datetime, days: int) -> list[str]:
    # The dialplan names folders by the UTC date (entry.conf, STRFTIME(...,UTC,...)).
    return [utc_day_folder(now - timedelta(days=n)) for n in range(days + 1)]


def _files(root: Path, folders: list[str] | None, older_than: float) -> list[str]:
    """Audio files under the recordings folder (or the given day folders), relative."""
    tops = [root] if folders is None else [root / f for f in folders]
    found = []
    for top in tops:
        for dirpath, _dirs, names in os.walk(top):
            for name in names:
                if not name.endswith(AUDIO_SUFFIXES) or name.endswith(COMPANION_SUFFIXES):
                    continue
                path = Path(dirpath) / name
                try:
                    if path.stat().st_mtime > older_than:
                        continue
                except FileNotFoundError:
                    continue
                found.append(path.relative_to(root).as_posix())
    return found


def _problem(root: Path, rec: Recording) -> str:
    """Why this recording does not hold its call, or "" when it does."""
    if rec.deleted_at is not None:
        return ""
    if rec.status != "complete":
        return f"（录音状态：{rec.status}）"
    name = rec.kept_path if rec.original_deleted and rec.kept_path else rec.path
    return "" if (root / name).exists() else f"（文件已不在磁盘上：{name}）"


async def find_problems(sessions: async_sessionmaker[AsyncSession], root: Path,
                        now: datetime, days: int | None) -> Findings:
    found = Findings()
    ended_before = now - timedelta(seconds=GRACE_SECONDS)
    query = (select(Call).where(Call.answered_at.is_not(None), Call.ended_at.is_not(None),
                                Call.ended_at < ended_before, Call.ended_by != NODE_LOST)
             .options(selectinload(Call.recordings)))
    if days is not None:
        query = query.where(Call.started_at >= now - timedelta(days=days))
    async with session_scope(sessions) as session:
        for call in (await session.execute(query)).scalars():
            found.calls_checked.append(call.id)
            whole = [r for r in call.recordings if r.kind == "call"]
            problems = [_problem(root, r) for r in whole] or ["（没有录音记录）"]
            if all(problems):
                found.missing[call.id] = ALERTS["missing"].format(call_id=call.id,
                                                                  detail=problems[0])
        known: set[str] = set()
        for path, kept in (await session.execute(select(Recording.path,
                                                        Recording.kept_path))).all():
            known.update((path, kept))
    folders = None if days is None else _day_folders(now, days)
    files = await asyncio.to_thread(_files, root, folders, time.time() - GRACE_SECONDS)
    found.files_checked = files
    for relative in files:
        if relative not in known:
            found.orphans[relative] = ALERTS["orphan"].format(path=relative)
    return found


async def reconcile(sessions: async_sessionmaker[AsyncSession], root: Path, now: datetime,
                    days: int | None) -> Findings:
    """One pass: find the problems and make the open alerts match them."""
    found = await find_problems(sessions, root, now, days)
    async with session_scope(sessions) as session:
        checked = set(found.calls_checked)
        await alerts.sync_alerts(session, alerts.RECORDING_MISSING, found.missing,
                                 None if days is None else checked.__contains__, now)
        # A file that is gone is no longer an orphan: every key under the folders looked at.
        prefixes = tuple(f + "/" for f in _day_folders(now, days)) if days is not None else ()
        await alerts.sync_alerts(session, alerts.RECORDING_ORPHAN, found.orphans,
                                 None if days is None else lambda key: key.startswith(prefixes),
                                 now)
    return found
