"""hotline.hours: office hours by season, weekends, the manual mode, the court's time zone."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from hotline.hours import MODES, is_open, parse_span, spans_for
from hotline.settings import HoursSettings

SHANGHAI = ZoneInfo("Asia/Shanghai")
HOURS = HoursSettings()
SUMMER_WEDNESDAY = (2025, 7, 16)
WINTER_WEDNESDAY = (2025, 1, 15)


def _at(day: tuple[int, int, int], hh: int, mm: int) -> datetime:
    return datetime(*day, hh, mm, tzinfo=SHANGHAI)


def test_parse_span() -> None:
    assert parse_span("08:00-12:00") == (time(8, 0), time(12, 0))
    assert parse_span(" 14:30 - 17:30 ") == (time(14, 30), time(17, 30))


@pytest.mark.parametrize("span", ["8-12", "08:00", "08:00-12:00-13:00", "morning", "25:00-26:00"])
def test_parse_span_refuses_malformed_spans(span: str) -> None:
    with pytest.raises(ValueError, match="HH:MM-HH:MM"):
        parse_span(span)


@pytest.mark.parametrize("span", ["12:00-08:00", "09:00-09:00"])
def test_parse_span_refuses_backwards_spans(span: str) -> None:
    with pytest.raises(ValueError, match="end must come after"):
        parse_span(span)


@pytest.mark.parametrize(("day", "hh", "mm", "expected"), [
    # summer: 08:00-12:00, 15:00-18:00
    (SUMMER_WEDNESDAY, 7, 59, False),
    (SUMMER_WEDNESDAY, 8, 0, True),
    (SUMMER_WEDNESDAY, 11, 59, True),
    (SUMMER_WEDNESDAY, 12, 0, False),
    (SUMMER_WEDNESDAY, 14, 30, False),
    (SUMMER_WEDNESDAY, 15, 0, True),
    (SUMMER_WEDNESDAY, 17, 59, True),
    (SUMMER_WEDNESDAY, 18, 0, False),
    # winter: 08:00-12:00, 14:30-17:30
    (WINTER_WEDNESDAY, 8, 0, True),
    (WINTER_WEDNESDAY, 11, 59, True),
    (WINTER_WEDNESDAY, 12, 0, False),
    (WINTER_WEDNESDAY, 14, 29, False),
    (WINTER_WEDNESDAY, 14, 30, True),
    (WINTER_WEDNESDAY, 17, 29, True),
    (WINTER_WEDNESDAY, 17, 30, False),
])
def test_office_hours_by_season(day: tuple[int, int, int], hh: int, mm: int,
                                expected: bool) -> None:
    assert is_open(_at(day, hh, mm), HOURS) is expected


@pytest.mark.parametrize("day", [(2025, 7, 19), (2025, 7, 20), (2025, 1, 18), (2025, 1, 19)])
def test_weekends_are_closed(day: tuple[int, int, int]) -> None:
    assert not any(is_open(_at(day, hh, 0), HOURS) for hh in range(24))


def test_season_follows_the_local_month() -> None:
    # 2025-04-30 22:00 UTC is already 1 May in Shanghai: summer hours.
    moment = datetime(2025, 4, 30, 22, 0, tzinfo=UTC)
    assert spans_for(moment, HOURS) == [parse_span(s) for s in HOURS.summer]
    assert spans_for(datetime(2025, 9, 30, 17, 0, tzinfo=UTC), HOURS) == [
        parse_span(s) for s in HOURS.winter]


def test_time_zone_00_30_utc_is_08_30_in_shanghai() -> None:
    monday_utc = datetime(2025, 7, 21, 0, 30, tzinfo=UTC)
    assert is_open(monday_utc, HOURS)
    # 08:30 UTC is 16:30 in Shanghai: open in summer, open in winter too.
    assert is_open(datetime(2025, 7, 21, 8, 30, tzinfo=UTC), HOURS)
    # 10:30 UTC is 18:30 in Shanghai: closed, although 10:30 would be office hours in UTC.
    assert not is_open(datetime(2025, 7, 21, 10, 30, tzinfo=UTC), HOURS)


def test_weekday_is_the_local_one() -> None:
    # Sunday 23:30 UTC is Monday 07:30 in Shanghai; Sunday 00:30 UTC is Sunday 08:30 there.
    assert not is_open(datetime(2025, 7, 20, 0, 30, tzinfo=UTC), HOURS)
    assert is_open(datetime(2025, 7, 21, 0, 30, tzinfo=UTC), HOURS)
    assert not is_open(datetime(2025, 7, 20, 23, 30, tzinfo=UTC), HOURS)


def test_other_time_zone_setting() -> None:
    urumqi = HoursSettings(timezone="Asia/Urumqi")  # UTC+6
    monday_02_30_utc = datetime(2025, 7, 21, 2, 30, tzinfo=UTC)  # 08:30 Urumqi, 10:30 Shanghai
    assert is_open(monday_02_30_utc, urumqi) and is_open(monday_02_30_utc, HOURS)
    monday_01_30_utc = datetime(2025, 7, 21, 1, 30, tzinfo=UTC)  # 07:30 Urumqi
    assert not is_open(monday_01_30_utc, urumqi) and is_open(monday_01_30_utc, HOURS)


def test_manual_mode_overrides_the_clock() -> None:
    sunday_night = _at((2025, 7, 20), 3, 0)
    wednesday_morning = _at(SUMMER_WEDNESDAY, 10, 0)

    assert MODES == ("auto", "open", "closed")
    assert is_open(sunday_night, HOURS, "open")
    assert not is_open(wednesday_morning, HOURS, "closed")
    assert is_open(wednesday_morning, HOURS, "auto")
    assert not is_open(sunday_night, HOURS, "auto")


def test_custom_season_hours() -> None:
    custom = HoursSettings(winter=("09:00-11:00",))
    assert not is_open(_at(WINTER_WEDNESDAY, 8, 30), custom)
    assert is_open(_at(WINTER_WEDNESDAY, 10, 59), custom)
    assert not is_open(_at(WINTER_WEDNESDAY, 15, 0), custom)
