"""Courts (issue 17): one 12368 centre answers for the intermediate court and every basic
court of the city. A court is known in its case numbers by its code — （2026）豫0302民初123
号 is a case of the court whose case prefix is 豫0302 — so a case number names its court.

    >>> case_code("（2026）豫0302民初123号")
    '豫0302'
    >>> case_code("豫03民终45号")
    '豫03'
    >>> case_code("2026-45")
    ''

Who sees which court's matters and calls is decided here too (court_scope), for
hotline.access and hotline.recording_access: the centre's staff see every court's, a basic
court's staff their own court's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from sqlalchemy import ColumnElement, exists, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from hotline.db.models import CallLog, Court, Ticket, User

# A court's code: one province character (豫, 京, ...) and its digits: 豫03 the city's
# intermediate court, 豫0302 a basic court, 豫 alone the province's high court.
PREFIX = re.compile(r"[\u4e00-\u9fff]\d{0,6}")
# The code in a case number, after the year in brackets if there is one.
_CODE = re.compile(r"^\s*(?:[（(\[〔【]\s*\d{4}\s*[）)\]〕】])?\s*([\u4e00-\u9fff]\d*)")


class CourtLike(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def case_prefix(self) -> str: ...
    @property
    def active(self) -> bool: ...
    @property
    def position(self) -> int: ...


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


# The voice menu's key that asks for a case number or query code instead of a court's key.
CASE_KEY = "9"
_YEAR = re.compile(r"(19|20)\d\d")


def menu_keys(courts: Sequence[C]) -> dict[str, C]:
    """The voice menu's key for each active court, "1".."8" in their order (position,
    then id); 9 is CASE_KEY, so more than eight courts get no key past 8 (their callers
    key a case number)."""
    offered = sorted((c for c in courts if c.active), key=lambda c: (c.position, c.id))
    return {str(n): court for n, court in enumerate(offered[:8], start=1)}


def court_of_keyed_case(courts: Iterable[C], keyed: str) -> C | None:
    """The active court a case number keyed on a telephone names. Only its digits can be
    keyed: （2026）豫0303民初12号 is 2026030312 — the year, the court code's digits, the
    serial — or the code's digits alone (0303). The code is read as the longest active
    court's digits the entry starts with (after a year) whose serial, if any, does not
    start with 0 (serials never do): 2026030312 is 豫0303's even where 豫03 is a court too.

        >>> class C: pass
        >>> a, b = C(), C()
        >>> a.id, a.case_prefix, a.active, a.position = 1, "豫03", True, 1
        >>> b.id, b.case_prefix, b.active, b.position = 2, "豫0303", True, 2
        >>> [court_of_keyed_case([a, b], k).id for k in ("2026030312", "20260312", "0303")]
        [2, 1, 2]
        >>> court_of_keyed_case([a, b], "2026030112") is None  # 豫0301: not ours
        True
    """
    if not keyed.isdigit():
        return None
    coded = [(c.case_prefix[1:], c) for c in courts if c.active and valid_prefix(c.case_prefix)
             and len(c.case_prefix) > 1]
    entries = [keyed[4:], keyed] if _YEAR.match(keyed) and len(keyed) > 4 else [keyed]
    for entry in entries:
        fits = [(len(digits), court) for digits, court in coded if entry.startswith(digits)
                and not entry[len(digits):].startswith("0")]
        if fits:
            return max(fits, key=lambda fit: fit[0])[1]
    return None


# --- who sees which court's matters and calls (the court's part of hotline.access) ---------

async def court_scope(session: AsyncSession, user_id: int) -> int | None:
    """The one court whose matters, logs and calls a member of staff sees, or None for
    every court: the centre's staff serve them all."""
    user = await session.get(User, user_id)
    court = await session.get(Court, user.court_id) if user is not None else None
    return None if court is None or court.centre else court.id


def in_scope(scope: int | None, court_id: int) -> bool:
    return scope is None or court_id == scope


def tickets_in_scope(scope: int | None) -> ColumnElement[bool]:
    """court_scope's rule as a condition on a SELECT of tickets (the lists)."""
    return true() if scope is None else Ticket.court_id == scope


def calls_in_scope(scope: int | None,
                   call_id: ColumnElement[str] | InstrumentedAttribute[str]
                   ) -> ColumnElement[bool]:
    """court_scope's rule on any column holding a call id (the call and recording lists): a
    basic court's staff see the calls its matters were raised on or answered by."""
    if scope is None:
        return true()
    return exists().where(Ticket.court_id == scope,
                          or_(Ticket.call_id == call_id, Ticket.answer_call_id == call_id))


def logs_in_scope(scope: int | None) -> ColumnElement[bool]:
    """court_scope's rule on a SELECT of call logs: a basic court's staff see the logs of
    its matters."""
    if scope is None:
        return true()
    return CallLog.ticket_id.in_(select(Ticket.id).where(Ticket.court_id == scope))


async def call_in_scope(session: AsyncSession, user_id: int, call_id: str) -> bool:
    """One call, by calls_in_scope's rule (a recording, a call's page)."""
    scope = await court_scope(session, user_id)
    if scope is None:
        return True
    query = select(Ticket.id).where(
        Ticket.court_id == scope, or_(Ticket.call_id == call_id,
                                      Ticket.answer_call_id == call_id)).limit(1)
    return (await session.execute(query)).first() is not None


# --- the voice menu's court choice (issue 17), held in the bridge's memory -----------------

@dataclass(frozen=True)
class MenuCourt:
    id: int
    label: str  # what the caller hears: the short name, else the name
    case_prefix: str = ""
    active: bool = True
    position: int = 0


# The courts the menu offers, as columns (no ORM objects: the bridge reads them every second).
ACTIVE = (select(Court.id, Court.short_name, Court.name, Court.case_prefix, Court.position)
           .where(Court.active).order_by(Court.position, Court.id))


class CourtBook:
    """The courts the voice menu offers, by key (menu_keys), in memory: the bridge reads
    them on its timer like the telephone directory, never while a caller listens. With
    one active court there is nothing to offer (offered() is False)."""

    def __init__(self) -> None:
        self.by_key: dict[str, MenuCourt] = {}
        # every active court, keyed or not: a case number keyed by the caller names one
        self.active: list[MenuCourt] = []
        self.loaded = False

    def offered(self) -> bool:
        return len(self.active) > 1

    def by_case(self, case_number: str) -> MenuCourt | None:
        """The court a case number (as the case source gives it) names."""
        return court_of_case(self.active, case_number)

    def by_keyed_case(self, keyed: str) -> MenuCourt | None:
        """The court a case number keyed as digits names (court_of_keyed_case)."""
        return court_of_keyed_case(self.active, keyed)

    async def refresh(self, session: AsyncSession) -> bool:
        """Reload; True when the courts offered changed (the bridge logs it)."""
        return self.load(await session.execute(ACTIVE))

    def load(self, rows: Iterable[Sequence[Any]]) -> bool:
        """The rows of ACTIVE, read by the caller; True when the courts offered changed."""
        active = [MenuCourt(id_, short_name or name, case_prefix, True, position)
                  for id_, short_name, name, case_prefix, position in rows]
        changed = not self.loaded or active != self.active
        self.by_key, self.active, self.loaded = menu_keys(active), active, True
        return changed
