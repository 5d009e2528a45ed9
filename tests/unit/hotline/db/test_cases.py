"""hotline.db.cases on SQLite and PostgreSQL: cases with their parties, query failures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.db import cases
from hotline.db.base import session_scope
from hotline.db.models import CaseParty

Sessions = async_sessionmaker[AsyncSession]
T0 = datetime(2026, 11, 27, 1, 30, tzinfo=UTC)
ALICE, BOB, CAROL = "410399198001010018", "41039919751212002X", "410399199006150030"


async def _upsert(sessions: Sessions, code: str, parties: tuple[str, ...] = (ALICE,),
                  case_number: str = "", stage: str = "", judge: str = "",
                  next_hearing: datetime | None = None) -> bool:
    async with session_scope(sessions) as session:
        return await cases.upsert_case(
            session, code, case_number=case_number or f"（2026）豫03民初{code[-4:]}号",
            stage=stage, judge=judge, next_hearing=next_hearing, party_id_numbers=parties)


async def test_upsert_creates_then_overwrites_replacing_parties(sessions: Sessions) -> None:
    assert await _upsert(sessions, "20260001", (ALICE, BOB), stage="审理中", judge="张明",
                         next_hearing=T0) is True
    assert await _upsert(sessions, "20260001", (CAROL,), stage="已结案",
                         case_number="（2026）豫03民初1号") is False

    async with session_scope(sessions) as session:
        case = await cases.case_by_query_code(session, "20260001")
        parties = (await session.execute(select(func.count()).select_from(CaseParty))).scalar()
    assert case is not None
    assert (case.case_number, case.stage, case.judge, case.next_hearing) == (
        "（2026）豫03民初1号", "已结案", "", None)
    assert [p.id_number for p in case.parties] == [CAROL]
    assert parties == 1, "the replaced parties are deleted, not left orphaned"


async def test_upsert_keeps_each_party_once(sessions: Sessions) -> None:
    await _upsert(sessions, "20260001", (ALICE, BOB, ALICE))

    async with session_scope(sessions) as session:
        case = await cases.case_by_query_code(session, "20260001")
    assert case is not None and [p.id_number for p in case.parties] == [ALICE, BOB]


async def test_next_hearing_comes_back_utc_aware(sessions: Sessions) -> None:
    await _upsert(sessions, "20260001", next_hearing=T0)

    async with session_scope(sessions) as session:
        case = await cases.case_by_query_code(session, "20260001")
    assert case is not None and case.next_hearing == T0
    assert case.next_hearing.tzinfo is not None


async def test_unknown_query_code_gives_none(sessions: Sessions) -> None:
    await _upsert(sessions, "20260001")
    async with session_scope(sessions) as session:
        assert await cases.case_by_query_code(session, "20260002") is None


async def test_by_id_number_lists_newest_first_with_parties(sessions: Sessions) -> None:
    await _upsert(sessions, "20260001", (ALICE,))
    await _upsert(sessions, "20260002", (BOB,))
    await _upsert(sessions, "20260003", (BOB, ALICE))

    async with session_scope(sessions) as session:
        found = await cases.cases_by_id_number(session, ALICE)
        nobody = await cases.cases_by_id_number(session, CAROL)
    assert [c.query_code for c in found] == ["20260003", "20260001"]
    assert [p.id_number for p in found[0].parties] == [BOB, ALICE]
    assert nobody == []


async def test_failures_count_since_a_time_per_number(sessions: Sessions) -> None:
    async with session_scope(sessions) as session:
        for minutes in (0, 10, 20):
            await cases.add_failure(session, "13812345678", T0 + timedelta(minutes=minutes))
        await cases.add_failure(session, "13900000000", T0 + timedelta(minutes=20))

    async with session_scope(sessions) as session:
        assert await cases.count_failures(session, "13812345678", T0) == 3
        assert await cases.count_failures(session, "13812345678", T0 + timedelta(minutes=10)) == 2
        assert await cases.count_failures(session, "13812345678", T0 + timedelta(hours=1)) == 0
        assert await cases.failure_times(session, "13812345678", T0 + timedelta(minutes=5)) == [
            T0 + timedelta(minutes=10), T0 + timedelta(minutes=20)]


async def test_add_failure_without_time_uses_now(sessions: Sessions) -> None:
    before = datetime.now(UTC)
    async with session_scope(sessions) as session:
        await cases.add_failure(session, "13812345678")

    async with session_scope(sessions) as session:
        times = await cases.failure_times(session, "13812345678", before - timedelta(seconds=1))
    assert len(times) == 1 and before <= times[0] <= datetime.now(UTC)


async def test_clear_failures_forgets_only_that_number(sessions: Sessions) -> None:
    async with session_scope(sessions) as session:
        await cases.add_failure(session, "13812345678", T0)
        await cases.add_failure(session, "13900000000", T0)
    async with session_scope(sessions) as session:
        await cases.clear_failures(session, "13812345678")

    async with session_scope(sessions) as session:
        assert await cases.count_failures(session, "13812345678", T0) == 0
        assert await cases.count_failures(session, "13900000000", T0) == 1
