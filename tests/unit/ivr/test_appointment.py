"""ivr/modules/appointment.py: the menu file's parameters are checked at start, and the
half-day list read to the caller is made of prompts the manifest has (a missing one would
fail the call, not the start)."""

from __future__ import annotations

from datetime import date

from hotline.appointments import offered_half_days
from hotline.calendar import WorkingCalendar
from hotline.prompts import manifest
from hotline.settings import HoursSettings
from ivr.modules import appointment


def test_wrong_parameters_are_named() -> None:
    assert appointment.check({"appointment": "filing", "offer_mediation": True,
                              "closing": "appointment-sms-later"}) == []
    problems = appointment.check({"appointment": "visit", "ask_case": "yes",
                                  "closing": "no-such-prompt", "intro": "x"})
    assert problems == [
        "unknown field(s) ['intro']",
        "field 'appointment': 'visit' is not one of filing, mediation, meet_judge, "
        "video_petition",
        "field 'ask_case': must be true or false",
        "field 'closing': no prompt 'no-such-prompt' in the prompt manifest"]
    assert appointment.check({"appointment": "meet_judge", "offer_mediation": True}) == [
        "field 'offer_mediation': only a filing is offered mediation first"]


def test_the_list_is_read_day_by_day_from_prompts_the_manifest_has() -> None:
    # 2026-12-28: three working days before a year the calendar only guesses.
    offered = offered_half_days(WorkingCalendar(HoursSettings()), date(2026, 12, 28))
    words = appointment._read_out(offered)
    assert set(words) <= set(manifest())
    assert words[:10] == ["appointment-half-days", "number-10", "digit-2", "unit-month",
                          "digit-2", "number-10", "digit-9", "unit-day", "unit-morning",
                          "appointment-press"]
    assert words.count("unit-month") == 3 and words[-1] == "appointment-half-day-input"
    assert words[-4:-1] == ["unit-afternoon", "appointment-press", "digit-6"]
