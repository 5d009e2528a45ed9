"""Data access for the case aggregate: cases as the case-flow system exported them, their
parties' ID numbers and phones, and the wrong query codes that lock a caller out."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from hotline.db import courts as courts_db
from hotline.db.base import utcnow
from hotline.db.models import Case, CaseParty, QueryFailure


async def case_by_query_code(session: AsyncSession, query_code: str) -> Case | None:
    query = (select(Case).where(Case.query_code == query_code)
             .options(selectinload(Case.parties)))
    return (await session.execute(query)).scalar_one_or_none()


async def cases_by_id_number(session: AsyncSession, id_number: str) -> list[Case]:
    """Every case the person is a party to, the most recently added first."""
    query = (select(Case).join(CaseParty).where(CaseParty.id_number == id_number)
             .order_by(Case.id.desc()).options(selectinload(Case.parties)))
    return list((await session.execute(query)).scalars().unique())


async def upsert_case(session: AsyncSession, query_code: str, *, case_number: str,
                      stage: str = "", department: str = "", judge: str = "",
                      next_hearing: datetime | None = None,
                      party_id_numbers: Iterable[str] = (),
                      party_phones: Mapping[str, str] | None = None) -> bool:
    """Create or overwrite the case with this query code, replacing its parties.

    party_phones: the phone on file of each party, by ID number. The case belongs to the
    court its number's code names (hotline.courts). Returns True when the
    case is new. The export is the truth: a party missing from it is no longer on the case.
    """
    # the court the case number's code names (issue 17), else the centre's; read first,
    # before the case changes (a query autoflushes it)
    court_id = (await courts_db.court_for_case(session, case_number)
                or await courts_db.centre_court(session)).id
    case = await case_by_query_code(session, query_code)
    created = case is None
    if case is None:
        case = Case(query_code=query_code)
        session.add(case)
    case.case_number, case.stage, case.department = case_number, stage, department
    case.court_id = court_id
    case.judge, case.next_hearing = judge, next_hearing
    phones = party_phones or {}
    case.parties = [CaseParty(id_number=number, phone=phones.get(number, ""))
                    for number in dict.fromkeys(party_id_numbers)]
    await session.flush()
    return created


async def count_failures(session: AsyncSession, caller_number: str, since: datetime) -> int:
    query = (select(func.count()).select_from(QueryFailure)
             .where(QueryFailure.caller_number == caller_number, QueryFailure.at >= since))
    return int((await session.execute(query)).scalar_one())


async def failures_since(session: AsyncSession, since: datetime,
                         until: datetime) -> tuple[int, int]:
    """Wrong codes from every number in [since, until]: (how many, from how many numbers)."""
    query = (select(func.count(), func.count(QueryFailure.caller_number.distinct()))
             .where(QueryFailure.at >= since, QueryFailure.at <= until))
    count, numbers = (await session.execute(query)).one()
    return int(count), int(numbers)


async def failure_times(session: AsyncSession, caller_number: str,
                        since: datetime) -> list[datetime]:
    """When this number keyed a wrong code, oldest first: the lock-out is computed from it."""
    query = (select(QueryFailure.at)
             .where(QueryFailure.caller_number == caller_number, QueryFailure.at >= since)
             .order_by(QueryFailure.at))
    return list((await session.execute(query)).scalars())


async def failures_by_number(session: AsyncSession,
                             since: datetime) -> dict[str, list[datetime]]:
    """Every number's wrong codes since `since`, oldest first (the bridge's lock-out)."""
    query = (select(QueryFailure.caller_number, QueryFailure.at)
             .where(QueryFailure.at >= since).order_by(QueryFailure.at))
    found: dict[str, list[datetime]] = {}
    for number, at in (await session.execute(query)).all():
        found.setdefault(number, []).append(at)
    return found


async def add_failure(session: AsyncSession, caller_number: str,
                      at: datetime | None = None) -> None:
    session.add(QueryFailure(caller_number=caller_number, at=at or utcnow()))
    await session.flush()


async def clear_failures(session: AsyncSession, caller_number: str) -> None:
    """Forget a number's wrong codes once it has keyed a right one."""
    await session.execute(delete(QueryFailure).where(QueryFailure.caller_number == caller_number))
