"""Data access for departments (Art. 5(3)-(6)): each names the handler who answers the
matters forwarded to it, the head pushed when they are overdue, and the supervising leader.

Checks return error kinds per field (the console words them in Chinese):

    errors = await check_department(session, "立案庭", handler_id=3, head_id=4, leader_id=5)
    # {} when fine, e.g. {"handler": "wrong_role"} when user 3 is not a department handler
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.db.models import CENTRE_COURT_ID, Court, Department, Ticket, User
from hotline.phonenumbers import mobile_number

NAME_LIMIT = 60
# Which role each named person must have (agent_console.texts role codes).
PEOPLE = {"handler": "dept_handler", "head": "dept_head", "leader": "leader"}
CLOSED = "closed"  # a matter's status once 办结 (hotline.tickets.CLOSED)


class DepartmentInvalid(ValueError):
    """errors maps a field (name, handler, head, leader, court) to a kind: required,
    too_long, taken, no_user, wrong_role, other_court (a person of another court: a
    department's 督办 chain is its own court's, issue 17), no_court."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(", ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


async def list_departments(session: AsyncSession, active_only: bool = False,
                           court_id: int | None = None) -> list[Department]:
    """Every department (of one court when court_id is given), by name."""
    query = select(Department).order_by(Department.name)
    if active_only:
        query = query.where(Department.active.is_(True))
    if court_id is not None:
        query = query.where(Department.court_id == court_id)
    return list((await session.execute(query)).scalars())


async def department_named(session: AsyncSession, name: str, court_id: int | None,
                           active_only: bool = False) -> Department | None:
    """The department a name means for a court's matter (names are unique only within a
    court): that court's, else the centre's, else the one department of that name in any
    court; None when there is none, or several and none of them these courts'."""
    query = select(Department).where(Department.name == name)
    if active_only:
        query = query.where(Department.active)
    found = list((await session.execute(query)).scalars())
    for court in (court_id, CENTRE_COURT_ID):
        mine = [d for d in found if d.court_id == court]
        if mine:
            return mine[0]
    return found[0] if len(found) == 1 else None


async def get_department(session: AsyncSession, department_id: int) -> Department | None:
    return await session.get(Department, department_id)


async def check_department(session: AsyncSession, name: str, *, handler_id: int | None,
                           head_id: int | None, leader_id: int | None,
                           department_id: int | None = None,
                           court_id: int = CENTRE_COURT_ID) -> dict[str, str]:
    """What is wrong with these values, by field; {} when nothing."""
    errors: dict[str, str] = {}
    if not name:
        errors["name"] = "required"
    elif len(name) > NAME_LIMIT:
        errors["name"] = "too_long"
    elif await _name_taken(session, name, department_id, court_id):
        errors["name"] = "taken"
    if await session.get(Court, court_id) is None:
        errors["court"] = "no_court"
    for field, user_id in (("handler", handler_id), ("head", head_id), ("leader", leader_id)):
        if kind := await _person_error(session, field, user_id, court_id):
            errors[field] = kind
    return errors


async def _name_taken(session: AsyncSession, name: str, department_id: int | None,
                      court_id: int) -> bool:
    """Another department of the same court has the name (names are unique per court,
    migration 0023: two courts may each have a 立案庭)."""
    query = select(func.count()).select_from(Department).where(
        Department.name == name, Department.court_id == court_id)
    if department_id is not None:
        query = query.where(Department.id != department_id)
    return bool((await session.execute(query)).scalar())


async def _person_error(session: AsyncSession, field: str, user_id: int | None,
                        court_id: int) -> str:
    if user_id is None:
        return "required"
    user = await session.get(User, user_id)
    if user is None or not user.active:
        return "no_user"
    if user.role != PEOPLE[field]:
        return "wrong_role"
    return "" if user.court_id == court_id else "other_court"


async def save_department(session: AsyncSession, name: str, *, handler_id: int | None,
                          head_id: int | None, leader_id: int | None, active: bool = True,
                          department_id: int | None = None,
                          court_id: int = CENTRE_COURT_ID) -> Department:
    """Create (department_id None) or change a department of court_id; DepartmentInvalid
    when wrong, LookupError when department_id names none."""
    name = name.strip()
    errors = await check_department(session, name, handler_id=handler_id, head_id=head_id,
                                    leader_id=leader_id, department_id=department_id,
                                    court_id=court_id)
    if errors:
        raise DepartmentInvalid(errors)
    if department_id is None:
        department = Department(name=name)
        session.add(department)
    else:
        found = await session.get(Department, department_id)
        if found is None:
            raise LookupError(f"no department {department_id}")
        department = found
    department.name, department.active, department.court_id = name, active, court_id
    department.handler_id, department.head_id, department.leader_id = handler_id, head_id, leader_id
    await session.flush()
    return department


@dataclass(frozen=True)
class Matters:
    """A department's matters: the references of those not yet closed (办结), oldest first,
    and how many are closed."""

    open_references: list[tuple[int, str]]
    closed: int

    @property
    def any(self) -> bool:
        return bool(self.open_references) or self.closed > 0


class DepartmentInUse(ValueError):
    """The department has matters and cannot be deleted (deactivate it instead)."""

    def __init__(self, matters: Matters) -> None:
        super().__init__(f"{len(matters.open_references)} open, {matters.closed} closed matters")
        self.matters = matters


async def matters_of(session: AsyncSession, department_id: int) -> Matters:
    rows = (await session.execute(
        select(Ticket.id, Ticket.reference, Ticket.status)
        .where(Ticket.department_id == department_id).order_by(Ticket.id))).all()
    return Matters([(row.id, row.reference) for row in rows if row.status != CLOSED],
                   sum(1 for row in rows if row.status == CLOSED))


async def delete_department(session: AsyncSession, department_id: int) -> bool:
    """Remove a department that never received a matter; False when there was none.

    One that did is refused (DepartmentInUse), closed matters too: deleting it would leave
    its open matters with nobody to answer or be pushed (督办), and its closed ones without
    the department that answered them in the archive and the reports. Deactivating it
    (active False) stops new forwards while its matters run their course."""
    found = await session.get(Department, department_id)
    if found is None:
        return False
    matters = await matters_of(session, department_id)
    if matters.any:
        raise DepartmentInUse(matters)
    await session.delete(found)
    await session.flush()
    return True


async def departments_of(session: AsyncSession, user_id: int) -> list[Department]:
    """The departments a user serves in, as handler, head or leader."""
    query = (select(Department)
             .where((Department.handler_id == user_id) | (Department.head_id == user_id)
                    | (Department.leader_id == user_id))
             .order_by(Department.name))
    return list((await session.execute(query)).scalars())


async def set_mobile(session: AsyncSession, user_id: int, mobile: str) -> User:
    """Set the number staff notices go to by SMS ("" clears it), in normal form (11 digits);
    PhoneNumberError (a ValueError, its message Chinese) when it is not a mainland mobile,
    LookupError when no such user."""
    mobile = mobile_number(mobile) if mobile.strip() else ""
    user = await session.get(User, user_id)
    if user is None:
        raise LookupError(f"no user {user_id}")
    user.mobile = mobile
    await session.flush()
    return user
