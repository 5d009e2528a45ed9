"""The court's working-day calendar (Art. 1, Art. 5(6)): which days are working days, the
office hours of each day, whether the hotline is open at a moment, and working-day deadlines.

Pure and synchronous: the overrides the court set are handed in (hotline.hours reads them).
Precedence for a day: the court's override → the state calendar (the chinesecalendar
package, or a year the court declared by importing the State Council notice) → the
Monday-to-Friday rule when nothing is known, so a call never fails for a missing year.

>>> from hotline.settings import HoursSettings
>>> cal = WorkingCalendar(HoursSettings())
>>> cal.day_info(date(2026, 2, 14)).kind   # a Saturday worked for the Spring Festival
'makeup'
>>> cal.add_working_days(date(2026, 2, 13), 2)
datetime.date(2026, 2, 24)
"""

from __future__ import annotations

import calendar as stdlib_calendar
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

import chinese_calendar

from hotline.settings import HoursSettings

DayKind = Literal["workday", "weekend", "holiday", "makeup",
                  "override-workday", "override-holiday"]
DaySource = Literal["override", "state", "fallback"]
Span = tuple[time, time]
# What the court set for a day: (is a working day, name), e.g. (False, "院庆").
Override = tuple[bool, str]

WORKING_KINDS: frozenset[DayKind] = frozenset({"workday", "makeup", "override-workday"})
WEEKDAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SEASONS = ("summer", "winter")
# The months of each season, first to last (winter runs over the new year). The calendar and
# the fallback dialplan (pbx.config) both read them here.
SEASON_MONTHS: dict[str, tuple[int, int]] = {"summer": (5, 9), "winter": (10, 4)}
# Asterisk's month names (GotoIfTime), January first.
MONTH_KEYS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
# The search for the next opening gives up after this long (hours configured empty).
OPENING_HORIZON_DAYS = 400

# What court staff read in `hotline calendar show`. One table, so a wording change is one edit.
KIND_LABELS: dict[str, str] = {
    "workday": "工作日", "weekend": "休息日", "holiday": "节假日", "makeup": "调休上班",
}
WEEKDAY_LABELS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
OVERRIDE_MARK = "*"
GUESS_MARK = "[推定]"
LEGEND = "\n".join([
    "图例：",
    "  工作日          正常上班",
    "  休息日          周末",
    "  节假日(名称)    国家法定节假日",
    "  调休上班        因节假日调休而上班的周末",
    f"  {OVERRIDE_MARK}               本院设定或导入的日期（hotline calendar set / import）",
    f"  {GUESS_MARK}          暂无国家日历数据，按周一至周五上班推定；请导入国务院放假通知",
])


def parse_span(span: str) -> Span:
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


def season_of(day: date) -> str:
    """Summer hours run May to September, winter hours the rest of the year."""
    first, last = SEASON_MONTHS["summer"]
    return "summer" if first <= day.month <= last else "winter"


def season_month_range(season: str) -> str:
    """The season's months as Asterisk's GotoIfTime writes them: "may-sep"."""
    first, last = SEASON_MONTHS[season]
    return f"{MONTH_KEYS[first - 1]}-{MONTH_KEYS[last - 1]}"


def weekday_spans(hours: HoursSettings, season: str, weekday: int) -> tuple[str, ...]:
    """The configured spans of a weekday (0 = Monday) in a season: the season-specific
    exception ("summer-fri") wins over the all-year one ("fri"), which wins over the default.
    The fallback dialplan (pbx.config) renders the same rule."""
    key = WEEKDAY_KEYS[weekday]
    for candidate in (f"{season}-{key}", key):
        if candidate in hours.weekday:
            return hours.weekday[candidate]
    spans: tuple[str, ...] = getattr(hours, season)
    return spans


@lru_cache(maxsize=64)
def state_data_covers(year: int) -> bool:
    """Does the chinesecalendar package know this year's holidays and make-up days?"""
    try:
        chinese_calendar.get_holiday_detail(date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


def holiday_name_zh(name: str) -> str:
    """The Chinese name of a state holiday the package names in English; other names (the
    court's own) are shown as they were entered."""
    try:
        return str(chinese_calendar.Holiday(name).chinese)
    except ValueError:
        return name


@dataclass(frozen=True)
class DayInfo:
    day: date
    kind: DayKind
    name: str  # the holiday a day belongs to (package: English, override: as entered)
    source: DaySource

    @property
    def workday(self) -> bool:
        return self.kind in WORKING_KINDS


class WorkingCalendar:
    """Working days and office hours of the court, for one set of settings and overrides.

    `declared_years`: years the court imported the State Council notice for (beyond the
    package's data); their ordinary days follow Monday to Friday without a warning.
    """

    def __init__(self, hours: HoursSettings, overrides: Mapping[date, Override] | None = None,
                 declared_years: Collection[int] = ()) -> None:
        self.hours = hours
        self.zone = ZoneInfo(hours.timezone)
        self.overrides = dict(overrides or {})
        self.declared_years = frozenset(declared_years)

    # --- days ----------------------------------------------------------------------

    def day_info(self, day: date) -> DayInfo:
        if day in self.overrides:
            workday, name = self.overrides[day]
            return DayInfo(day, "override-workday" if workday else "override-holiday",
                           name, "override")
        if state_data_covers(day.year):
            return self._state_day(day)
        source: DaySource = "state" if day.year in self.declared_years else "fallback"
        return DayInfo(day, "weekend" if day.weekday() >= 5 else "workday", "", source)

    def _state_day(self, day: date) -> DayInfo:
        holiday, name = chinese_calendar.get_holiday_detail(day)
        weekend = day.weekday() >= 5
        if holiday:
            kind: DayKind = "holiday" if name or not weekend else "weekend"
        else:
            kind = "makeup" if weekend else "workday"
        return DayInfo(day, kind, name or "", "state")

    def is_workday(self, day: date) -> bool:
        return self.day_info(day).workday

    def has_data(self, day: date) -> bool:
        return (day in self.overrides or state_data_covers(day.year)
                or day.year in self.declared_years)

    def coverage_gaps(self, today: date, days: int = 60) -> list[date]:
        """Days from today on (`days` of them) the calendar only guesses (Mon–Fri rule):
        the court should import the State Council notice for them."""
        return [day for day in _days_from(today, days) if not self.has_data(day)]

    # --- office hours --------------------------------------------------------------

    def office_spans(self, day: date) -> list[Span]:
        """Office hours of a day in the court's time zone; none on a day off. A make-up
        Saturday gets the season's default hours unless a "sat" exception is configured."""
        if not self.is_workday(day):
            return []
        return [parse_span(s) for s in weekday_spans(self.hours, season_of(day), day.weekday())]

    def closing_time(self, day: date) -> time:
        """When the office day ends; a weekday closed to calls by a weekday exception is still
        a working day for deadlines, so it ends when the season's hours end."""
        spans = self.office_spans(day) or [parse_span(s) for s in
                                           getattr(self.hours, season_of(day))]
        return max((end for _, end in spans), default=time.max)

    def is_open(self, moment: datetime, mode: str = "auto") -> bool:
        """Is the hotline staffed at `moment` (UTC-aware)? mode "open"/"closed" is the
        administrator's manual override; anything else follows the calendar."""
        if mode in ("open", "closed"):
            return mode == "open"
        local = moment.astimezone(self.zone)
        return any(start <= local.time() < end for start, end in self.office_spans(local.date()))

    def next_opening(self, moment: datetime) -> datetime | None:
        """The first moment at or after `moment` the hotline is open (UTC), or None if
        the office hours leave it closed for the next OPENING_HORIZON_DAYS."""
        local = moment.astimezone(self.zone)
        for day in _days_from(local.date(), OPENING_HORIZON_DAYS):
            for start, end in self.office_spans(day):
                if local < datetime.combine(day, end, self.zone):
                    opening = datetime.combine(day, start, self.zone)
                    return max(opening, local).astimezone(UTC)
        return None

    # --- deadlines -----------------------------------------------------------------

    def add_working_days(self, start_day: date, n: int) -> date:
        """The n-th working day after start_day; start_day itself is not counted."""
        if n < 0:
            raise ValueError(f"working days to add must not be negative: {n}")
        day, counted = start_day, 0
        while counted < n:
            day += timedelta(days=1)
            counted += self.is_workday(day)
        return day

    def deadline(self, forwarded_at: datetime, n: int) -> datetime:
        """When a matter forwarded at `forwarded_at` is due (Art. 5(6)): the close of office
        hours of the n-th working day after the forwarding day, in UTC."""
        forwarded_day = forwarded_at.astimezone(self.zone).date()
        due_day = self.add_working_days(forwarded_day, n)
        return datetime.combine(due_day, self.closing_time(due_day), self.zone).astimezone(UTC)

    # --- for staff -----------------------------------------------------------------

    def month_table(self, year: int, month: int) -> str:
        """A month as court staff read it: each day, its status and its office hours."""
        title = f"{year}年{month}月 工作日历（{self.hours.timezone}）"
        header = f"{_pad('日期', 7)}{_pad('星期', 6)}{_pad('类型', 22)}办公时间"
        days = _month_days(year, month)
        return "\n".join([title, header, *(self._month_row(d) for d in days), "", LEGEND])

    def _month_row(self, day: date) -> str:
        spans = " ".join(f"{s:%H:%M}-{e:%H:%M}" for s, e in self.office_spans(day)) or "—"
        label = _pad(staff_label(self.day_info(day)), 22)
        return f"{day:%m-%d}  {WEEKDAY_LABELS[day.weekday()]}  {label}{spans}"


def staff_label(info: DayInfo) -> str:
    """A day as court staff call it, e.g. "调休上班(春节)", "节假日(院庆)*", "工作日[推定]"."""
    label = KIND_LABELS[_plain_kind(info)]
    if info.name:
        label += f"({holiday_name_zh(info.name)})"
    if info.source == "override":
        label += OVERRIDE_MARK
    elif info.source == "fallback":
        label += GUESS_MARK
    return label


def _plain_kind(info: DayInfo) -> str:
    # An override reads like the state day it stands for: an imported notice's holiday
    # is a 节假日 to staff, a worked weekend a 调休上班.
    weekend = info.day.weekday() >= 5
    if info.kind == "override-workday":
        return "makeup" if weekend else "workday"
    if info.kind == "override-holiday":
        return "holiday" if info.name or not weekend else "weekend"
    return info.kind

def _days_from(first: date, count: int) -> Iterator[date]:
    return (first + timedelta(days=i) for i in range(count))


def _month_days(year: int, month: int) -> list[date]:
    length = stdlib_calendar.monthrange(year, month)[1]
    return list(_days_from(date(year, month, 1), length))


def _pad(text: str, width: int) -> str:
    # Chinese characters take two columns in a terminal; pad by display width.
    shown = sum(2 if ord(char) > 0x2E80 else 1 for char in text)
    return text + " " * max(1, width - shown)
