"""hotline.identity: ID number check digits and case number formats."""

from __future__ import annotations

import pytest

from hotline.identity import (
    IdNumberError,
    id_check_char,
    normalize_case_number,
    normalize_id_number,
)

VALID_ID = "11010519491231002X"


def test_the_check_character_follows_gb_11643() -> None:
    assert id_check_char("11010519491231002") == "X"
    assert id_check_char("41030319800101123") == "7"


@pytest.mark.parametrize("raw", [VALID_ID, " 11010519491231002x ", "410303198001011237"])
def test_valid_id_numbers_are_kept_in_upper_case(raw: str) -> None:
    assert normalize_id_number(raw) == raw.strip().upper()


@pytest.mark.parametrize(("raw", "reason"), [
    ("1101051949123100", "length"),          # 16 characters
    ("11010519491231002Y", "length"),        # last character not a digit or X
    ("1101051949123100XX", "length"),        # X only at the end
    ("110105194912310021", "check"),         # wrong check digit
    ("410303198013011237", "birth"),         # month 13 (check digit right)
])
def test_wrong_id_numbers_say_why(raw: str, reason: str) -> None:
    if reason == "birth":
        raw = raw[:17] + id_check_char(raw[:17])
    with pytest.raises(IdNumberError) as refused:
        normalize_id_number(raw)
    assert refused.value.reason == reason


@pytest.mark.parametrize(("raw", "normal"), [
    ("（2026）京0105民初1234号", "（2026）京0105民初1234号"),
    ("(2026)京0105民初1234号", "（2026）京0105民初1234号"),
    ("（2026） 京0105 民初 1234", "（2026）京0105民初1234号"),
    ("〔2025〕豫03民终56号", "（2025）豫03民终56号"),
    ("（2026）最高法民申123号", "（2026）最高法民申123号"),
])
def test_case_numbers_are_accepted_leniently_and_normalised(raw: str, normal: str) -> None:
    assert normalize_case_number(raw) == normal


@pytest.mark.parametrize("raw", ["garbage", "1234", "2026京0105民初1234号", "（2026）1234号",
                                 "（2026）京0105民初号", "（1026）京0105民初1234号",
                                 "（2026）京0105民初1234号DROP TABLE"])
def test_garbage_is_not_a_case_number(raw: str) -> None:
    assert normalize_case_number(raw) is None
