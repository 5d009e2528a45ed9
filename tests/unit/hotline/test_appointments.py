"""hotline.appointments: the half-days a caller may choose, and the SMS texts a court edits
(issue 15). The department's steps are tested through the console
(tests/unit/agent_console/test_appointments.py)."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import pytest

from hotline import appointments
from hotline.appointments import HalfDay, TextsError, chosen, load_texts, offered_half_days
from hotline.calendar import WorkingCalendar
from hotline.settings import CourtSettings, HoursSettings, PathsSettings, Settings


def test_the_offer_follows_the_court_calendar_and_skips_what_it_only_guesses() -> None:
    # A court's own holiday (院庆) is skipped; 2027 is offered only once it is declared.
    calendar = WorkingCalendar(HoursSettings(), {date(2026, 12, 29): (False, "院庆")})
    offered = offered_half_days(calendar, date(2026, 12, 24))
    assert [h.day.day for h in offered[::2]] == [25, 28, 30, 31]
    declared = WorkingCalendar(HoursSettings(), {date(2026, 12, 29): (False, "院庆")},
                               declared_years={2027})
    days = [h.day for h in offered_half_days(declared, date(2026, 12, 24))[::2]]
    assert days[-1] == date(2027, 1, 1)  # the Monday-to-Friday rule of a declared year
    assert [h.half for h in offered[:2]] == ["am", "pm"]


def test_keys_name_half_days_in_the_callers_order_and_wrong_keys_are_asked_again() -> None:
    offered = offered_half_days(WorkingCalendar(HoursSettings()), date(2026, 11, 30))
    assert len(offered) == 10
    assert chosen("0", offered) == [offered[9]]          # 0 is the tenth
    assert chosen("313", offered) == [offered[2], offered[0]]
    assert chosen("", offered) is None and chosen("*", offered) is None
    assert HalfDay.parse(offered[3].code) == offered[3]
    assert offered[3].label() == "12月2日（周三）下午"


def _settings(tmp_path: Path, court: str = "") -> Settings:
    return dataclasses.replace(Settings(), paths=PathsSettings(data_dir=tmp_path),
                               court=CourtSettings(name=court))


def test_a_courts_own_texts_win_table_by_table_and_mistakes_are_named(tmp_path: Path) -> None:
    settings = _settings(tmp_path, "洛阳市中级人民法院")
    (tmp_path / appointments.OVERRIDE_NAME).write_text(
        '[messages]\nconfirmed = "【{court}】{kind}：{date}{half}，{place}。"\n'
        '[kind.video_petition]\nplace = "三楼视频接访室"\n', encoding="utf-8")
    texts = load_texts(settings)
    assert texts.default_place("video_petition") == "三楼视频接访室"
    assert "身份证件" in texts.default_bring("video_petition")  # kept from the shipped file
    assert texts.render("confirmed", "filing", court="洛阳市中级人民法院", kind="预约立案",
                        date="12月3日（周四）", half="下午", place="立案窗口") == (
        "【洛阳市中级人民法院】预约立案：12月3日（周四）下午，立案窗口。")

    (tmp_path / appointments.OVERRIDE_NAME).write_text(
        '[messages]\ncancelled = "{date}{halfday}取消"\n[kind.meet_judge]\nplace = ""\n'
        '[kind.visit]\nplace = "x"\n', encoding="utf-8")
    with pytest.raises(TextsError) as wrong:
        load_texts(settings)
    message = str(wrong.value)
    assert "appointment_sms.toml" in message
    assert "[kind.visit]: not an appointment kind" in message
    assert "[kind.meet_judge] place: required" in message
    assert "cancelled: unknown placeholder {halfday}" in message


def test_the_shipped_texts_are_valid() -> None:
    texts = load_texts()
    assert set(texts.kinds) == {"filing", "mediation", "meet_judge", "video_petition"}
