"""Courts (issue 17): one 12368 centre answers for the intermediate court and every basic
court of the city. A court is known in its case numbers by its code — （2026）豫0302民初123
号 is a case of the court whose case prefix is 豫0302 — so a case number names its court.

    >>> case_code("（2026）豫0302民初123号")
    '豫0302'
    >>> case_code("豫03民终45号")
    '豫03'
    >>> case_code("2026-45")
    ''
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Protocol, TypeVar

# A court's code: one province character (豫, 京, ...) and its digits: 豫03 the city's
# intermediate court, 豫0302 a basic court, 豫 alone the province's high court.
PREFIX = re.compile(r"[\u4e00-\u9fff]\d{0,6}")
# The code in a case number, after the year in brackets if there is one.
_CODE = re.compile(r"^\s*(?:[（(\[〔【]\s*\d{4}\s*[）)\]〕】])?\s*([\u4e00-\u9fff]\d*)")


class CourtLike(Protocol):
    id: int
    case_prefix: str
    active: bool
    position: int


C = TypeVar("C", bound=CourtLike)


def case_code(case_number: str) -> str:
    """The court's code a case number starts with (after its year), or "" when none."""
    found = _CODE.match(case_number)
    return found.group(1) if found else ""


def valid_prefix(prefix: str) -> bool:
    """A case prefix a court may have: a province character and up to six digits."""
    return PREFIX.fullmatch(prefix) is not None


def court_of_case(courts: Iterable[C], case_number: str) -> C | None:
    """The active court whose case prefix is the case number's code, or None. The whole
    code must match: 豫0302's case is not 豫03's (the intermediate court's code is its
    basic courts' code's beginning)."""
    code = case_code(case_number)
    if not code:
        return None
    return next((c for c in courts if c.active and c.case_prefix == code), None)


def menu_keys(courts: Sequence[C]) -> dict[str, C]:
    """The voice menu's key for each active court, "1".."9" in their order (position,
    then id); more than nine courts get no key past 9 (the caller keys a case number)."""
    offered = sorted((c for c in courts if c.active), key=lambda c: (c.position, c.id))
    return {str(n): court for n, court in enumerate(offered[:9], start=1)}
