"""Hot topics: the words and case numbers that recur in call logs and matters, without
the court's stop words (which the administrator edits), and repeat callers."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.db.base import session_scope
from hotline.db.models import CallLog, Ticket
from hotline.settings import Settings
from reports import Period, load_period, topics
from reports.topics import (
    Text,
    hot_topics,
    hot_topics_apart,
    load_texts,
    read_stop_words_text,
    repeat_callers,
    save_stop_words,
    stop_words,
    terms_of,
)
from tests.unit.reports import month
from tests.unit.reports.month import local

OCTOBER = Period.month(2026, 10)
DEFAULT = stop_words(Path("/nonexistent"))


def test_a_case_number_is_one_term_and_stop_words_are_left_out() -> None:
    words, cases = terms_of("您好，请问(2026)豫03民初123号案件的开庭时间怎么查询", DEFAULT)

    assert cases == {"（2026）豫03民初123号"}
    assert "开庭" in words
    assert not words & {"您好", "请问", "案件", "怎么"}
    assert all(len(w) >= 2 for w in words)


def test_terms_recurring_in_two_records_or_more_most_first() -> None:
    texts = [Text("ticket", "1", "事项 1", "立案材料怎么提交"),
             Text("ticket", "2", "事项 2", "网上立案材料的要求"),
             Text("call_log", "c-1", "来电登记 1", "立案材料，（2026）豫03执45号执行款"),
             Text("call_log", "c-2", "来电登记 2", "（2026）豫03执45号 执行款什么时候到账")]

    words, cases = hot_topics(texts, DEFAULT)

    assert [(t.term, t.count) for t in words][:2] == [("材料", 3), ("立案", 3)]
    assert ("执行款", 2) in [(t.term, t.count) for t in words]
    assert "提交" not in {t.term for t in words}  # said once: not recurring
    assert [(t.term, [r.id for r in t.records]) for t in cases] == [
        ("（2026）豫03执45号", ["c-1", "c-2"])]


async def test_the_consoles_and_reports_topics_are_segmented_off_the_event_loop(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Segmenting takes seconds of CPU (jieba's dictionary, the first time): the event loop
    of the console or the scheduler keeps its turns meanwhile."""
    texts = [Text("ticket", "1", "事项 1", "立案材料怎么提交"),
             Text("ticket", "2", "事项 2", "网上立案材料的要求")]
    segmented_on: set[threading.Thread] = set()
    segment = topics._segment

    def watched(text: str) -> list[str]:
        segmented_on.add(threading.current_thread())
        return segment(text)

    monkeypatch.setattr(topics, "_segment", watched)
    words, cases = await hot_topics_apart(texts, DEFAULT)

    assert segmented_on and threading.current_thread() not in segmented_on
    assert (words, cases) == hot_topics(texts, DEFAULT)


def test_the_administrator_edits_the_stop_words(tmp_path: Path) -> None:
    assert "立案" not in stop_words(tmp_path)
    assert "您好" in read_stop_words_text(tmp_path)

    save_stop_words(tmp_path, read_stop_words_text(tmp_path) + "\n立案\n# 注释\n")

    assert "立案" in stop_words(tmp_path) and "# 注释" not in stop_words(tmp_path)
    words, _ = terms_of("立案材料", stop_words(tmp_path))
    assert words == {"材料"}


async def test_the_periods_call_logs_and_matters_are_read(
        sessions: async_sessionmaker[AsyncSession], settings: Settings) -> None:
    async with session_scope(sessions) as session:
        people = await month.add_people(session)
        await month.add_calls(session, people)
        session.add(Ticket(reference="2610200001", type="complaint", created_at=local(20, "10:00"),
                           text="执行款迟迟未到账"))
        session.add(Ticket(reference="2611010001", type="complaint",
                           created_at=local(1, "10:00", month=11), text="执行款"))
        session.add(CallLog(call_id=None, owner_id=people.agent_a, caller_name="王五",
                            caller_kind="party", contact="1", category="consultation",
                            question="执行款什么时候到账", outcome="answered",
                            case_number="（2026）豫03执45号", created_at=local(21, "10:00")))
    async with session_scope(sessions) as session:
        texts = await load_texts(session, OCTOBER, settings.hours.timezone)

    # c-ans1's log, the new log and the October matter; not September's log nor November's
    assert sorted(t.label.split()[0] for t in texts) == ["事项", "来电登记", "来电登记"]
    words, cases = hot_topics(texts, DEFAULT)
    assert [(t.term, t.count) for t in words] == [("执行款", 2)]
    assert cases == []  # the case number was said once


@pytest.fixture
async def filled(sessions: async_sessionmaker[AsyncSession]
                 ) -> async_sessionmaker[AsyncSession]:
    async with session_scope(sessions) as session:
        await month.add_month(session)
    return sessions


async def test_repeat_callers_three_calls_within_seven_days(
        filled: async_sessionmaker[AsyncSession], settings: Settings) -> None:
    async with session_scope(filled) as session:
        data = await load_period(session, settings, OCTOBER)

    found = repeat_callers(data.calls)

    # every October call came from one number: Oct 9 09:00 to Oct 14 20:00 holds 7 of
    # them (Oct 3 10:00 and Oct 10 10:00 are 7 days apart exactly: not within 7 days)
    assert [(r.number, len(r.calls), r.most_in_window) for r in found] == [
        ("13800000000", 10, 7)]
    assert "c-reply" not in {c.id for c in found[0].calls}
