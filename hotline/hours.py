"""Is the hotline open (Art. 1)? Office hours per season, Monday to Friday, and the manual
mode an administrator sets for emergencies and maintenance.

The working-day calendar (statutory holidays, make-up days) plugs in here: `is_open` is the
one question every part asks.
"""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

from hotline.settings import HoursSettings

MODES = ("auto", "open", "closed")
MODE_KEY = "hotline.mode"


def parse_span(span: str) -> tuple[time, time]:
    """>>> parse_span("14:30-17:30")
    (datetime.time(14, 30), datetime.time(17, 30))
    """
    try:
        start, end = (time.fromisoformat(part.strip()) for part in span.split("-"))
    except ValueError as exc:
        raise ValueError(f"office hours {span!r}: write them as HH:MM-HH:MM") from exc
    if end <= start:
        raise ValueError(f"office hours {span!r}: the end must come after the start")
    return start, end


def spans_for(moment: datetime, hours: HoursSettings) -> list[tuple[time, time]]:
    """Office hours of the day of `moment` (court time zone); summer runs May to September."""
    local = moment.astimezone(ZoneInfo(hours.timezone))
    season = hours.summer if 5 <= local.month <= 9 else hours.winter
    return [parse_span(span) for span in season]


def is_open(moment: datetime, hours: HoursSettings, mode: str = "auto") -> bool:
    if mode == "open":
        return True
    if mode == "closed":
        return False
    local = moment.astimezone(ZoneInfo(hours.timezone))
    if local.weekday() >= 5:
        return False
    return any(start <= local.time() < end for start, end in spans_for(moment, hours))
