"""Alerts: problems staff must see until they are gone (hotline status, the console).

(kind, key) names one problem. Raising it again while it is open changes nothing; raising it
after it was resolved opens it again. A check that finds the problem gone resolves it, so
alerts clear themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.db.base import utcnow
from hotline.db.models import Alert

# Kinds raised by the recordings part (recordings/).
RECORDING_MISSING = "recording-missing"
RECORDING_ORPHAN = "recording-orphan"
RECORDING_SILENT = "recording-silent"
RECORDING_FAILED = "recording-failed"
DISK = "disk"


async def raise_alert(session: AsyncSession, kind: str, key: str, message: str,
                      now: datetime | None = None) -> bool:
    """Open the alert (kind, key); True when it was not open before."""
    alert = await _get(session, kind, key)
    if alert is None:
        session.add(Alert(kind=kind, key=key[:200], message=message, raised_at=now or utcnow()))
        await session.flush()
        return True
    alert.message = message
    if alert.resolved_at is None:
        return False
    alert.resolved_at, alert.raised_at = None, now or utcnow()
    return True


async def resolve_alert(session: AsyncSession, kind: str, key: str,
                        now: datetime | None = None) -> bool:
    """Close the alert (kind, key) if it is open; True when it was."""
    alert = await _get(session, kind, key)
    if alert is None or alert.resolved_at is not None:
        return False
    alert.resolved_at = now or utcnow()
    return True


async def sync_alerts(session: AsyncSession, kind: str, found: dict[str, str],
                      in_scope: Callable[[str], bool] | None = None,
                      now: datetime | None = None) -> tuple[int, int]:
    """Make the open alerts of `kind` match what a check found ({key: message}).

    Open alerts of that kind not found again are resolved; with `in_scope`, only those whose
    key the check looked at (a check of the last few days leaves older alerts alone).
    Returns (newly raised, resolved).
    """
    raised = 0
    for key, message in found.items():
        raised += await raise_alert(session, kind, key, message, now)
    resolved = 0
    for alert in await list_open_alerts(session, kind):
        if alert.key not in found and (in_scope is None or in_scope(alert.key)):
            alert.resolved_at = now or utcnow()
            resolved += 1
    return raised, resolved


async def list_open_alerts(session: AsyncSession, kind: str | None = None) -> list[Alert]:
    """Open alerts, newest first (all kinds, or one)."""
    query = select(Alert).where(Alert.resolved_at.is_(None))
    if kind is not None:
        query = query.where(Alert.kind == kind)
    return list((await session.execute(query.order_by(Alert.raised_at.desc(),
                                                      Alert.id.desc()))).scalars())


async def _get(session: AsyncSession, kind: str, key: str) -> Alert | None:
    query = select(Alert).where(Alert.kind == kind, Alert.key == key[:200])
    return (await session.execute(query)).scalar_one_or_none()
