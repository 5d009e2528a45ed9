"""Data access for courts (issue 17): the list the centre answers for, in its order, and
checks that return error kinds per field (the console words them in Chinese):

    errors = await check_court(session, CourtFields(name="洛阳市西工区人民法院",
                                                    case_prefix="豫0303"))
    # {} when fine, e.g. {"case_prefix": "taken"} when another court has that code
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from hotline.courts import court_of_case, valid_prefix
from hotline.db.models import CENTRE_COURT_ID, Court, Department, User

# The columns' lengths (models.Court).
LIMITS = {"name": 60, "short_name": 20, "case_prefix": 20, "phones": 200}


@dataclass(frozen=True)
class CourtFields:
    """What an administrator sets of a court."""

    name: str
    short_name: str = ""
    case_prefix: str = ""
    phones: str = ""
    position: int = 0
    active: bool = True

    def stripped(self) -> CourtFields:
        return CourtFields(self.name.strip(), self.short_name.strip(),
                           self.case_prefix.strip(), self.phones.strip(), self.position,
                           self.active)


class CourtInvalid(ValueError):
    """errors maps a field (name, short_name, case_prefix, phones, active, court) to a
    kind: required, too_long, taken, bad_prefix, centre, serves_other_court."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(", ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class NoSuchCourt(LookupError):
    """A court number that names no court."""


async def list_courts(session: AsyncSession, active_only: bool = False) -> list[Court]:
    """The courts in their order (position, then id)."""
    query = select(Court).order_by(Court.position, Court.id)
    if active_only:
        query = query.where(Court.active.is_(True))
    return list((await session.execute(query)).scalars())


async def get_court(session: AsyncSession, court_id: int) -> Court | None:
    return await session.get(Court, court_id)


async def centre_court(session: AsyncSession) -> Court:
    """The centre's own court: the one flagged centre (court 1 from migration 0018)."""
    found = (await session.execute(
        select(Court).where(Court.centre.is_(True)).order_by(Court.id).limit(1))).scalar()
    if found is None:  # nobody unflags the last centre (check_court), but be sure
        found = await session.get(Court, CENTRE_COURT_ID)
    if found is None:
        raise LookupError("no courts: run `hotline db upgrade`")
    return found


async def court_for_case(session: AsyncSession, case_number: str) -> Court | None:
    """The active court a case number's code names (hotline.courts.court_of_case)."""
    return court_of_case(await list_courts(session, active_only=True), case_number)


async def check_court(session: AsyncSession, fields: CourtFields,
                      court_id: int | None = None) -> dict[str, str]:
    """What is wrong with these values, by field; {} when nothing."""
    errors: dict[str, str] = {}
    for field, limit in LIMITS.items():
        if len(getattr(fields, field)) > limit:
            errors[field] = "too_long"
    if not fields.name:
        errors["name"] = "required"
    if "name" not in errors and await _taken(session, Court.name, fields.name, court_id):
        errors["name"] = "taken"
    if fields.case_prefix and "case_prefix" not in errors:
        if not valid_prefix(fields.case_prefix):
            errors["case_prefix"] = "bad_prefix"
        elif await _taken(session, Court.case_prefix, fields.case_prefix, court_id):
            errors["case_prefix"] = "taken"
    if not fields.active and court_id is not None and await _is_centre(session, court_id):
        errors["active"] = "centre"
    return errors


async def _taken(session: AsyncSession, column: InstrumentedAttribute[str], value: str,
                 court_id: int | None) -> bool:
    query = select(func.count()).select_from(Court).where(column == value)
    if court_id is not None:
        query = query.where(Court.id != court_id)
    return bool((await session.execute(query)).scalar())


async def _is_centre(session: AsyncSession, court_id: int) -> bool:
    court = await session.get(Court, court_id)
    return court is not None and court.centre


async def save_court(session: AsyncSession, fields: CourtFields,
                     court_id: int | None = None) -> Court:
    """Create (court_id None) or change a court; CourtInvalid when wrong, LookupError when
    court_id names none. A new court goes last unless given a position."""
    fields = fields.stripped()
    errors = await check_court(session, fields, court_id)
    if errors:
        raise CourtInvalid(errors)
    if court_id is None:
        court = Court(name=fields.name, centre=False)
        session.add(court)
    else:
        found = await session.get(Court, court_id)
        if found is None:
            raise LookupError(f"no court {court_id}")
        court = found
    court.name, court.short_name = fields.name, fields.short_name
    court.case_prefix, court.phones, court.active = fields.case_prefix, fields.phones, fields.active
    court.position = fields.position or court.position or await _next_position(session)
    await session.flush()
    return court


async def _next_position(session: AsyncSession) -> int:
    return int((await session.execute(select(func.max(Court.position)))).scalar() or 0) + 1


def court_label(court: Court) -> str:
    """How staff pages name a court in lists: its short name, else its name."""
    return court.short_name or court.name


async def staff_counts(session: AsyncSession) -> dict[int, int]:
    """How many active users each court has."""
    rows = await session.execute(select(User.court_id, func.count())
                                 .where(User.active.is_(True)).group_by(User.court_id))
    return {court_id: count for court_id, count in rows}


async def assign_user(session: AsyncSession, username: str, court_id: int) -> User:
    """Make a member of staff a court's: they see that court's matters (a basic court's
    only, hotline.courts.court_scope). LookupError when the user or the court is unknown;
    CourtInvalid when they serve a department of another court (its 督办 chain is its own
    court's staff: hotline.db.departments)."""
    user = (await session.execute(select(User).where(User.username == username))).scalar()
    if user is None:
        raise LookupError(f"no user {username!r}")
    if await session.get(Court, court_id) is None:
        raise NoSuchCourt(f"no court {court_id}")
    serves = select(func.count()).select_from(Department).where(
        Department.court_id != court_id,
        or_(Department.handler_id == user.id, Department.head_id == user.id,
            Department.leader_id == user.id))
    if (await session.execute(serves)).scalar():
        raise CourtInvalid({"court": "serves_other_court"})
    user.court_id = court_id
    await session.flush()
    return user
