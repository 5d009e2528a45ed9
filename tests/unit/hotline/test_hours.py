"""hotline.hours: is the hotline open — office hours by season, weekends and holidays, the
court's overrides and the manual mode from the database, the court's time zone, and the
warnings when the calendar has to guess."""

from __future__ import annotations

import dataclasses
import logging
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline import hours
from hotline.calendar import WorkingCalendar
from hotline.db import calendar_days, state
from hotline.db.base import session_scope
from hotline.db.calendar_days import DayOverride
from hotline.settings import HoursSettings, Settings

SHANGHAI = ZoneInfo("Asia/Shanghai")
HOURS = HoursSettings()
SETTINGS = Settings()
SUMMER_WEDNESDAY = date(2025, 7, 16)
WINTER_WEDNESDAY = date(2025, 1, 15)
Sessions = async_sessionmaker[AsyncSession]


def _at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), SHANGHAI)


async def _open(sessions: Sessions, moment: datetime, settings: Settings = SETTINGS) -> bool:
    async with session_scope(sessions) as session:
        return await hours.hotline_open(session, settings, moment)


async def _set(sessions: Sessions, *overrides: DayOverride) -> None:
    async with session_scope(sessions) as session:
        await calendar_days.set_overrides(session, overrides, "test")


async def _mode(sessions: Sessions, mode: str) -> None:
    async with session_scope(sessions) as session:
        await state.set_state(session, hours.MODE_KEY, mode)


# --- the synchronous answer (no overrides) ----------------------------------------------

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
def test_office_hours_by_season(day: date, hh: int, mm: int, expected: bool) -> None:
    assert WorkingCalendar(HOURS).is_open(_at(day, hh, mm)) is expected


@pytest.mark.parametrize("day", [date(2025, 7, 19), date(2025, 7, 20), date(2025, 1, 18),
                                 date(2025, 1, 19), date(2025, 10, 1), date(2026, 2, 17)])
def test_weekends_and_holidays_are_closed(day: date) -> None:
    assert not any(WorkingCalendar(HOURS).is_open(_at(day, hh)) for hh in range(24))


def test_time_zone_00_30_utc_is_08_30_in_shanghai() -> None:
    assert WorkingCalendar(HOURS).is_open(datetime(2025, 7, 21, 0, 30, tzinfo=UTC))
    # 10:30 UTC is 18:30 in Shanghai: closed, although 10:30 would be office hours in UTC.
    assert not WorkingCalendar(HOURS).is_open(datetime(2025, 7, 21, 10, 30, tzinfo=UTC))


def test_manual_mode_overrides_the_clock() -> None:
    sunday_night = _at(date(2025, 7, 20), 3)
    wednesday_morning = _at(SUMMER_WEDNESDAY, 10)

    assert hours.MODES == ("auto", "open", "closed")
    assert WorkingCalendar(HOURS).is_open(sunday_night, "open")
    assert not WorkingCalendar(HOURS).is_open(wednesday_morning, "closed")
    assert WorkingCalendar(HOURS).is_open(wednesday_morning, "auto")
    assert not WorkingCalendar(HOURS).is_open(sunday_night, "auto")


def test_custom_season_hours() -> None:
    custom = HoursSettings(winter=("09:00-11:00",))
    assert not WorkingCalendar(custom).is_open(_at(WINTER_WEDNESDAY, 8, 30))
    assert WorkingCalendar(custom).is_open(_at(WINTER_WEDNESDAY, 10, 59))
    assert not WorkingCalendar(custom).is_open(_at(WINTER_WEDNESDAY, 15, 0))


def test_court_today_is_the_local_date() -> None:
    assert hours.court_today(SETTINGS, datetime(2026, 3, 9, 17, 0, tzinfo=UTC)) == date(2026, 3,
                                                                                         10)


# --- the async façade: database state and overrides -------------------------------------

async def test_hotline_open_follows_the_calendar(sessions: Sessions) -> None:
    assert await _open(sessions, _at(date(2026, 2, 14), 10))  # make-up Saturday
    assert not await _open(sessions, _at(date(2026, 10, 1), 10))  # National Day
    assert not await _open(sessions, _at(date(2026, 3, 11), 12, 30))  # lunch


async def test_hotline_open_follows_the_courts_overrides(sessions: Sessions) -> None:
    wednesday, sunday = date(2026, 3, 11), date(2026, 3, 15)
    await _set(sessions, DayOverride(wednesday, False, "院庆"), DayOverride(sunday, True))

    assert not await _open(sessions, _at(wednesday, 10))
    assert await _open(sessions, _at(sunday, 10))


async def test_manual_mode_from_the_database_wins(sessions: Sessions) -> None:
    national_day, wednesday = _at(date(2026, 10, 1), 10), _at(date(2026, 3, 11), 10)

    await _mode(sessions, "open")
    assert await _open(sessions, national_day)
    await _mode(sessions, "closed")
    assert not await _open(sessions, wednesday)
    await _mode(sessions, "auto")
    assert await _open(sessions, wednesday) and not await _open(sessions, national_day)


async def test_hotline_open_in_an_unknown_year_falls_back_and_warns(
        sessions: Sessions, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hours, "_warned_days", set())  # another test may have warned already
    friday, saturday = _at(date(2027, 3, 5), 10), _at(date(2027, 3, 6), 10)

    with caplog.at_level(logging.WARNING, logger="hotline.hours"):
        assert await _open(sessions, friday)
        assert not await _open(sessions, saturday)
        assert await _open(sessions, friday)

    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 2  # once per day, not once per call
    assert "2027-03-05" in warnings[0] and "import" in warnings[0]


async def test_load_calendar_reads_overrides_around_a_day(sessions: Sessions) -> None:
    around = date(2026, 6, 1)
    inside, before, after = date(2026, 5, 5), date(2026, 4, 1), date(2027, 7, 7)
    await _set(sessions, *(DayOverride(d, True) for d in (inside, before, after)))

    async with session_scope(sessions) as session:
        calendar = await hours.load_calendar(session, SETTINGS, around)

    assert set(calendar.overrides) == {inside}
    assert calendar.hours == SETTINGS.hours


async def test_calendar_warnings(sessions: Sessions) -> None:
    async with session_scope(sessions) as session:
        assert await hours.calendar_warnings(session, SETTINGS, date(2026, 6, 1)) == []
        warnings = await hours.calendar_warnings(session, SETTINGS, date(2026, 12, 1))

    assert len(warnings) == 1
    assert "2027-01-01..2027-01-29 (29 of the next 60 days)" in warnings[0]
    assert "hotline calendar import" in warnings[0]


async def test_an_imported_year_silences_the_warning(sessions: Sessions) -> None:
    async with session_scope(sessions) as session:
        await calendar_days.declare_years(session, [2027])
    async with session_scope(sessions) as session:
        assert await hours.calendar_warnings(session, SETTINGS, date(2026, 12, 1)) == []


async def test_hotline_open_uses_the_weekday_exceptions(sessions: Sessions) -> None:
    settings = dataclasses.replace(SETTINGS, hours=HoursSettings(weekday={"fri": ()}))
    friday = _at(date(2026, 3, 13), 10)

    assert await _open(sessions, friday) and not await _open(sessions, friday, settings)


async def test_open_hours_answer_from_memory_and_follow_changes(sessions: Sessions) -> None:
    """What the bridge asks before a caller's first prompt: no query, and a change of mode
    or of the calendar is seen at the next refresh (and only a change reloads)."""
    cached = hours.OpenHours(SETTINGS)
    morning = _at(SUMMER_WEDNESDAY, 10)
    async with session_scope(sessions) as session:
        assert await cached.refresh(session, morning)
        assert not await cached.refresh(session, morning)
    assert cached.is_open(morning)

    await _set(sessions, DayOverride(SUMMER_WEDNESDAY, False, "闭院"))
    assert cached.is_open(morning)  # memory, until the refresh
    async with session_scope(sessions) as session:
        assert await cached.refresh(session, morning)
    assert not cached.is_open(morning)

    async with session_scope(sessions) as session:
        await state.set_state(session, hours.MODE_KEY, "open")
    async with session_scope(sessions) as session:
        assert await cached.refresh(session, morning)
    assert cached.is_open(morning)
