"""Checks of the numbers staff type about a caller: resident ID numbers (GB 11643) and
case numbers (the 案号 of the Supreme People's Court's 2015 rules).

>>> normalize_id_number(" 11010519491231002x ")
'11010519491231002X'
>>> normalize_case_number("(2026)京0105民初1234号")
'（2026）京0105民初1234号'
"""

from __future__ import annotations

import re
from datetime import date

# GB 11643-1999: weights of the first 17 digits; the sum mod 11 picks the check character.
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS = "10X98765432"
ID_LENGTH = 18

# (year) + the court's code and the case type, in Chinese and digits + a sequence + 号.
# Either kind of bracket, spaces anywhere, and a missing 号 are accepted: agents type fast.
_CASE_RE = re.compile(
    r"^[（(〔\[【]((?:19|20)\d{2})[）)〕\]】]"
    r"((?=[^\d]*[\u4e00-\u9fff])[\u4e00-\u9fff0-9A-Za-z]{1,20}?[\u4e00-\u9fff])"
    r"(\d{1,6})号?$")


class IdNumberError(ValueError):
    """Why an ID number is refused: reason is "length", "check" or "birth"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def id_check_char(first17: str) -> str:
    total = sum(int(digit) * weight for digit, weight in zip(first17, ID_WEIGHTS, strict=True))
    return ID_CHECK_CHARS[total % 11]


def normalize_id_number(raw: str) -> str:
    """The 18-character ID number in upper case; IdNumberError when it cannot be one."""
    value = raw.strip().upper()
    if len(value) != ID_LENGTH or not value[:17].isdigit() or value[17] not in "0123456789X":
        raise IdNumberError("length")
    if id_check_char(value[:17]) != value[17]:
        raise IdNumberError("check")
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise IdNumberError("birth") from None
    if born.year < 1900:
        raise IdNumberError("birth")
    return value


def normalize_case_number(raw: str) -> str | None:
    """The case number with full-width brackets, no spaces and a final 号; None when it
    does not look like a case number at all."""
    compact = re.sub(r"\s+", "", raw)
    match = _CASE_RE.match(compact)
    if match is None:
        return None
    year, court_and_type, sequence = match.groups()
    return f"（{year}）{court_and_type}{sequence}号"
