"""hotline.appointments: the half-days a caller may choose, each kind's usual place a court
edits, and the SMS texts (issue 15). The department's steps are tested through the console
(tests/unit/agent_console/test_appointments.py)."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import pytest

from hotline import appointments, caller_sms
from hotline.appointments import HalfDay, PlacesError, chosen, load_places, offered_half_days
from hotline.calendar import WorkingCalendar
from hotline.catalog import APPOINTMENT_KINDS as KINDS
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


def test_a_courts_own_places_win_key_by_key_and_mistakes_are_named(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    (tmp_path / appointments.OVERRIDE_NAME).write_text(
        '[video_petition]\nplace = "三楼视频接访室"\n', encoding="utf-8")
    places = load_places(settings)
    assert places["video_petition"].place == "三楼视频接访室"
    assert "身份证件" in places["video_petition"].bring  # kept from the shipped file
    assert places["filing"] == load_places()["filing"]

    (tmp_path / appointments.OVERRIDE_NAME).write_text(
        '[meet_judge]\nplace = ""\nroom = "1"\n[visit]\nplace = "x"\n', encoding="utf-8")
    with pytest.raises(PlacesError) as wrong:
        load_places(settings)
    message = str(wrong.value)
    assert "appointment_places.toml" in message
    assert "[visit]: not an appointment kind" in message
    assert "[meet_judge] place: required" in message and "unknown key(s) ['room']" in message


def test_the_sms_texts_name_the_slot_and_the_court(tmp_path: Path) -> None:
    texts = caller_sms.load(_settings(tmp_path, "洛阳市中级人民法院"))
    sent = texts.render(caller_sms.APPOINTMENT_CANCELLED, reference="2612010001",
                        appointment="预约立案", date="12月3日（周四）", half="下午", place="立案窗口",
                        bring="无", reason="原因：法官出差。")
    assert sent == ("【洛阳市中级人民法院】您原定12月3日（周四）下午的预约立案（受理编号"
                    "2612010001）已取消。原因：法官出差。如需重新预约，请拨打12368。")
    # With each kind's shipped place and list, a confirmation is two SMS at most.
    for kind, usual in load_places().items():
        for message in (caller_sms.APPOINTMENT_CONFIRMED, caller_sms.APPOINTMENT_RESCHEDULED):
            text = texts.render(message, reference="2612310001", appointment=KINDS[kind],
                                date="12月31日（周四）", half="下午", place=usual.place,
                                bring=usual.bring)
            assert text is not None and len(text) <= 2 * 67, (kind, message, len(text))
