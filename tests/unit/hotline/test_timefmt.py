"""hotline.timefmt: each reader's way of writing a moment, in the court's time zone."""

from __future__ import annotations

import doctest
from datetime import UTC, datetime, timedelta, timezone

import pytest

from hotline import timefmt
from hotline.timefmt import (
    clock_time,
    iso,
    local_time,
    local_time_with_offset,
    short_time,
    utc_day_folder,
)

# 16:05 UTC on the last day of the month is already the next month's first in Beijing.
LATE = datetime(2026, 4, 30, 16, 5, 7, tzinfo=UTC)


def test_the_examples_in_the_docstring_hold() -> None:
    assert doctest.testmod(timefmt).failed == 0


@pytest.mark.parametrize(("zone", "expected"), [
    ("Asia/Shanghai", "2026-05-01 00:05"), ("UTC", "2026-04-30 16:05"),
    ("Asia/Urumqi", "2026-04-30 22:05"),
])
def test_local_time_is_the_court_zones_minute(zone: str, expected: str) -> None:
    assert local_time(LATE, zone) == expected


def test_no_moment_is_an_empty_field() -> None:
    assert local_time(None, "Asia/Shanghai") == short_time(None, "Asia/Shanghai") == ""


def test_short_and_clock_and_offset_forms() -> None:
    assert short_time(LATE, "Asia/Shanghai") == "5月1日00:05"
    assert clock_time(LATE, "Asia/Shanghai") == "00:05:07"
    assert local_time_with_offset(LATE, "Asia/Shanghai") == "2026-05-01 00:05 +0800"


def test_iso_keeps_the_offset_given() -> None:
    assert iso(LATE) == "2026-04-30T16:05:07+00:00"
    beijing = LATE.astimezone(timezone(timedelta(hours=8)))
    assert iso(beijing) == "2026-05-01T00:05:07+08:00"


@pytest.mark.parametrize("moment", [
    LATE, LATE.astimezone(timezone(timedelta(hours=8))), LATE.replace(tzinfo=None),
])
def test_recording_day_folder_is_the_utc_date(moment: datetime) -> None:
    assert utc_day_folder(moment) == "2026/04/30"
