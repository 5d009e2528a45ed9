"""hotline.courts and hotline.db.courts (issue 17): a case number names its court, the
courts' list and its checks; a matter goes to a department of its court and up that court's
督办 chain (hotline.tickets, hotline.escalation), on each database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline import tickets
from hotline.access import READ, may_read_log_now, ticket_access
from hotline.courts import (
    calls_in_scope,
    case_code,
    court_of_case,
    court_of_keyed_case,
    court_scope,
    menu_keys,
    tickets_in_scope,
    valid_prefix,
)
from hotline.db import calls
from hotline.db import courts as courts_db
from hotline.db import departments as departments_db
from hotline.db.base import session_scope
from hotline.db.cases import case_by_query_code, upsert_case
from hotline.db.courts import CourtFields, CourtInvalid
from hotline.db.departments import DepartmentInvalid, save_department
from hotline.db.models import Call, CallLog, Department, Notice, Ticket, User
from hotline.db.tickets import create_ticket
from hotline.escalation import run_pass
from hotline.recording_access import Listener, may_hear_call
from hotline.roles import ADMIN, AGENT, DEPT_HANDLER, DEPT_HEAD, LEADER
from hotline.settings import Settings

Sessions = async_sessionmaker[AsyncSession]
XIGONG = CourtFields(name="洛阳市西工区人民法院", short_name="西工区法院",
                     case_prefix="豫0303", phones="0379-63211234")


@dataclass
class FakeCourt:
    id: int
    case_prefix: str
    active: bool = True
    position: int = 0


@pytest.mark.parametrize(("number", "code"), [
    ("（2026）豫0302民初123号", "豫0302"), ("(2026)豫03民终45号", "豫03"),
    ("〔2025〕 豫0303执 7号", "豫0303"), ("豫03刑初1号", "豫03"), ("（2026）豫民终1号", "豫"),
    ("2026-45", ""), ("", "")])
def test_case_code_is_the_court_code_after_the_year(number: str, code: str) -> None:
    assert case_code(number) == code


def test_a_case_is_the_court_whose_whole_code_it_carries() -> None:
    centre, basic, closed = FakeCourt(1, "豫03"), FakeCourt(2, "豫0302"), FakeCourt(3, "豫0305",
                                                                                   False)
    courts = [centre, basic, closed]

    assert court_of_case(courts, "（2026）豫0302民初1号") is basic
    assert court_of_case(courts, "（2026）豫03民终1号") is centre  # not 豫0302's beginning
    assert court_of_case(courts, "（2026）豫0305民初1号") is None  # no longer active
    assert court_of_case(courts, "（2026）豫0304民初1号") is None


def test_menu_keys_follow_the_courts_order_and_skip_inactive_ones() -> None:
    courts = [FakeCourt(1, "", position=1), FakeCourt(2, "", position=3),
              FakeCourt(3, "", position=2), FakeCourt(4, "", active=False, position=0)]

    assert {key: c.id for key, c in menu_keys(courts).items()} == {"1": 1, "2": 3, "3": 2}


def test_nine_is_never_a_courts_key() -> None:
    courts = [FakeCourt(n, "", position=n) for n in range(1, 11)]

    assert list(menu_keys(courts)) == [str(n) for n in range(1, 9)]


@pytest.mark.parametrize(("keyed", "court"), [
    ("2026030312", 2),   # （2026）豫0303民初12号: 0312 is no serial of 豫03 (a leading 0)
    ("20260312", 1),     # （2026）豫03民初12号
    ("2026031", 1), ("0303", 2), ("03", 1), ("202603", 1),
    ("2026030112", None),  # 豫0301: not a court of ours, and 0112 is no serial of 豫03
    ("2026041", None), ("", None), ("20260303*", None), ("2026", None)])
def test_a_keyed_case_number_names_the_court_its_code_digits_give(
        keyed: str, court: int | None) -> None:
    courts = [FakeCourt(1, "豫03"), FakeCourt(2, "豫0303"), FakeCourt(3, "豫0304", active=False),
              FakeCourt(4, "豫"), FakeCourt(5, "")]

    found = court_of_keyed_case(courts, keyed)

    assert (found.id if found else None) == court


def test_valid_prefix() -> None:
    assert valid_prefix("豫03") and valid_prefix("豫0302") and valid_prefix("豫")
    assert not valid_prefix("03") and not valid_prefix("豫03民") and not valid_prefix("Y03")


async def test_the_migrated_database_has_its_centre_court(sessions: Sessions) -> None:
    async with session_scope(sessions) as db:
        centre = await courts_db.centre_court(db)
        listed = await courts_db.list_courts(db)

    assert centre.id == 1 and centre.centre and centre.active
    assert [c.id for c in listed] == [1]


async def test_a_court_is_added_last_and_found_by_its_case_prefix(sessions: Sessions) -> None:
    async with session_scope(sessions) as db:
        added = await courts_db.save_court(db, XIGONG)
        found = await courts_db.court_for_case(db, "（2026）豫0303民初88号")
        missing = await courts_db.court_for_case(db, "（2026）豫0304民初88号")
        listed = [c.name for c in await courts_db.list_courts(db)]

    assert found is not None and found.id == added.id and added.position == 2
    assert missing is None and listed == ["本院", "洛阳市西工区人民法院"]


async def test_wrong_values_are_refused_by_field(sessions: Sessions) -> None:
    async with session_scope(sessions) as db:
        await courts_db.save_court(db, XIGONG)
        with pytest.raises(CourtInvalid) as taken:
            await courts_db.save_court(db, CourtFields(name="洛阳市西工区人民法院",
                                                       case_prefix="豫0303"))
        with pytest.raises(CourtInvalid) as wrong:
            await courts_db.save_court(db, CourtFields(name=" ", case_prefix="0303",
                                                       short_name="长" * 21))
        with pytest.raises(CourtInvalid) as centre:
            await courts_db.save_court(db, CourtFields(name="本院", active=False), court_id=1)

    assert taken.value.errors == {"name": "taken", "case_prefix": "taken"}
    assert wrong.value.errors == {"name": "required", "case_prefix": "bad_prefix",
                                  "short_name": "too_long"}
    assert centre.value.errors == {"active": "centre"}


async def test_changing_a_court_keeps_its_place(sessions: Sessions) -> None:
    async with session_scope(sessions) as db:
        added = await courts_db.save_court(db, XIGONG)
        changed = await courts_db.save_court(
            db, CourtFields(name="洛阳市西工区人民法院", case_prefix="豫0303", phones="110",
                            active=False), court_id=added.id)
        with pytest.raises(LookupError):
            await courts_db.save_court(db, CourtFields(name="某法院"), court_id=99)

    assert changed.position == 2 and changed.phones == "110" and not changed.active


# --- matters go to a department of their court, with that court's 督办 chain -------------

FORWARDED = datetime(2026, 2, 13, 2, 0, tzinfo=UTC)  # Fri 10:00 in Beijing
OVERDUE = datetime(2026, 2, 24, 10, 0, tzinfo=UTC)  # past its 2 working days


async def _basic_court_world(db: AsyncSession) -> dict[str, int]:
    """The centre (court 1) with an agent; 西工区 (court 2) with its department, whose
    handler, head and leader are that court's."""
    court = await courts_db.save_court(db, XIGONG)
    people = {"agent": User(username="agent", role=AGENT, password_hash="x"),
              **{name: User(username=name, role=role, password_hash="x", court_id=court.id)
                 for name, role in (("handler", DEPT_HANDLER), ("head", DEPT_HEAD),
                                    ("leader", LEADER))}}
    db.add_all(people.values())
    await db.flush()
    ids = {name: u.id for name, u in people.items()}
    department = await save_department(db, "立案庭", handler_id=ids["handler"],
                                       head_id=ids["head"], leader_id=ids["leader"],
                                       court_id=court.id)
    return {**ids, "court": court.id, "department": department.id}


def _log(owner: int, case_number: str) -> CallLog:
    return CallLog(owner_id=owner, caller_name="赵六", caller_kind="party",
                   contact="13812345678", category="contact_judge", question="约见法官",
                   outcome="forwarded", case_number=case_number)


async def test_a_matter_is_the_court_its_case_number_names(sessions: Sessions) -> None:
    async with session_scope(sessions) as db:
        ids = await _basic_court_world(db)
        logs = [_log(ids["agent"], number)
                for number in ("（2026）豫0303民初12号", "（2026）豫0399民初1号", "")]
        db.add_all(logs)
        await db.flush()
        made = [await tickets.ticket_for_call_log(db, log, now=FORWARDED) for log in logs]

    assert [t.court_id for t in made] == [ids["court"], 1, 1]  # unknown code: the centre's


async def test_forwarded_to_a_basic_courts_department_it_is_pushed_up_that_courts_chain(
        sessions: Sessions, settings: Settings) -> None:
    async with session_scope(sessions) as db:
        ids = await _basic_court_world(db)
        ticket = await create_ticket(db, "contact_judge", "13812345678", None,
                                     owner_id=ids["agent"], now=FORWARDED)
        department = await db.get(Department, ids["department"])
        assert department is not None and ticket.court_id == 1
        await tickets.forward(db, settings, ticket, department, ids["agent"], FORWARDED)
        assert ticket.court_id == ids["court"]  # forwarded there, the matter is that court's

    await run_pass(sessions, settings, OVERDUE)
    async with session_scope(sessions) as db:
        told = list((await db.execute(select(Notice.user_id).where(
            Notice.kind == "escalated"))).scalars())
    assert sorted(told) == sorted([ids["head"], ids["agent"]])  # the owner learns of it too


async def test_a_department_takes_its_people_from_its_own_court(sessions: Sessions) -> None:
    async with session_scope(sessions) as db:
        ids = await _basic_court_world(db)
        centre_head = User(username="centre_head", role=DEPT_HEAD, password_hash="x")
        db.add(centre_head)
        await db.flush()
        with pytest.raises(DepartmentInvalid) as refused:
            await save_department(db, "执行局", handler_id=ids["handler"],
                                  head_id=centre_head.id, leader_id=ids["leader"],
                                  court_id=ids["court"])
        with pytest.raises(DepartmentInvalid) as no_court:
            await save_department(db, "执行局", handler_id=ids["handler"],
                                  head_id=ids["head"], leader_id=ids["leader"], court_id=9)
        of_court = await departments_db.list_departments(db, court_id=ids["court"])

    assert refused.value.errors == {"head": "other_court"}
    assert no_court.value.errors["court"] == "no_court"
    assert [d.name for d in of_court] == ["立案庭"]


async def test_department_names_are_unique_per_court_and_a_name_means_the_matters_courts(
        sessions: Sessions, settings: Settings) -> None:
    async with session_scope(sessions) as db:
        ids = await _basic_court_world(db)
        centre = {name: User(username=f"c_{name}", role=role, password_hash="x")
                  for name, role in (("handler", DEPT_HANDLER), ("head", DEPT_HEAD),
                                     ("leader", LEADER))}
        db.add_all(centre.values())
        await db.flush()
        people: dict[str, Any] = {f"{k}_id": u.id for k, u in centre.items()}
        basic: dict[str, Any] = {f"{k}_id": ids[k] for k in ("handler", "head", "leader")}
        # the centre may have a 立案庭 too; 西工区 not a second one
        centre_filing = await save_department(db, "立案庭", **people)
        with pytest.raises(DepartmentInvalid) as taken:
            await save_department(db, "立案庭", court_id=ids["court"], **basic)
        discipline = {court: await save_department(db, settings.court.discipline_department,
                                                   court_id=court, **who)
                      for court, who in ((1, people), (ids["court"], basic))}
        named = {court: await departments_db.department_named(db, "立案庭", court)
                 for court in (1, ids["court"], None)}
        matter = await create_ticket(db, "complaint", "13812345678", None, now=FORWARDED,
                                     court_id=ids["court"])
        await tickets.make_confidential(db, settings, matter, None, now=FORWARDED)

    assert taken.value.errors == {"name": "taken"}
    assert {court: d.id if d else None for court, d in named.items()} == {
        1: centre_filing.id, ids["court"]: ids["department"], None: centre_filing.id}
    assert matter.department_id == discipline[ids["court"]].id, "the matter's court's 纪检监察"


# --- per-court views: a basic court's staff see their court's; the centre's see all ------

async def test_a_basic_courts_staff_see_only_their_courts_matters_logs_and_calls(
        sessions: Sessions) -> None:
    async with session_scope(sessions) as db:
        ids = await _basic_court_world(db)
        staff = {name: User(username=name, role=role, password_hash="x", court_id=court)
                 for name, role, court in (("centre_admin", ADMIN, 1),
                                           ("basic_admin", ADMIN, ids["court"]),
                                           ("basic_leader", LEADER, ids["court"]))}
        db.add_all(staff.values())
        for call_id in ("c-centre", "c-basic"):
            await calls.ensure_call(db, call_id, started_at=FORWARDED)
        matters = {court: await create_ticket(db, "complaint", "13812345678", f"c-{name}",
                                              now=FORWARDED, court_id=court)
                   for name, court in (("centre", 1), ("basic", ids["court"]))}
        logs = {court: _log(ids["agent"], "") for court in matters}
        for court, log in logs.items():
            log.ticket_id, log.call_id = matters[court].id, matters[court].call_id
        db.add_all(logs.values())
        await db.flush()

        async def sees(name: str, court: int) -> tuple[str | None, bool, bool]:
            user = staff[name]
            return (await ticket_access(db, user.id, user.role, matters[court]),
                    await may_read_log_now(db, user.id, user.role, logs[court]),
                    await may_hear_call(db, Listener(user.id, user.role),
                                        str(matters[court].call_id)))
        seen = {(name, court): await sees(name, court)
                for name in staff for court in (1, ids["court"])}

    basic = ids["court"]
    assert seen[("centre_admin", 1)] == seen[("centre_admin", basic)] == (READ, True, True)
    assert seen[("basic_admin", basic)] == (READ, True, True)
    assert seen[("basic_admin", 1)] == (None, False, False)
    assert seen[("basic_leader", 1)] == (None, False, False)
    assert seen[("basic_leader", basic)][1] is True  # leaders read logs, hear no calls


async def test_a_basic_courts_lists_hold_only_its_matters_and_calls(sessions: Sessions) -> None:
    async with session_scope(sessions) as db:
        ids = await _basic_court_world(db)
        for call_id in ("c-centre", "c-basic", "c-none"):
            await calls.ensure_call(db, call_id, started_at=FORWARDED)
        for name, court in (("centre", 1), ("basic", ids["court"])):
            await create_ticket(db, "complaint", "13812345678", f"c-{name}", now=FORWARDED,
                                court_id=court)
        centre_scope = await court_scope(db, ids["agent"])
        basic_scope = await court_scope(db, ids["head"])

        async def call_ids(scope: int | None) -> set[str]:
            return set((await db.execute(select(Call.id).where(
                calls_in_scope(scope, Call.id)))).scalars())
        found = {scope: (await call_ids(scope), set((await db.execute(
            select(Ticket.call_id).where(tickets_in_scope(scope)))).scalars()))
            for scope in (centre_scope, basic_scope)}

    assert centre_scope is None and basic_scope == ids["court"]
    assert found[None] == ({"c-centre", "c-basic", "c-none"}, {"c-centre", "c-basic"})
    assert found[basic_scope] == ({"c-basic"}, {"c-basic"})


async def test_an_imported_case_belongs_to_the_court_its_number_names(
        sessions: Sessions) -> None:
    async with session_scope(sessions) as db:
        court = await courts_db.save_court(db, XIGONG)
        for code, number in (("Q1", "（2026）豫0303民初5号"), ("Q2", "（2026）豫03民终5号")):
            await upsert_case(db, code, case_number=number)
        found = {code: (await case_by_query_code(db, code)) for code in ("Q1", "Q2")}

    assert {code: c.court_id for code, c in found.items() if c} == {"Q1": court.id, "Q2": 1}
