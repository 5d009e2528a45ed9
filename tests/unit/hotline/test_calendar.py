"""hotline.calendar: working days (state calendar, make-up days, the court's overrides, the
Monday-to-Friday fallback), office hours, the manual mode and working-day deadlines."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from hotline.calendar import (
    MONTH_KEYS,
    SEASONS,
    DayInfo,
    WorkingCalendar,
    parse_span,
    season_month_range,
    season_of,
    staff_label,
    weekday_spans,
)
from hotline.settings import HoursSettings, Settings, SettingsError, load_settings
from pbx import office_hours_context

SHANGHAI = ZoneInfo("Asia/Shanghai")
HOURS = HoursSettings()
# Fridays close at 16:30 in both seasons; Wednesdays close at noon in summer only.
EXCEPTIONS = HoursSettings(weekday={"fri": ("08:00-12:00", "14:30-16:30"),
                                    "summer-wed": ("08:00-12:00",)})
CAL = WorkingCalendar(HOURS)


def _at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), SHANGHAI)


def _kinds(cal: WorkingCalendar, *days: date) -> list[str]:
    return [cal.day_info(day).kind for day in days]


# --- spans ------------------------------------------------------------------------------

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


# --- 2026 from the state calendar -------------------------------------------------------

@pytest.mark.parametrize("day", [date(2026, 2, 14), date(2026, 9, 20), date(2026, 2, 28),
                                 date(2026, 5, 9), date(2026, 10, 10), date(2026, 1, 4)])
def test_2026_make_up_days_are_working_days(day: date) -> None:
    info = CAL.day_info(day)

    assert day.weekday() >= 5
    assert (info.kind, info.source, info.workday) == ("makeup", "state", True)
    assert CAL.is_open(_at(day, 10))


def test_make_up_day_names_its_holiday() -> None:
    assert CAL.day_info(date(2026, 2, 14)).name == "Spring Festival"
    assert CAL.day_info(date(2026, 9, 20)).name == "National Day"


def test_national_day_week_2026_is_closed() -> None:
    week = [date(2026, 10, d) for d in range(1, 8)]

    assert set(_kinds(CAL, *week)) == {"holiday"}
    assert {CAL.day_info(d).name for d in week} == {"National Day"}
    assert not any(CAL.is_open(_at(d, hh)) for d in week for hh in range(24))
    assert CAL.is_open(_at(date(2026, 10, 8), 9))  # back to work on Thursday


def test_spring_festival_2026_is_closed() -> None:
    festival = [date(2026, 2, d) for d in range(15, 24)]  # Sun 15 .. Mon 23

    assert not any(CAL.is_workday(d) for d in festival)
    assert not any(CAL.is_open(_at(d, 10)) for d in festival)
    assert CAL.day_info(date(2026, 2, 17)) == DayInfo(date(2026, 2, 17), "holiday",
                                                      "Spring Festival", "state")
    assert CAL.is_open(_at(date(2026, 2, 24), 10))


def test_ordinary_weekend_and_weekday() -> None:
    assert _kinds(CAL, date(2026, 3, 7), date(2026, 3, 8), date(2026, 3, 9)) == [
        "weekend", "weekend", "workday"]


# --- the court's overrides --------------------------------------------------------------

def test_override_turns_a_working_day_into_a_holiday() -> None:
    wednesday = date(2026, 3, 11)
    cal = WorkingCalendar(HOURS, {wednesday: (False, "院庆")})

    assert cal.day_info(wednesday) == DayInfo(wednesday, "override-holiday", "院庆", "override")
    assert not cal.is_workday(wednesday)
    assert cal.office_spans(wednesday) == []
    assert not cal.is_open(_at(wednesday, 10))


def test_override_opens_a_sunday_with_the_season_hours() -> None:
    sunday = date(2026, 3, 15)
    cal = WorkingCalendar(EXCEPTIONS, {sunday: (True, "")})

    assert cal.day_info(sunday).kind == "override-workday"
    assert cal.office_spans(sunday) == [parse_span(s) for s in HOURS.winter]
    assert cal.is_open(_at(sunday, 14, 30))
    assert not CAL.is_open(_at(sunday, 14, 30))


def test_override_beats_the_state_calendar_both_ways() -> None:
    national_day, make_up = date(2026, 10, 2), date(2026, 10, 10)
    cal = WorkingCalendar(HOURS, {national_day: (True, "值班"), make_up: (False, "")})

    assert cal.is_open(_at(national_day, 9))
    assert not cal.is_open(_at(make_up, 9))


# --- office hours -----------------------------------------------------------------------

WINTER_WED, SUMMER_WED = date(2026, 1, 14), date(2026, 7, 15)
WINTER_FRI, SUMMER_FRI, WINTER_THU = date(2026, 1, 16), date(2026, 7, 17), date(2026, 1, 15)


@pytest.mark.parametrize(("day", "hh", "mm", "expected"), [
    (WINTER_WED, 7, 59, False),
    (WINTER_WED, 8, 0, True),
    (WINTER_WED, 11, 59, True),
    (WINTER_WED, 12, 0, False),
    (WINTER_WED, 14, 29, False),
    (WINTER_WED, 14, 30, True),
    (WINTER_WED, 17, 29, True),
    (WINTER_WED, 17, 30, False),
    (SUMMER_WED, 8, 0, True),
    (SUMMER_WED, 12, 0, False),
    (SUMMER_WED, 14, 30, False),
    (SUMMER_WED, 15, 0, True),
    (SUMMER_WED, 17, 59, True),
    (SUMMER_WED, 18, 0, False),
])
def test_office_hour_edges(day: date, hh: int, mm: int, expected: bool) -> None:
    assert CAL.is_open(_at(day, hh, mm)) is expected


@pytest.mark.parametrize(("day", "hh", "mm", "expected"), [
    (WINTER_FRI, 16, 29, True),
    (WINTER_FRI, 16, 30, False),
    (WINTER_THU, 16, 30, True),    # the exception is Friday's alone
    (SUMMER_FRI, 16, 29, True),    # "fri" holds in both seasons
    (SUMMER_FRI, 17, 0, False),
    (SUMMER_WED, 15, 0, False),    # "summer-wed": mornings only in summer ...
    (WINTER_WED, 15, 0, True),     # ... and the normal day in winter
])
def test_weekday_exceptions(day: date, hh: int, mm: int, expected: bool) -> None:
    assert WorkingCalendar(EXCEPTIONS).is_open(_at(day, hh, mm)) is expected


def test_season_specific_exception_beats_the_all_year_one() -> None:
    hours = HoursSettings(weekday={"fri": ("09:00-10:00",), "summer-fri": ()})

    assert weekday_spans(hours, "summer", 4) == ()
    assert weekday_spans(hours, "winter", 4) == ("09:00-10:00",)
    assert weekday_spans(hours, "winter", 3) == HOURS.winter


def test_empty_exception_closes_the_weekday_but_it_stays_a_working_day() -> None:
    cal = WorkingCalendar(HoursSettings(weekday={"fri": ()}))

    assert cal.is_workday(WINTER_FRI) and cal.office_spans(WINTER_FRI) == []
    # Deadlines still end when the season's office day ends.
    assert cal.closing_time(WINTER_FRI) == time(17, 30)


def test_make_up_saturday_uses_the_season_default_not_fridays_exception() -> None:
    cal = WorkingCalendar(EXCEPTIONS)

    assert cal.office_spans(date(2026, 2, 14)) == [parse_span(s) for s in HOURS.winter]
    assert cal.office_spans(date(2026, 9, 20)) == [parse_span(s) for s in HOURS.summer]


def test_season_and_day_follow_the_court_time_zone() -> None:
    # Thu 2026-04-30 23:30 UTC is Fri 1 May 07:30 in Shanghai: Labour Day, closed all day.
    assert not CAL.is_open(datetime(2026, 4, 30, 23, 30, tzinfo=UTC))
    # Mon 2026-07-20 00:30 UTC is 08:30 in Shanghai; 10:30 UTC is 18:30 there (summer close).
    assert CAL.is_open(datetime(2026, 7, 20, 0, 30, tzinfo=UTC))
    assert not CAL.is_open(datetime(2026, 7, 20, 10, 30, tzinfo=UTC))
    # Sun 2026-07-19 23:30 UTC is Monday 07:30 in Shanghai: still before opening.
    assert not CAL.is_open(datetime(2026, 7, 19, 23, 30, tzinfo=UTC))


def test_other_time_zone() -> None:
    urumqi = WorkingCalendar(HoursSettings(timezone="Asia/Urumqi"))  # UTC+6
    monday_01_30_utc = datetime(2026, 7, 20, 1, 30, tzinfo=UTC)  # 07:30 Urumqi, 09:30 Shanghai

    assert not urumqi.is_open(monday_01_30_utc) and CAL.is_open(monday_01_30_utc)


def test_manual_mode_overrides_the_calendar() -> None:
    national_day_night = _at(date(2026, 10, 3), 3)
    wednesday_morning = _at(WINTER_WED, 10)

    assert CAL.is_open(national_day_night, "open")
    assert not CAL.is_open(wednesday_morning, "closed")
    assert CAL.is_open(wednesday_morning, "auto")
    assert not CAL.is_open(national_day_night, "auto")


def test_next_opening() -> None:
    # Wed 2026-09-30 after hours → the holidays → Thu 2026-10-08 08:00 (winter hours).
    assert CAL.next_opening(_at(date(2026, 9, 30), 18)) == _at(date(2026, 10, 8), 8)
    # at lunch: the afternoon; inside hours: right now
    assert CAL.next_opening(_at(WINTER_WED, 12, 10)) == _at(WINTER_WED, 14, 30)
    assert CAL.next_opening(_at(WINTER_WED, 9, 15)) == _at(WINTER_WED, 9, 15)
    assert CAL.next_opening(_at(WINTER_WED, 9)).tzinfo == UTC
    never = WorkingCalendar(HoursSettings(summer=(), winter=()))
    assert never.next_opening(_at(WINTER_WED, 9)) is None


# --- a year without data ----------------------------------------------------------------

def test_2027_falls_back_to_monday_to_friday_without_raising() -> None:
    friday, saturday = date(2027, 1, 8), date(2027, 1, 9)

    assert CAL.day_info(friday) == DayInfo(friday, "workday", "", "fallback")
    assert CAL.day_info(saturday) == DayInfo(saturday, "weekend", "", "fallback")
    assert CAL.is_open(_at(friday, 10)) and not CAL.is_open(_at(saturday, 10))
    assert CAL.add_working_days(friday, 1) == date(2027, 1, 11)


def test_coverage_gaps_list_the_unknown_days() -> None:
    gaps = CAL.coverage_gaps(date(2026, 12, 1), days=60)

    assert gaps[0] == date(2027, 1, 1) and gaps[-1] == date(2027, 1, 29)
    assert len(gaps) == 29
    assert CAL.coverage_gaps(date(2026, 3, 1)) == []


def test_overrides_and_declared_years_close_the_gaps() -> None:
    one_day = WorkingCalendar(HOURS, {date(2027, 1, 1): (False, "元旦")})
    declared = WorkingCalendar(HOURS, declared_years={2027})

    assert date(2027, 1, 1) not in one_day.coverage_gaps(date(2026, 12, 31), 3)
    assert one_day.coverage_gaps(date(2026, 12, 31), 3) == [date(2027, 1, 2)]
    assert declared.coverage_gaps(date(2026, 12, 1), 60) == []
    assert declared.day_info(date(2027, 1, 9)).source == "state"


# --- deadlines (Art. 5(6)) --------------------------------------------------------------

def test_deadline_over_the_spring_festival_make_up_day() -> None:
    # Forwarded Fri 13 Feb 10:00: day 1 is Sat 14 (make-up), day 2 is Tue 24 (after the
    # festival) → due at the winter closing, 17:30 Shanghai.
    forwarded = _at(date(2026, 2, 13), 10)

    assert CAL.add_working_days(date(2026, 2, 13), 1) == date(2026, 2, 14)
    assert CAL.add_working_days(date(2026, 2, 13), 2) == date(2026, 2, 24)
    due = CAL.deadline(forwarded, 2)
    assert due == _at(date(2026, 2, 24), 17, 30)
    assert due.tzinfo == UTC and due == datetime(2026, 2, 24, 9, 30, tzinfo=UTC)


def test_deadline_of_a_matter_forwarded_on_a_holiday() -> None:
    # Sun 4 Oct (National Day): days 1 and 2 are Thu 8 and Fri 9.
    assert CAL.deadline(_at(date(2026, 10, 4), 15), 2) == _at(date(2026, 10, 9), 17, 30)


def test_deadline_across_national_day() -> None:
    # Tue 29 Sep: day 1 Wed 30 Sep, day 2 Thu 8 Oct; escalation 2 more days: Sat 10 (make-up).
    forwarded = _at(date(2026, 9, 29), 16)

    assert CAL.deadline(forwarded, 2) == _at(date(2026, 10, 8), 17, 30)
    assert CAL.deadline(forwarded, 4) == _at(date(2026, 10, 10), 17, 30)


def test_deadline_closes_with_the_season_and_weekday_hours() -> None:
    # Thu 17 Sep (summer): due Fri 18 Sep — Friday's exception closes at 16:30.
    cal = WorkingCalendar(EXCEPTIONS)
    assert cal.deadline(_at(date(2026, 9, 17), 9), 1) == _at(date(2026, 9, 18), 16, 30)
    assert CAL.deadline(_at(date(2026, 9, 17), 9), 1) == _at(date(2026, 9, 18), 18)


def test_deadline_counts_from_the_court_day_of_forwarding() -> None:
    # 17:00 UTC on Mon 9 Mar is 01:00 Tue 10 Mar in Shanghai: Tuesday is not counted.
    assert CAL.deadline(datetime(2026, 3, 9, 17, 0, tzinfo=UTC), 1) == _at(date(2026, 3, 11),
                                                                           17, 30)


def test_an_override_moves_the_deadline() -> None:
    monday = date(2026, 3, 9)
    closure = WorkingCalendar(HOURS, {date(2026, 3, 10): (False, "停电")})
    saturday_worked = WorkingCalendar(HOURS, {date(2026, 3, 7): (True, "")})

    assert CAL.add_working_days(monday, 2) == date(2026, 3, 11)
    assert closure.add_working_days(monday, 2) == date(2026, 3, 12)
    assert saturday_worked.add_working_days(date(2026, 3, 6), 1) == date(2026, 3, 7)


def test_add_working_days_edge_cases() -> None:
    assert CAL.add_working_days(date(2026, 10, 3), 0) == date(2026, 10, 3)
    with pytest.raises(ValueError, match="negative"):
        CAL.add_working_days(date(2026, 10, 3), -1)


# --- what staff read --------------------------------------------------------------------

def test_month_table_october_2026() -> None:
    table = CAL.month_table(2026, 10)
    rows = {line[:5]: line for line in table.splitlines() if line[:2] == "10"}

    assert len(rows) == 31
    assert "节假日(国庆节)" in rows["10-01"] and rows["10-01"].endswith("—")
    assert "节假日(国庆节)" in rows["10-07"]
    assert "调休上班(国庆节)" in rows["10-10"] and "08:00-12:00 14:30-17:30" in rows["10-10"]
    assert "工作日" in rows["10-08"] and "08:00-12:00 14:30-17:30" in rows["10-08"]
    assert "休息日" in rows["10-11"]
    assert "图例" in table and "2026年10月" in table


def test_month_table_marks_guesses_and_overrides() -> None:
    cal = WorkingCalendar(HOURS, {date(2027, 1, 1): (False, "元旦")})
    table = cal.month_table(2027, 1)

    assert "01-01  周五  节假日(元旦)*" in table
    assert "01-04  周一  工作日[推定]" in table


@pytest.mark.parametrize(("info", "label"), [
    (DayInfo(date(2026, 3, 7), "override-workday", "", "override"), "调休上班*"),
    (DayInfo(date(2026, 3, 9), "override-holiday", "", "override"), "节假日*"),
    (DayInfo(date(2026, 3, 8), "override-holiday", "", "override"), "休息日*"),
    (DayInfo(date(2026, 2, 14), "makeup", "Spring Festival", "state"), "调休上班(春节)"),
])
def test_staff_labels(info: DayInfo, label: str) -> None:
    assert staff_label(info) == label


# --- weekday exceptions elsewhere: the settings check and the fallback dialplan ---------

@pytest.mark.parametrize(("table", "message"), [
    ('weekday = { friday = ["08:00-12:00"] }', r"\[hours\] weekday: unknown key 'friday'"),
    ('weekday = { autumn-fri = [] }', r"unknown key 'autumn-fri'"),
    ('weekday = { summer-fri = ["8-12"] }', r"\[hours\] weekday\.summer-fri: '8-12'"),
    ('weekday = { fri = ["12:00-08:00"] }', r"weekday\.fri: '12:00-08:00'"),
])
def test_settings_refuse_bad_weekday_exceptions(tmp_path: Path, table: str,
                                                message: str) -> None:
    config = tmp_path / "hotline.toml"
    config.write_text(f"[hours]\n{table}\n", encoding="utf-8")

    with pytest.raises(SettingsError, match=message):
        load_settings(env={}, config_path=config)


def test_settings_accept_weekday_exceptions(tmp_path: Path) -> None:
    config = tmp_path / "hotline.toml"
    config.write_text('[hours]\nweekday = { fri = ["08:00-12:00"], winter-mon = [] }\n',
                      encoding="utf-8")

    hours = load_settings(env={}, config_path=config).hours
    assert hours.weekday == {"fri": ("08:00-12:00",), "winter-mon": ()}


def test_fallback_dialplan_honours_weekday_exceptions() -> None:
    settings = dataclasses.replace(Settings(), hours=EXCEPTIONS)
    checks = [line.strip() for line in office_hours_context(settings) if "GotoIfTime" in line]

    assert checks == [
        "same => n,GotoIfTime(08:00-11:59,mon-tue,*,may-sep,Asia/Shanghai?open)",
        "same => n,GotoIfTime(15:00-17:59,mon-tue,*,may-sep,Asia/Shanghai?open)",
        "same => n,GotoIfTime(08:00-11:59,wed,*,may-sep,Asia/Shanghai?open)",
        "same => n,GotoIfTime(08:00-11:59,thu,*,may-sep,Asia/Shanghai?open)",
        "same => n,GotoIfTime(15:00-17:59,thu,*,may-sep,Asia/Shanghai?open)",
        "same => n,GotoIfTime(08:00-11:59,fri,*,may-sep,Asia/Shanghai?open)",
        "same => n,GotoIfTime(14:30-16:29,fri,*,may-sep,Asia/Shanghai?open)",
        "same => n,GotoIfTime(08:00-11:59,mon-thu,*,oct-apr,Asia/Shanghai?open)",
        "same => n,GotoIfTime(14:30-17:29,mon-thu,*,oct-apr,Asia/Shanghai?open)",
        "same => n,GotoIfTime(08:00-11:59,fri,*,oct-apr,Asia/Shanghai?open)",
        "same => n,GotoIfTime(14:30-16:29,fri,*,oct-apr,Asia/Shanghai?open)",
    ]


def test_fallback_dialplan_leaves_out_a_closed_weekday() -> None:
    settings = dataclasses.replace(Settings(), hours=HoursSettings(weekday={"mon": ()}))
    checks = [line for line in office_hours_context(settings) if "GotoIfTime" in line]

    assert all(",tue-fri,*," in line for line in checks) and len(checks) == 4


@pytest.mark.parametrize(("day", "season"), [
    (date(2026, 4, 30), "winter"), (date(2026, 5, 1), "summer"),
    (date(2026, 9, 30), "summer"), (date(2026, 10, 1), "winter"),
    (date(2026, 1, 15), "winter"), (date(2026, 12, 31), "winter"),
])
def test_season_of_a_day(day: date, season: str) -> None:
    assert season_of(day) == season


def test_the_dialplans_season_months_are_the_calendars() -> None:
    assert [season_month_range(s) for s in SEASONS] == ["may-sep", "oct-apr"]
    # Every month in exactly one season, the same one both ways.
    for month, key in enumerate(MONTH_KEYS, start=1):
        named = [s for s in SEASONS if _in_range(key, season_month_range(s))]
        assert named == [season_of(date(2026, month, 1))], key


def _in_range(key: str, months: str) -> bool:
    first, last = (MONTH_KEYS.index(m) for m in months.split("-"))
    spans = range(first, last + 1) if first <= last else [*range(first, 12), *range(last + 1)]
    return MONTH_KEYS.index(key) in spans
