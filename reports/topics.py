"""Hot topics for 分析研判 (Art. 4(7)): the words and case numbers that recur in the
period's call logs and matters, and the callers who call again and again — each with the
records behind it (docs/metrics.md, "Hot topics").

Words come from Chinese word segmentation (jieba, its own dictionary, nothing fetched);
the court's stop words are left out: the list shipped in reports/stopwords.txt, or the
administrator's edited copy in the data folder (report-stopwords.txt).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.callid import known_number
from hotline.db.models import Call, CallEvent, CallLog, Ticket
from hotline.recording_access import REPLY_CALL_EVENT
from reports.calls import CallFacts, is_received
from reports.period import Period

DEFAULT_STOP_WORDS = Path(__file__).with_name("stopwords.txt")
STOP_WORDS_FILE = "report-stopwords.txt"  # in the data folder, once edited
# A case number as courts write it: （2026）豫03民初123号, (2025)豫0302执456号.
CASE_NUMBER = re.compile(r"[（(]\d{4}[）)][\u4e00-\u9fff]{0,2}\d{0,4}[\u4e00-\u9fff]{1,4}\d{1,6}号")
HAN = re.compile(r"^[\u4e00-\u9fff]{2,}$")
MIN_WORD = 2
TOP = 20
# Repeat callers: this many calls within this many days.
REPEAT_CALLS = 3
REPEAT_WINDOW = timedelta(days=7)


@dataclass(frozen=True)
class Text:
    """One record's words: a call log (its question and case number) or a matter's text."""

    kind: str  # call_log | ticket
    id: str  # what a drill-down links to: the call id (or log id), the ticket id
    label: str
    text: str


@dataclass
class Topic:
    term: str
    records: list[Text] = field(default_factory=list)

    @property
    def count(self) -> int:
        """How many records mention it (a record saying it twice counts once)."""
        return len(self.records)


# --- stop words ---------------------------------------------------------------------------

def stop_words_path(data_dir: Path) -> Path:
    return data_dir / STOP_WORDS_FILE


def read_stop_words_text(data_dir: Path) -> str:
    """The list as the administrator edits it: their copy, else the shipped default."""
    edited = stop_words_path(data_dir)
    return (edited if edited.is_file() else DEFAULT_STOP_WORDS).read_text(encoding="utf-8")


def parse_stop_words(text: str) -> frozenset[str]:
    return frozenset(line.strip() for line in text.splitlines()
                     if line.strip() and not line.lstrip().startswith("#"))


def stop_words(data_dir: Path) -> frozenset[str]:
    return parse_stop_words(read_stop_words_text(data_dir))


def save_stop_words(data_dir: Path, text: str) -> frozenset[str]:
    """Keep the administrator's list (written whole, then moved into place)."""
    target = stop_words_path(data_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".tmp")
    partial.write_text(text.replace("\r\n", "\n").strip() + "\n", encoding="utf-8")
    partial.replace(target)
    return parse_stop_words(text)


# --- the records ----------------------------------------------------------------------------

async def load_texts(session: AsyncSession, period: Period, timezone: str) -> list[Text]:
    """The call logs and matters created in the period, as text; complaints about the
    court's staff left out (hotline.confidential: their words are not the centre's)."""
    start, end = period.bounds(timezone)
    logs = await session.execute(
        select(CallLog.id, CallLog.call_id, CallLog.question, CallLog.case_number)
        .where(CallLog.created_at >= start, CallLog.created_at < end,
               CallLog.confidential.is_(False)).order_by(CallLog.id))
    texts = [Text("call_log", call_id or str(log_id), f"来电登记 {log_id}",
                  f"{case_number} {question}") for log_id, call_id, question, case_number in logs]
    tickets = await session.execute(
        select(Ticket.id, Ticket.reference, Ticket.text)
        .where(Ticket.created_at >= start, Ticket.created_at < end, Ticket.text != "",
               Ticket.confidential.is_(False))
        .order_by(Ticket.id))
    texts += [Text("ticket", str(t_id), f"事项 {reference}", text)
              for t_id, reference, text in tickets]
    return texts


def _segment(text: str) -> list[str]:
    import jieba  # type: ignore[import-untyped]  # 0.4 s to import and a few seconds to build its dictionary: only here

    jieba.setLogLevel(logging.WARNING)
    return list(jieba.cut(text))


def terms_of(text: str, stop: frozenset[str]) -> tuple[set[str], set[str]]:
    """(words, case numbers) a text mentions: words of two or more Chinese characters that
    are not stop words; a case number whole, never cut into words."""
    cases = {m.group(0).replace("(", "（").replace(")", "）") for m in CASE_NUMBER.finditer(text)}
    rest = CASE_NUMBER.sub(" ", text)
    words = {w for w in _segment(rest) if HAN.match(w) and w not in stop}
    return words, cases


async def hot_topics_apart(texts: Sequence[Text], stop: frozenset[str], top: int = TOP
                           ) -> tuple[list[Topic], list[Topic]]:
    """hot_topics on a worker thread. Segmenting a month's texts, and building jieba's
    dictionary the first time, take seconds of CPU: the event loop keeps serving meanwhile
    (the console's other pages, the scheduler's lock checks)."""
    return await asyncio.to_thread(hot_topics, texts, stop, top)


def hot_topics(texts: Iterable[Text], stop: frozenset[str], top: int = TOP
               ) -> tuple[list[Topic], list[Topic]]:
    """(words, case numbers) that recur — in two records or more — most records first."""
    words: dict[str, Topic] = {}
    cases: dict[str, Topic] = {}
    for record in texts:
        found_words, found_cases = terms_of(record.text, stop)
        for term in found_words:
            words.setdefault(term, Topic(term)).records.append(record)
        for term in found_cases:
            cases.setdefault(term, Topic(term)).records.append(record)
    return _top(words.values(), top), _top(cases.values(), top)


def _top(topics: Iterable[Topic], top: int) -> list[Topic]:
    recurring = [t for t in topics if t.count >= 2]
    return sorted(recurring, key=lambda t: (-t.count, t.term))[:top]


# --- repeat callers -------------------------------------------------------------------------

@dataclass(frozen=True)
class RepeatCaller:
    number: str
    calls: list[CallFacts]  # their calls in the period
    most_in_window: int  # the most calls within any 7 days


def repeat_callers(calls: Sequence[CallFacts]) -> list[RepeatCaller]:
    """Numbers that called the hotline 3 times or more within 7 days (any 7 days inside the
    period); a withheld number is every anonymous caller's, never one caller."""
    by_number: dict[str, list[CallFacts]] = {}
    for c in calls:
        if is_received(c) and known_number(c.caller_number):
            by_number.setdefault(c.caller_number, []).append(c)
    found = []
    for number, theirs in by_number.items():
        theirs.sort(key=lambda c: c.started_at)
        most = _most_within([c.started_at for c in theirs], REPEAT_WINDOW)
        if most >= REPEAT_CALLS:
            found.append(RepeatCaller(number, theirs, most))
    return sorted(found, key=lambda r: (-r.most_in_window, -len(r.calls), r.number))


async def repeat_caller_count(session: AsyncSession, period: Period, timezone: str) -> int:
    """len(repeat_callers(...)) over the period's calls, without reading them all: a
    grouped count (number, calls) names the numbers with REPEAT_CALLS calls or more in the
    period, reply calls included (so none is missed); only those numbers' received calls
    are read, and the same 7-day test applied."""
    start, end = period.bounds(timezone)
    in_period = (Call.started_at >= start, Call.started_at < end)
    numbers = [n for n in (await session.execute(
        select(Call.caller_number).where(*in_period).group_by(Call.caller_number)
        .having(func.count() >= REPEAT_CALLS))).scalars() if known_number(n)]
    moments: dict[str, list[datetime]] = {}
    for i in range(0, len(numbers), 500):
        rows = await session.execute(
            select(Call.caller_number, Call.started_at)
            .where(*in_period, Call.caller_number.in_(numbers[i:i + 500]),
                   ~exists().where(CallEvent.call_id == Call.id,
                                   CallEvent.kind == REPLY_CALL_EVENT)))
        for number, started in rows:
            moments.setdefault(number, []).append(started)
    return sum(1 for theirs in moments.values()
               if _most_within(sorted(theirs), REPEAT_WINDOW) >= REPEAT_CALLS)


def _most_within(moments: list[datetime], window: timedelta) -> int:
    """The most moments (sorted) inside any span shorter than `window`."""
    most, first = 0, 0
    for last, moment in enumerate(moments):
        while moment - moments[first] >= window:
            first += 1
        most = max(most, last - first + 1)
    return most
