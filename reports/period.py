"""The period a report covers: court days from `first` to `last`, both included, in the
court's time zone (a call at 23:30 Beijing time on the 31st belongs to the 31st, though it
is 15:30 UTC). Day, week (Monday to Sunday), month, quarter, year, or any from–to.

>>> p = Period.month(2026, 11)
>>> p.label, p.previous().label
('2026年11月', '2026年10月')
"""

from __future__ import annotations

import calendar as stdlib_calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

KINDS = ("day", "week", "month", "quarter", "year", "range")


@dataclass(frozen=True)
class Period:
    first: date
    last: date
    kind: str = "range"

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise ValueError(f"period {self.first}–{self.last}: the end comes before the start")

    # --- the ways staff name a period --------------------------------------------

    @classmethod
    def day(cls, day: date) -> Period:
        return cls(day, day, "day")

    @classmethod
    def week(cls, day: date) -> Period:
        monday = day - timedelta(days=day.weekday())
        return cls(monday, monday + timedelta(days=6), "week")

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        length = stdlib_calendar.monthrange(year, month)[1]
        return cls(date(year, month, 1), date(year, month, length), "month")

    @classmethod
    def quarter(cls, year: int, quarter: int) -> Period:
        if not 1 <= quarter <= 4:
            raise ValueError(f"quarter {quarter}: 1 to 4")
        first = date(year, 3 * quarter - 2, 1)
        return cls(first, Period.month(year, 3 * quarter).last, "quarter")

    @classmethod
    def year(cls, year: int) -> Period:
        return cls(date(year, 1, 1), date(year, 12, 31), "year")

    @classmethod
    def between(cls, first: date, last: date) -> Period:
        return cls(first, last, "range")

    # --- what reports need -------------------------------------------------------

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def bounds(self, timezone: str) -> tuple[datetime, datetime]:
        """[start, end) in UTC: midnight of the first court day to midnight after the last."""
        zone = ZoneInfo(timezone)
        start = datetime.combine(self.first, time.min, zone).astimezone(UTC)
        end = datetime.combine(self.last + timedelta(days=1), time.min, zone).astimezone(UTC)
        return start, end

    def previous(self) -> Period:
        """The period just before, of the same kind (a month before a month, the same
        number of days before a from–to)."""
        if self.kind == "month":
            before = self.first - timedelta(days=1)
            return Period.month(before.year, before.month)
        if self.kind == "quarter":
            before = self.first - timedelta(days=1)
            return Period.quarter(before.year, (before.month + 2) // 3)
        if self.kind == "year":
            return Period.year(self.first.year - 1)
        return Period(self.first - timedelta(days=self.days), self.first - timedelta(days=1),
                      self.kind)

    @property
    def label(self) -> str:
        """The period as the reports title it, e.g. 2026年11月, 2026年第4季度."""
        f = self.first
        if self.kind == "day":
            return f"{f.year}年{f.month}月{f.day}日"
        if self.kind == "month":
            return f"{f.year}年{f.month}月"
        if self.kind == "quarter":
            return f"{f.year}年第{(f.month + 2) // 3}季度"
        if self.kind == "year":
            return f"{f.year}年"
        prefix = "周：" if self.kind == "week" else ""
        return f"{prefix}{f:%Y-%m-%d} 至 {self.last:%Y-%m-%d}"

    @property
    def full_label(self) -> str:
        """The label with its days, e.g. 2026年11月（2026-11-01 至 2026-11-30）."""
        if self.kind in ("range", "week"):
            return self.label.removeprefix("周：")
        return f"{self.label}（{self.first} 至 {self.last}）"

    def query(self) -> dict[str, str]:
        """The period as the console's query string names it (period=…&first=…&last=…)."""
        return {"period": self.kind, "first": self.first.isoformat(),
                "last": self.last.isoformat()}


def parse_period(kind: str, value: str = "", last: str = "") -> Period:
    """A period from what staff type: ("month", "2026-11"), ("quarter", "2026-Q4"),
    ("year", "2026"), ("day", "2026-11-03"), ("week", any day of it),
    ("range", "2026-11-01", "2026-11-15"). ValueError when it names none."""
    value = value.strip()
    if kind == "month":
        year, month = value.split("-")[:2]
        return Period.month(int(year), int(month))
    if kind == "quarter":
        year, quarter = value.upper().replace("Q", "").split("-")
        return Period.quarter(int(year), int(quarter))
    if kind == "year":
        return Period.year(int(value[:4]))
    if kind == "day":
        return Period.day(date.fromisoformat(value))
    if kind == "week":
        return Period.week(date.fromisoformat(value))
    if kind == "range":
        return Period.between(date.fromisoformat(value), date.fromisoformat(last or value))
    raise ValueError(f"period kind {kind!r}: one of {', '.join(KINDS)}")


def containing(kind: str, day: date) -> Period:
    """The period of this kind that contains `day` (the dashboard's default: today's)."""
    if kind == "day":
        return Period.day(day)
    if kind == "week":
        return Period.week(day)
    if kind == "quarter":
        return Period.quarter(day.year, (day.month + 2) // 3)
    if kind == "year":
        return Period.year(day.year)
    return Period.month(day.year, day.month)
