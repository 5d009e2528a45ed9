"""hotline.phonenumbers: the shapes people type, and what each refusal says."""

from __future__ import annotations

import doctest

import pytest

from hotline import phonenumbers
from hotline.phonenumbers import (
    PhoneNumberError,
    contact_number,
    is_mobile,
    mobile_number,
    parse_phone,
)


def test_the_examples_in_the_docstring_hold() -> None:
    assert doctest.testmod(phonenumbers).failed == 0


@pytest.mark.parametrize(("typed", "kind", "normal"), [
    ("13812345678", "mobile", "13812345678"),
    (" 138 1234 5678 ", "mobile", "13812345678"),
    ("138-1234-5678", "mobile", "13812345678"),
    ("+86 138 1234 5678", "mobile", "13812345678"),
    ("+86-13812345678", "mobile", "13812345678"),
    ("0086 13812345678", "mobile", "13812345678"),
    ("8613812345678", "mobile", "13812345678"),
    ("(+86)19912345678", "mobile", "19912345678"),
    ("013812345678", "mobile", "13812345678"),
    ("１３８１２３４５６７８", "mobile", "13812345678"),
    ("0379-65110002", "fixed", "037965110002"),
    ("(0379)65110002", "fixed", "037965110002"),
    ("（0379）6511 0002", "fixed", "037965110002"),
    ("0379 6511 0002", "fixed", "037965110002"),
    ("037965110002", "fixed", "037965110002"),
    ("0931-8123456", "fixed", "09318123456"),
    ("010-65123456", "fixed", "01065123456"),
    ("021 6234 5678", "fixed", "02162345678"),
    ("+86 10 6512 3456", "fixed", "01065123456"),
    ("+86 (0)379 6511 0002", "fixed", "037965110002"),
    ("0086-379-65110002", "fixed", "037965110002"),
    ("0379-65110002-808", "fixed", "037965110002-808"),
    ("0379-65110002转808", "fixed", "037965110002-808"),
    ("0379-65110002 转 808", "fixed", "037965110002-808"),
    ("0379-65110002分机808", "fixed", "037965110002-808"),
    ("0379-65110002 ext. 808", "fixed", "037965110002-808"),
    ("0379-65110002 EXT808", "fixed", "037965110002-808"),
    ("0379-65110002x808", "fixed", "037965110002-808"),
    ("0379-65110002#808", "fixed", "037965110002-808"),
    ("0379-6511-0002", "fixed", "037965110002"),
    ("010-6512-3456", "fixed", "01065123456"),
    ("0931-812-3456", "fixed", "09318123456"),
    ("95588", "service", "95588"),
    ("955 88", "service", "95588"),
    ("96166", "service", "96166"),
    ("12368", "service", "12368"),
    ("12345", "service", "12345"),
    ("400-810-8888", "service", "4008108888"),
    ("400 810 8888", "service", "4008108888"),
    ("800-810-8888", "service", "8008108888"),
])
def test_accepted_shapes(typed: str, kind: str, normal: str) -> None:
    found = parse_phone(typed)
    assert (found.kind, str(found)) == (kind, normal)
    assert contact_number(typed) == normal


@pytest.mark.parametrize(("typed", "reason", "says"), [
    ("", "empty", "请填写"),
    ("   ", "empty", "请填写"),
    ("1381234567", "mobile_length", "手机号码应为11位，现为10位"),
    ("138123456789", "mobile_length", "现为12位"),
    ("138123456789012", "mobile_length", "现为15位"),
    ("12812345678", "mobile_prefix", "13至19"),
    ("10012345678", "mobile_prefix", "13至19"),
    ("65110002", "area_code", "请加区号"),
    ("6511002", "area_code", "请加区号"),
    ("010-6512345", "fixed_length", "区号010后的号码应为8位，现为7位"),
    ("021-623456789", "fixed_length", "应为8位"),
    ("0379-651100", "fixed_length", "应为7或8位，现为6位"),
    ("0379-651100023", "fixed_length", "应为7或8位，现为9位"),
    ("0379-05110002", "fixed_local", "不能以0开头"),
    ("010-12345678", "fixed_local", "不能以1开头"),
    ("0012345678", "country", "中国大陆"),
    ("+852 9123 4567", "country", "中国大陆"),
    ("+1 202 555 0100", "country", "中国大陆"),
    ("138abc45678", "characters", "只能包含数字"),
    ("电话13812345678", "characters", "只能包含数字"),
    ("13812345678转8", "extension", "手机号码不能带分机号"),
    ("95588转1", "extension", "服务号码不能带分机号"),
    ("0379-65110002转1234567", "extension", "1至6位"),
    ("0379-65110002转abc", "extension", "1至6位"),
    ("123", "mobile_length", "现为3位"),
    ("88888", "unknown", "无法识别"),
    ("9", "unknown", "无法识别"),
])
def test_refusals_say_what_is_wrong_in_chinese(typed: str, reason: str, says: str) -> None:
    with pytest.raises(PhoneNumberError) as refused:
        parse_phone(typed)
    assert refused.value.reason == reason
    assert says in str(refused.value)
    assert isinstance(refused.value, ValueError)


@pytest.mark.parametrize("typed", ["0379-65110002", "95588", "400-810-8888", "12368",
                                   "0379-65110002转808"])
def test_sms_goes_to_mobiles_only(typed: str) -> None:
    with pytest.raises(PhoneNumberError, match="短信只能发到手机号码") as refused:
        mobile_number(typed)
    assert refused.value.reason == "not_mobile"


def test_a_mobile_for_sms_in_every_shape_is_eleven_digits() -> None:
    for typed in ("+86 138 1234 5678", "013812345678", "138-1234-5678", "0086 13812345678"):
        assert mobile_number(typed) == "13812345678"


def test_a_mobile_refusal_is_the_same_for_sms_and_contact() -> None:
    for check in (mobile_number, contact_number):
        with pytest.raises(PhoneNumberError, match="现为10位"):
            check("1381234567")


def test_is_mobile_reads_the_normal_form() -> None:
    assert is_mobile("13812345678")
    assert not is_mobile("037965110002")
    assert not is_mobile("1381234567")
    assert not is_mobile("037965110002-808")


# --- the caller's number as carriers send it (issue 16) -----------------------------------

@pytest.mark.parametrize(("sent", "kept"), [
    ("+8613812345678", "13812345678"),
    ("008613812345678", "13812345678"),
    ("8613812345678", "13812345678"),
    ("013812345678", "13812345678"),
    ("13812345678", "13812345678"),
    ("+86 138-1234-5678", "13812345678"),
    ("+86037965110002", "037965110002"),
    ("+8637965110002", "037965110002"),
    ("0086 379 6511 0002", "037965110002"),
    ("037965110002", "037965110002"),
    ("37965110002", "037965110002"),   # area code without its 0
    ("1065123456", "01065123456"),     # Beijing without its 0
    ("12368", "12368"),
    ("8001", "8001"),                  # a desk phone
    ("+14155550100", "+14155550100"),  # abroad: kept, with its +
    ("001 415 555 0100", "+14155550100"),
    ("1381234567", "1381234567"),      # not a number we know: kept as digits
    ("anonymous", "anonymous"),
    ("<unknown>", "<unknown>"),
    ("", ""),
])
def test_a_caller_number_is_kept_in_one_form(sent: str, kept: str) -> None:
    assert phonenumbers.caller_number(sent) == kept
