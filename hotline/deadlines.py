"""When forwarded matters are due (Art. 5(6)): the close of office hours on the 2nd working
day after the day of forwarding (the starting day is not counted)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.hours import court_today, load_calendar
from hotline.settings import Settings

REPLY_WORKING_DAYS = 2


async def due_after(session: AsyncSession, settings: Settings, forwarded_at: datetime) -> datetime:
    """The moment (UTC) a matter forwarded at `forwarded_at` must have been answered."""
    calendar = await load_calendar(session, settings, court_today(settings, forwarded_at))
    return calendar.deadline(forwarded_at, REPLY_WORKING_DAYS)
