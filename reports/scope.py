"""Who sees which figures (Art. 10; docs/metrics.md, "Who sees what"):

- administrators: the centre's dashboard, every department, every agent;
- leaders (分管院领导): the centre's dashboard and every agent, the departments they
  supervise (Department.leader_id);
- department heads: their own departments (Department.head_id) and nothing else;
- agents: their own seat's figures and nothing else;
- everyone else (handlers, duty judges): nothing.

Courts (issue 17): a basic court's staff are held to their court (hotline.courts.court_scope):
its departments, its staff's seats, its matters; the centre's leaders and administrators
see every court's figures or pick one (report_court).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from hotline.courts import court_scope
from hotline.db.models import Department, User
from hotline.roles import ADMIN, AGENT, DEPT_HEAD, LEADER


@dataclass(frozen=True)
class Scope:
    centre: bool  # the centre-wide dashboard (calls, matters, hot topics)
    departments: frozenset[int] | None  # the scorecard rows; None: every department
    agents: frozenset[int] | None  # the seats rows; None: every agent
    court: int | None = None  # the one court a basic court's staff see; None: any

    def sees_department(self, department_id: int | None) -> bool:
        return department_id is not None and (self.departments is None
                                              or department_id in self.departments)

    def sees_agent(self, user_id: int | None) -> bool:
        return user_id is not None and (self.agents is None or user_id in self.agents)

    @property
    def anything(self) -> bool:
        return self.centre or self.departments != frozenset() or self.agents != frozenset()


NOTHING = Scope(False, frozenset(), frozenset())


def report_court(scope: Scope, wanted: int | None) -> int | None:
    """The court a report is cut by: a basic court's staff always their own; the centre's
    staff the court they chose (None: every court, the centre's figures)."""
    return scope.court if scope.court is not None else wanted


async def scope_of(session: AsyncSession, user_id: int, role: str) -> Scope:
    """What a member of staff may see by role, held to their court if it is a basic one."""
    scope = await _role_scope(session, user_id, role)
    court = await court_scope(session, user_id)
    if court is None or scope == NOTHING:
        return scope
    return Scope(scope.centre,
                 _within(scope.departments, await _ids(session, Department.id,
                                                       Department.court_id, court)),
                 _within(scope.agents, await _ids(session, User.id, User.court_id, court)),
                 court)


def _within(seen: frozenset[int] | None, court_ids: frozenset[int]) -> frozenset[int]:
    return court_ids if seen is None else seen & court_ids


async def _ids(session: AsyncSession, id_column: InstrumentedAttribute[int],
               court_column: InstrumentedAttribute[int], court: int) -> frozenset[int]:
    return frozenset((await session.execute(select(id_column).where(court_column == court))
                      ).scalars())


async def _role_scope(session: AsyncSession, user_id: int, role: str) -> Scope:
    if role == ADMIN:
        return Scope(True, None, None)
    if role == LEADER:
        return Scope(True, await _departments(session, Department.leader_id, user_id), None)
    if role == DEPT_HEAD:
        return Scope(False, await _departments(session, Department.head_id, user_id),
                     frozenset())
    if role == AGENT:
        return Scope(False, frozenset(), frozenset({user_id}))
    return NOTHING


async def _departments(session: AsyncSession, column: InstrumentedAttribute[int | None],
                       user_id: int) -> frozenset[int]:
    rows = await session.execute(select(Department.id).where(column == user_id))
    return frozenset(rows.scalars())
