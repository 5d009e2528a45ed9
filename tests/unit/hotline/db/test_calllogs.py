"""hotline.db.calllogs and hotline.db.consultations on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agent_console import accounts
from agent_console.texts import AGENT, DUTY_JUDGE
from hotline.db import calllogs, calls, consultations
from hotline.db.base import session_scope
from hotline.db.calllogs import LogFields
from hotline.db.consultations import ConsultationError

Sessions = async_sessionmaker[AsyncSession]
T0 = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
FIELDS = LogFields(caller_name="王五", caller_kind="party", contact="13812345678",
                   id_number="", case_number="（2026）豫0303民初12号", category="consultation",
                   question="上诉期限是多久？", answer="十五日。", outcome="answered")


async def _users(sessions: Sessions) -> tuple[int, int, int]:
    async with session_scope(sessions) as db:
        zhang = await accounts.add_user(db, "zhang", "secret-12368", AGENT, "张三")
        li = await accounts.add_user(db, "li", "secret-12368", AGENT, "李四")
        judge = await accounts.add_user(db, "wang", "secret-12368", DUTY_JUDGE, "王法官")
        return zhang.id, li.id, judge.id


def test_fields_refuse_unknown_kinds_and_outcomes() -> None:
    with pytest.raises(ValueError, match="caller_kind"):
        LogFields(**{**FIELDS.__dict__, "caller_kind": "robot"})
    with pytest.raises(ValueError, match="outcome"):
        LogFields(**{**FIELDS.__dict__, "outcome": "ignored"})


async def test_logs_are_owned_listed_newest_first_and_per_owner(sessions: Sessions) -> None:
    zhang, li, _ = await _users(sessions)
    async with session_scope(sessions) as db:
        await calls.ensure_call(db, "1795747054.0", caller_number="13812345678")
        first = await calllogs.create_log(db, FIELDS, zhang, "1795747054.0", T0)
        second = await calllogs.create_log(db, FIELDS, zhang, None, T0 + timedelta(minutes=5))
        other = await calllogs.create_log(db, FIELDS, li, None, T0 + timedelta(minutes=9))
    async with session_scope(sessions) as db:
        mine = await calllogs.logs_of_owner(db, zhang)
        assert [row.log.id for row in mine] == [second.id, first.id]
        assert {row.owner_name for row in mine} == {"张三"}
        assert [r.log.id for r in await calllogs.all_logs(db)] == [other.id, second.id, first.id]
        assert [r.log.id for r in await calllogs.logs_for_call(db, "1795747054.0")] == [first.id]
        row = await calllogs.log_row(db, first.id)
        assert row is not None and row.log.question == "上诉期限是多久？" and row.ticket is None


async def test_update_changes_the_fields_and_the_time(sessions: Sessions) -> None:
    zhang, _, _ = await _users(sessions)
    async with session_scope(sessions) as db:
        log = await calllogs.create_log(db, FIELDS, zhang, None, T0)
    async with session_scope(sessions) as db:
        found = await calllogs.get_log(db, log.id)
        assert found is not None
        changed = LogFields(**{**FIELDS.__dict__, "outcome": "forwarded", "answer": ""})
        await calllogs.update_log(db, found, changed, T0 + timedelta(hours=1))
    async with session_scope(sessions) as db:
        found = await calllogs.get_log(db, log.id)
        assert found is not None and found.outcome == "forwarded" and found.answer == ""
        assert found.updated_at == T0 + timedelta(hours=1) and found.created_at == T0


async def test_a_consultation_goes_to_the_judge_and_its_answer_back(sessions: Sessions) -> None:
    zhang, li, judge = await _users(sessions)
    async with session_scope(sessions) as db:
        log = await calllogs.create_log(db, FIELDS, zhang, None, T0)
        ticket = await consultations.send_consultation(db, "能否延期举证？", zhang, judge,
                                                       "13812345678", None, T0)
        await calllogs.link_ticket(db, log, ticket.id)
    assert ticket.type == "consultation" and ticket.subtype == "duty_judge"
    assert ticket.owner_id == zhang and ticket.assignee_id == judge and ticket.status == "open"
    async with session_scope(sessions) as db:
        assert [t.id for t in await consultations.consultations_for_judge(db, judge, True)] == [
            ticket.id]
        assert await consultations.consultations_of_owner(db, li) == []
        with pytest.raises(ConsultationError) as refused:
            await consultations.answer_consultation(db, ticket.id, li, "不是我的")
        assert refused.value.reason == "not_found"
        await consultations.answer_consultation(db, ticket.id, judge, "可以申请延期。", T0)
    async with session_scope(sessions) as db:
        [mine] = await consultations.consultations_of_owner(db, zhang)
        assert mine.status == "answered" and mine.detail["answer"] == "可以申请延期。"
        assert await consultations.consultations_for_judge(db, judge, open_only=True) == []
        row = await calllogs.log_row(db, log.id)
        assert row is not None and row.ticket is not None and row.ticket.status == "answered"
        with pytest.raises(ConsultationError) as twice:
            await consultations.answer_consultation(db, ticket.id, judge, "再答一次")
        assert twice.value.reason == "answered"
