"""How the hotline writes a moment, one function per reader. Moments are stored in UTC
(hotline.db.base); staff read the court's local time.

>>> from datetime import UTC, datetime
>>> due = datetime(2026, 2, 24, 9, 30, tzinfo=UTC)
>>> local_time(due, "Asia/Shanghai")            # console pages, API fields, SMS to callers
'2026-02-24 17:30'
>>> short_time(due, "Asia/Shanghai")            # the 督办 notice and SMS to staff
'2月24日17:30'
>>> local_time_with_offset(due, "Asia/Shanghai")  # `hotline escalate`'s report
'2026-02-24 17:30 +0800'
>>> clock_time(due, "Asia/Shanghai")            # the steps of one call
'17:30:00'
>>> iso(due)                                    # machine-read: the API's UTC timestamps
'2026-02-24T09:30:00+00:00'
>>> utc_day_folder(due)                         # recordings/YYYY/MM/DD/, named as the dialplan does
'2026/02/24'
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

STAFF_FORMAT = "%Y-%m-%d %H:%M"


def _court(moment: datetime, timezone: str) -> datetime:
    return moment.astimezone(ZoneInfo(timezone))


def local_time(moment: datetime | None, timezone: str) -> str:
    """The court's local time to the minute, as staff read it; "" for no moment."""
    return _court(moment, timezone).strftime(STAFF_FORMAT) if moment else ""


def local_time_with_offset(moment: datetime, timezone: str) -> str:
    """local_time with the UTC offset, for reports an IT person may compare with logs."""
    return _court(moment, timezone).strftime(f"{STAFF_FORMAT} %z")


def short_time(moment: datetime | None, timezone: str) -> str:
    """Month, day and minute in Chinese, for short messages to staff; "" for no moment."""
    if moment is None:
        return ""
    local = _court(moment, timezone)
    return f"{local.month}月{local.day}日{local:%H:%M}"


def clock_time(moment: datetime, timezone: str) -> str:
    """The court's local time of day to the second (within one call)."""
    return _court(moment, timezone).strftime("%H:%M:%S")


def iso(moment: datetime) -> str:
    """ISO 8601 with its offset, for what programs read (the API)."""
    return moment.isoformat()


def utc_day_folder(moment: datetime) -> str:
    """The day folder of a recording made at `moment`: its UTC date, as the dialplan's
    STRFTIME(...,UTC,...) names it. A naive moment is UTC already, as in the database."""
    return (moment.astimezone(UTC) if moment.tzinfo else moment).strftime("%Y/%m/%d")
