"""Numbers, dates and times in Mandarin, as sequences of prompt ids (digit and unit words
from hotline/resources/prompts_zh.toml), so they play from recorded files.

>>> digits("12368")
['digit-1', 'digit-2', 'digit-3', 'digit-6', 'digit-8']
>>> number(2026)
['number-2-liang', 'number-1000', 'digit-0', 'digit-2', 'number-10', 'digit-6']
>>> number(15)
['number-10', 'digit-5']
>>> number(2), quantity(2), quantity(200)
(['digit-2'], ['number-2-liang'], ['number-2-liang', 'number-100'])
>>> " ".join(date_(datetime.date(2026, 12, 3)))
'digit-2 digit-0 digit-2 digit-6 unit-year number-10 digit-2 unit-month digit-3 unit-day'
>>> time_(datetime.time(14, 30))
['unit-afternoon', 'number-2-liang', 'unit-hour', 'unit-half']
"""

from __future__ import annotations

import datetime

_DIGIT = {str(n): f"digit-{n}" for n in range(10)}
_UNITS = ((1000, "number-1000"), (100, "number-100"), (10, "number-10"))


def digits(text: str) -> list[str]:
    """A code read digit by digit, 1 as 幺 the way Chinese read phone numbers; X as 叉."""
    return [_DIGIT[ch] if ch.isdigit() else "digit-x" for ch in text if ch.isdigit() or ch in "Xx"]


def _quantity_digit(n: int) -> str:
    return "number-1" if n == 1 else _DIGIT[str(n)]


def number(n: int) -> list[str]:
    """A number from 0 to 9999 said by itself, as an ordinal after 第 (第二位) or in a date
    (二月): 二, 十五, 一百零五, 两千零二十六. A count before a measure word is quantity()."""
    if not 0 <= n <= 9999:
        raise ValueError(f"cannot say {n}: 0 to 9999 only")
    if n == 0:
        return ["digit-0"]
    if 10 <= n < 20:  # 十, 十五: the leading 一 is not said
        return ["number-10"] + ([_quantity_digit(n - 10)] if n > 10 else [])
    return _big(n)


def _big(n: int) -> list[str]:
    words: list[str] = []
    zero_pending = False
    for value, unit in _UNITS:
        count, n = divmod(n, value)
        if count:
            if zero_pending:
                words.append("digit-0")
            words += [_count_word(count, value), unit]
            zero_pending = False
        elif words:
            zero_pending = True
    if n:
        words += (["digit-0"] if zero_pending or (words and words[-1] != "number-10") else [])
        words.append(_quantity_digit(n))
    return words


def quantity(n: int) -> list[str]:
    """A count before a measure word (两分钟, 两个工作日, 两件, 两百件): a leading 2 alone or
    before 百 or 千 is 两; in tens and ones it stays 二 (十二分钟, 二十二件)."""
    words = number(n)
    if words[0] == "digit-2" and (len(words) == 1 or words[1] in {"number-100", "number-1000"}):
        words[0] = "number-2-liang"
    return words


def _count_word(count: int, value: int) -> str:
    if count == 1:
        return "number-1"
    return "number-2-liang" if count == 2 and value == 1000 else _DIGIT[str(count)]


def date_(day: datetime.date) -> list[str]:
    """二〇二六年十二月三日: the year digit by digit, month and day as quantities."""
    year = [_DIGIT[ch] for ch in str(day.year)]
    return [*year, "unit-year", *number(day.month), "unit-month", *number(day.day), "unit-day"]


def time_(moment: datetime.time) -> list[str]:
    """上午九点, 下午两点半, 下午三点十五分: twelve-hour clock with the part of the day."""
    hour = moment.hour % 12 or 12
    # 点 is a measure word: 两点, 十二点
    words = [_part_of_day(moment.hour), *quantity(hour), "unit-hour"]
    if moment.minute == 30:
        return [*words, "unit-half"]
    if moment.minute:
        words += [*(["digit-0"] if moment.minute < 10 else []), *number(moment.minute),
                  "unit-minute"]
    return words


def _part_of_day(hour: int) -> str:
    if hour < 12:
        return "unit-morning"
    if hour < 13:
        return "unit-noon"
    return "unit-afternoon" if hour < 18 else "unit-evening"
