"""hotline.access: who may act on or read a ticket, and who owns or reads a call log, on
each database. The console's tests check the same rules through pages and API."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.access import ACT, READ, may_read_log, owns_log, ticket_access
from hotline.db.base import session_scope
from hotline.db.models import CallLog, Department, Ticket, User
from hotline.roles import ADMIN, AGENT, DEPT_HANDLER, DEPT_HEAD, DUTY_JUDGE, LEADER
from hotline.tickets import JUDGE_SUBTYPE

Sessions = async_sessionmaker[AsyncSession]
PEOPLE = {"agent": AGENT, "agent2": AGENT, "handler": DEPT_HANDLER, "assignee": DEPT_HANDLER,
          "handler2": DEPT_HANDLER, "head": DEPT_HEAD, "head2": DEPT_HEAD, "leader": LEADER,
          "admin": ADMIN, "judge": DUTY_JUDGE}


@dataclass
class World:
    ids: dict[str, int]
    tickets: dict[str, int]


async def _world(sessions: Sessions) -> World:
    async with session_scope(sessions) as db:
        users = {name: User(username=name, role=role, password_hash="x")
                 for name, role in PEOPLE.items()}
        db.add_all(users.values())
        await db.flush()
        ids = {name: u.id for name, u in users.items()}
        mine = Department(name="立案庭", handler_id=ids["handler"], head_id=ids["head"],
                          leader_id=ids["leader"])
        other = Department(name="执行局", handler_id=ids["handler2"], head_id=ids["head2"])
        db.add_all([mine, other])
        await db.flush()
        made = {
            "owned": Ticket(reference="T1", type="complaint", owner_id=ids["agent"],
                            department_id=mine.id),
            "assigned": Ticket(reference="T2", type="complaint", owner_id=ids["agent"],
                               assignee_id=ids["assignee"], department_id=other.id),
            "untaken": Ticket(reference="T3", type="callback"),
            "judge": Ticket(reference="T4", type="consultation", subtype=JUDGE_SUBTYPE,
                            owner_id=ids["agent"]),
        }
        db.add_all(made.values())
        await db.flush()
        return World(ids, {name: t.id for name, t in made.items()})


CASES = [
    ("agent", "owned", ACT), ("agent2", "owned", None), ("agent2", "untaken", READ),
    ("handler", "owned", ACT), ("handler2", "owned", None),
    # the assignee acts whatever department the ticket sits in
    ("assignee", "assigned", ACT), ("handler", "assigned", None), ("handler2", "assigned", ACT),
    ("head", "owned", READ), ("leader", "owned", READ), ("head2", "owned", None),
    ("head2", "assigned", READ), ("admin", "owned", READ), ("admin", "untaken", READ),
    ("judge", "owned", None), ("handler", "untaken", None),
    # a question to the duty judge is its agent's alone, even for an administrator
    ("agent", "judge", ACT), ("agent2", "judge", None), ("admin", "judge", None),
]


async def test_ticket_access(sessions: Sessions) -> None:
    world = await _world(sessions)
    async with session_scope(sessions) as db:
        got = []
        for who, which, _expected in CASES:
            ticket = await db.get(Ticket, world.tickets[which])
            assert ticket is not None
            got.append(await ticket_access(db, world.ids[who], PEOPLE[who], ticket))
    assert got == [expected for _who, _which, expected in CASES]


@pytest.mark.parametrize(("user_id", "role", "owns", "reads"), [
    (1, AGENT, True, True), (2, AGENT, False, False), (3, LEADER, False, True),
    (4, ADMIN, False, True), (1, ADMIN, False, True),  # an owner no longer an agent
    (5, DEPT_HEAD, False, False), (6, DEPT_HANDLER, False, False),
])
def test_call_log_owner_and_readers(user_id: int, role: str, owns: bool, reads: bool) -> None:
    log = CallLog(owner_id=1)
    assert (owns_log(user_id, role, log), may_read_log(user_id, role, log)) == (owns, reads)
