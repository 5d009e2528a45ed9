"""Data access for recordings after the call: post-processing state, legal hold, deletion.

Deletion goes through :func:`delete_recording` only, used by the retention job (by_user
None) and by an administrator; the file goes, the row stays with deleted_at, and the
deletion is written to the access log.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.db.base import utcnow
from hotline.db.models import CallLog, Recording, RecordingAccess, Ticket, User

PENDING, DONE, FAILED = "pending", "done", "failed"
# The role code of administrators (agent_console.texts.ADMIN): the only people who may
# delete a recording by hand.
ADMIN_ROLE = "admin"
PEAKS_SUFFIX = ".peaks.json"

_ATTEMPT = re.compile(r"^\[attempt (\d+)\]")


def failed_attempts(rec: Recording) -> int:
    """How many times post-processing failed; kept as the prefix of process_error
    ("[attempt 2] ffmpeg said ...") so no column is needed for it."""
    match = _ATTEMPT.match(rec.process_error or "")
    return int(match.group(1)) if match else 0


def _workable(max_attempts: int, since: datetime | None) -> list[object]:
    # Only whole-call recordings: a voice message is a ticket's attachment (tickets.audio_path
    # names its WAV) and stays as it was recorded.
    conditions: list[object] = [
        Recording.kind == "call", Recording.status == "complete",
        Recording.deleted_at.is_(None),
        or_(Recording.process_state == PENDING,
            (Recording.process_state == FAILED)
            & ~Recording.process_error.like(f"[attempt {max_attempts}]%")),
    ]
    if since is not None:
        conditions.append(Recording.created_at >= since)
    return conditions


async def to_process(session: AsyncSession, max_attempts: int, limit: int = 50,
                     since: datetime | None = None, after_id: int = 0) -> list[Recording]:
    """Recordings waiting for post-processing (pending, or failed fewer than max_attempts
    times), oldest first."""
    query = (select(Recording).where(*_workable(max_attempts, since), Recording.id > after_id)  # type: ignore[arg-type]
             .order_by(Recording.id).limit(limit))
    recs = [r for r in (await session.execute(query)).scalars()
            if failed_attempts(r) < max_attempts]
    return recs


async def count_to_process(session: AsyncSession, max_attempts: int,
                           since: datetime | None = None) -> int:
    query = select(func.count()).select_from(Recording).where(
        *_workable(max_attempts, since))  # type: ignore[arg-type]
    return int((await session.execute(query)).scalar_one())


async def mark_for_reprocessing(session: AsyncSession, since: datetime | None = None) -> int:
    """Put processed (and failed) call recordings back to pending, e.g. to re-transcode the
    archive after the kept format changed. The batch then works from that state, so it can
    be stopped and resumed."""
    query = (update(Recording)
             .where(Recording.kind == "call", Recording.deleted_at.is_(None),
                    Recording.process_state.in_([DONE, FAILED]))
             .values(process_state=PENDING, process_error=""))
    if since is not None:
        query = query.where(Recording.created_at >= since)
    result = await session.execute(query)
    return int(result.rowcount)  # type: ignore[attr-defined]


async def get_recording(session: AsyncSession, rec_id: int) -> Recording | None:
    return await session.get(Recording, rec_id)


async def list_recordings(session: AsyncSession, limit: int = 20,
                          state: str | None = None) -> list[Recording]:
    query = select(Recording).order_by(Recording.id.desc()).limit(limit)
    if state is not None:
        query = query.where(Recording.process_state == state)
    return list((await session.execute(query)).scalars())


async def held_call_ids(session: AsyncSession, call_ids: Iterable[str]) -> set[str]:
    """Calls whose recordings are under legal hold: a ticket was raised on or answered by
    the call, or the agent's call log names a case."""
    ids = list(set(call_ids))
    if not ids:
        return set()
    held: set[str] = set()
    for column in (Ticket.call_id, Ticket.answer_call_id):
        rows = await session.execute(select(column).where(column.in_(ids)))
        held.update(str(value) for value in rows.scalars() if value)
    rows = await session.execute(select(CallLog.call_id).where(
        CallLog.call_id.in_(ids), CallLog.case_number != ""))
    held.update(str(value) for value in rows.scalars() if value)
    return held


async def expired(session: AsyncSession, before: datetime, limit: int = 500) -> list[Recording]:
    """Recordings made before `before`, not yet deleted and not held, oldest first."""
    query = (select(Recording)
             .where(Recording.created_at < before, Recording.deleted_at.is_(None),
                    Recording.legal_hold.is_(False),
                    Recording.status != "recording")
             .order_by(Recording.created_at, Recording.id).limit(limit))
    return list((await session.execute(query)).scalars())


def recording_files(rec: Recording) -> list[str]:
    """Every file of a recording, relative to the recordings folder."""
    names = [rec.path]
    if rec.kept_path:
        names += [rec.kept_path, rec.kept_path + PEAKS_SUFFIX]
    return names


async def delete_recording(session: AsyncSession, rec: Recording, root: Path,
                           by_user: User | None, reason: str,
                           now: datetime | None = None) -> None:
    """Delete a recording's files and keep its row with deleted_at, logged in the access
    log. by_user None is the retention job; anyone else must be an administrator."""
    if by_user is not None and by_user.role != ADMIN_ROLE:
        raise PermissionError(f"user {by_user.username} may not delete recordings")
    if not reason.strip():
        raise ValueError("reason: a deletion needs a reason")
    if rec.legal_hold and by_user is None:
        raise PermissionError(f"recording {rec.id} is under legal hold")
    for relative in recording_files(rec):
        (root / relative).unlink(missing_ok=True)
    rec.deleted_at = now or utcnow()
    session.add(RecordingAccess(recording_id=rec.id, user_id=by_user.id if by_user else None,
                                action="delete", reason=reason.strip(), at=rec.deleted_at))
