"""ivr.say: numbers, dates and times as Mandarin digit and unit prompts."""

from __future__ import annotations

import datetime
import doctest

import pytest

from hotline.prompts import manifest
from ivr import say

WORD = {"digit-0": "零", "digit-1": "幺", "digit-2": "二", "digit-3": "三", "digit-4": "四",
        "digit-5": "五", "digit-6": "六", "digit-7": "七", "digit-8": "八", "digit-9": "九",
        "digit-x": "叉", "number-1": "一", "number-2-liang": "两", "number-10": "十",
        "number-100": "百", "number-1000": "千", "unit-year": "年", "unit-month": "月",
        "unit-day": "日", "unit-hour": "点", "unit-minute": "分", "unit-half": "半",
        "unit-morning": "上午", "unit-noon": "中午", "unit-afternoon": "下午",
        "unit-evening": "晚上"}


def spoken(words: list[str]) -> str:
    return "".join(WORD[w] for w in words)


def test_doctests_hold() -> None:
    assert doctest.testmod(say, extraglobs={"datetime": datetime}).failed == 0


@pytest.mark.parametrize(("n", "text"), [
    (0, "零"), (1, "一"), (2, "二"), (10, "十"), (11, "十一"), (15, "十五"), (20, "二十"),
    (21, "二十一"), (100, "一百"), (101, "一百零一"), (110, "一百一十"), (305, "三百零五"),
    (1000, "一千"), (1001, "一千零一"), (1010, "一千零一十"), (2026, "两千零二十六"),
    (9999, "九千九百九十九"),
])
def test_quantities(n: int, text: str) -> None:
    assert spoken(say.number(n)) == text


@pytest.mark.parametrize(("n", "unit", "text"), [
    (2, "分钟", "两分钟"), (12, "分钟", "十二分钟"), (20, "分钟", "二十分钟"),
    (22, "件", "二十二件"), (2, "个工作日", "两个工作日"), (2, "件", "两件"),
    (200, "件", "两百件"), (250, "件", "两百五十件"), (1200, "件", "一千二百件"),
    (2002, "件", "两千零二件"), (1, "件", "一件"), (0, "件", "零件"),
])
def test_a_count_before_a_measure_word_says_liang(n: int, unit: str, text: str) -> None:
    """Issue 18: the voice menu said 二分钟."""
    assert spoken(say.quantity(n)) + unit == text


@pytest.mark.parametrize(("n", "text"), [(2, "第二位"), (12, "第十二位"), (20, "第二十位")])
def test_an_ordinal_keeps_er(n: int, text: str) -> None:
    assert "第" + spoken(say.number(n)) + "位" == text


def test_quantity_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="0 to 9999"):
        say.number(10000)


def test_codes_read_digit_by_digit_with_yao_and_x() -> None:
    assert spoken(say.digits("12368")) == "幺二三六八"
    assert spoken(say.digits("41030319800101123X")) == "四幺零三零三幺九八零零幺零幺幺二三叉"


@pytest.mark.parametrize(("day", "text"), [
    (datetime.date(2026, 12, 3), "二零二六年十二月三日"),
    (datetime.date(2027, 1, 20), "二零二七年一月二十日"),
])
def test_dates(day: datetime.date, text: str) -> None:
    assert spoken(say.date_(day)) == text


@pytest.mark.parametrize(("moment", "text"), [
    (datetime.time(9, 0), "上午九点"), (datetime.time(9, 5), "上午九点零五分"),
    (datetime.time(12, 0), "中午十二点"), (datetime.time(14, 30), "下午两点半"),
    (datetime.time(15, 15), "下午三点十五分"), (datetime.time(19, 45), "晚上七点四十五分"),
])
def test_times(moment: datetime.time, text: str) -> None:
    assert spoken(say.time_(moment)) == text


def test_every_word_has_a_prompt() -> None:
    words = set(say.number(9999) + say.number(2026) + say.number(11) + say.digits("0123456789X"))
    words |= set(say.date_(datetime.date(2026, 12, 31)))
    for hour in range(24):
        words |= set(say.time_(datetime.time(hour, 30)) + say.time_(datetime.time(hour, 5)))
    assert words <= set(manifest())
