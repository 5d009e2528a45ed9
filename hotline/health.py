"""What `hotline status` says about the site's data: the database answers and is migrated,
the days the calendar only guesses, the open alerts.

The scheduler writes this report into its heartbeat every REPORT_SECONDS; `hotline status`
reads it from there, which costs a file read instead of loading the database layer (~0.5 s
on a small server). When no fresh report is there (the scheduler is down), status asks the
database itself, with the same function.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from hotline.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

# How often the scheduler renews the report, and when status stops trusting one.
REPORT_SECONDS = 30.0
REPORT_STALE_SECONDS = 2 * REPORT_SECONDS + 10.0
ALERTS_SHOWN = 10


@dataclass
class SiteReport:
    time: float  # epoch seconds when it was made
    database: list[str] = field(default_factory=list)  # problems; [] is healthy
    calendar: list[str] = field(default_factory=list)  # warnings
    alerts_open: int = 0
    alerts: list[str] = field(default_factory=list)  # "kind: message", newest first

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: object) -> SiteReport | None:
        """The report in a heartbeat; None when there is none or it is not one."""
        if not isinstance(data, dict):
            return None
        try:
            return cls(time=float(data["time"]), database=list(data["database"]),
                       calendar=list(data["calendar"]), alerts_open=int(data["alerts_open"]),
                       alerts=list(data["alerts"]))
        except (KeyError, TypeError, ValueError):
            return None

    def fresh(self, now: float | None = None) -> bool:
        return (now or time.time()) - self.time <= REPORT_STALE_SECONDS


async def site_report(session: AsyncSession, settings: Settings, now: datetime) -> SiteReport:
    """The report, from one session. A database that cannot be read raises: the caller
    turns that into a database problem (database_down)."""
    from sqlalchemy import text

    from hotline import hours
    from hotline.db import alerts as alerts_db

    version = (await session.execute(text("SELECT version_num FROM alembic_version"))).scalar()
    if not version:
        return SiteReport(time.time(), database=["no schema (hotline db upgrade)"])
    warnings = await hours.calendar_warnings(session, settings, hours.court_today(settings, now))
    open_alerts = await alerts_db.list_open_alerts(session)
    return SiteReport(time.time(), calendar=warnings, alerts_open=len(open_alerts),
                      alerts=[f"{a.kind}: {a.message}" for a in open_alerts[:ALERTS_SHOWN]])


def database_down(exc: Exception) -> SiteReport:
    """The report when the database could not be read at all."""
    return SiteReport(time.time(), database=[
        f"cannot read the database: {exc.__class__.__name__}: {exc}"])
