"""How long the leader's dashboard takes for a month and a year of a busy centre (issue 14).

    nice .venv/bin/python bench/reports_dashboard.py --calls 2000000 --tickets 300000 \\
        [--url postgresql://postgres@127.0.0.1:5432/bench_reports]

Fills a fresh SQLite database (or --url postgresql://…, which must be empty and migrated
by the benchmark) with one year (2026) of synthetic calls — ~5 events each, as the call
tracker writes them, 60 % offered to the seats — and matters, spread evenly, then times,
in the same process:

- baseline: `SELECT count(*)` of the period's calls — the floor any answer from the
  database pays;
- per call: the figures computed over every call of the period in Python (call_figures
  over load_period, as /dashboard did before the roll-ups) — month only;
- dashboard cold: reports.dashboard() with no roll-ups yet (they are counted and kept);
- dashboard warm: reports.dashboard() again, --runs times (median and p95), for October
  and for the year;
- after a late call: one reconciled call written into October, then the month's dashboard
  (it counts that day again, and must count the call).

A provincial centre's year is 2,000,000 calls, 10,000,000 events, 300,000 matters.
Results: bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, insert, select

from hotline.db.base import make_engine, make_sessionmaker, session_scope, sync_url
from hotline.db.migrate import upgrade
from hotline.db.models import Call, CallEvent, Ticket
from hotline.settings import DatabaseSettings, Settings
from reports import Period, dashboard, load_period
from reports.calls import call_figures
from reports.matters import matter_figures

YEAR = Period.year(2026)
MONTH = Period.month(2026, 10)
TIMEZONE = "Asia/Shanghai"
BATCH = 20000


def _span(period: Period) -> tuple[datetime, int]:
    start, end = period.bounds(TIMEZONE)
    return start, int((end - start).total_seconds())


def _calls(first: int, n: int, rng: random.Random, period: Period
           ) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    calls, events = [], []
    began, seconds = _span(period)
    for i in range(first, first + n):
        start = began + timedelta(seconds=rng.randrange(seconds))
        end = start + timedelta(seconds=rng.randrange(30, 600))
        call_id = f"b{i}"
        queued = rng.random() < 0.6
        calls.append({"id": call_id, "caller_number": f"138{rng.randrange(10**8):08d}",
                      "channel": "", "started_at": start, "answered_at": start,
                      "ended_at": end, "disposition": "answered", "route":
                      "queue" if queued else "done", "menu_path": "", "source": "live",
                      "agent": ""})
        kinds = [("route", start), ("recording", start), ("hangup", end)]
        if queued:
            joined = start + timedelta(seconds=20)
            kinds.append(("queue", joined))
            if rng.random() < 0.85:
                kinds.append(("agent", joined + timedelta(seconds=rng.randrange(1, 60))))
            else:
                kinds.append(("abandon", joined + timedelta(seconds=rng.randrange(1, 90))))
        events += [{"call_id": call_id, "kind": k, "at": at, "detail": {}} for k, at in kinds]
    return calls, events


def _tickets(first: int, n: int, rng: random.Random, period: Period
             ) -> list[dict[str, object]]:
    rows = []
    began, seconds = _span(period)
    for i in range(first, first + n):
        created = began + timedelta(seconds=rng.randrange(seconds))
        forwarded = rng.random() < 0.5
        rows.append({"reference": f"B{i:09d}", "type": "consultation", "subtype": "",
                     "status": "closed", "caller_number": "", "audio_path": "", "text": "",
                     "detail": {}, "created_at": created, "escalation_level": 0,
                     "forwarded_at": created if forwarded else None,
                     "due_at": created + timedelta(days=3) if forwarded else None,
                     "answered_at": created + timedelta(days=rng.randrange(1, 5)),
                     "reply_text": ""})
    return rows


def fill(url: str, calls: int, tickets: int, period: Period = YEAR) -> int:
    """Spread over the period (a year by default), written in batches (a year's events do
    not fit in memory at once), through the same triggers as every write. Returns the
    events written."""
    rng = random.Random(14)
    began = time.perf_counter()
    engine = create_engine(sync_url(url))
    written = 0
    for first in range(0, calls, BATCH):
        call_rows, event_rows = _calls(first, min(BATCH, calls - first), rng, period)
        with engine.begin() as connection:
            connection.execute(insert(Call), call_rows)
            connection.execute(insert(CallEvent), event_rows)
        written += len(event_rows)
    for first in range(0, tickets, BATCH):
        with engine.begin() as connection:
            connection.execute(insert(Ticket),
                               _tickets(first, min(BATCH, tickets - first), rng, period))
    engine.dispose()
    print(f"filled {calls} calls, {written} events, {tickets} matters "
          f"in {time.perf_counter() - began:.0f} s", flush=True)
    return written


Work = Callable[[Any], Awaitable[object]]


async def _timed(factory: Any, work: Work, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        async with session_scope(factory) as session:
            await work(session)
        times.append(time.perf_counter() - began)
    return times


async def measure(url: str, runs: int) -> dict[str, list[float]]:
    settings = dataclasses.replace(Settings(), database=DatabaseSettings(url=url))
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    now = datetime(2026, 12, 31, tzinfo=UTC)
    start, end = MONTH.bounds(settings.hours.timezone)

    async def baseline(session: Any) -> object:
        return (await session.execute(select(func.count()).select_from(Call).where(
            Call.started_at >= start, Call.started_at < end))).scalar()

    async def per_call(session: Any) -> object:
        data = await load_period(session, settings, MONTH)
        return (call_figures(data.calls),
                matter_figures(data.calendar, data.created, data.forwarded, now))

    def board(period: Period) -> Work:
        async def work(session: Any) -> object:
            return await dashboard(session, settings, period, now)
        return work

    async def late(session: Any) -> object:
        session.add(Call(id="late-1", started_at=datetime(2026, 10, 15, 2, tzinfo=UTC),
                         ended_at=datetime(2026, 10, 15, 2, 5, tzinfo=UTC), route="queue",
                         source="reconciled"))
        return None

    results: dict[str, list[float]] = {}
    try:
        results["baseline: count(*) of the month"] = await _timed(factory, baseline, runs + 1)
        results["per call, month (before the roll-ups)"] = await _timed(factory, per_call,
                                                                         max(2, runs // 2))
        results["dashboard cold, year (roll-ups counted)"] = await _timed(
            factory, board(YEAR), 1)
        results["dashboard warm, month"] = await _timed(factory, board(MONTH), runs)
        results["dashboard warm, year"] = await _timed(factory, board(YEAR), runs)
        async with session_scope(factory) as session:
            before = (await dashboard(session, settings, MONTH, now)).calls.received
            await late(session)
        results["dashboard after a late call, month"] = await _timed(
            factory, board(MONTH), 1)
        async with session_scope(factory) as session:
            after = (await dashboard(session, settings, MONTH, now)).calls.received
        print(f"October received {before}, after the late call {after}")
        assert after == before + 1, "the late call was not counted"
    finally:
        await engine.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=2_000_000)
    parser.add_argument("--tickets", type=int, default=300_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--url", default="")
    parser.add_argument("--filled", action="store_true",
                        help="the database at --url is filled already: time it again")
    args = parser.parse_args()
    url = args.url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    if not args.filled:
        upgrade(url)
        fill(url, args.calls, args.tickets)
    results = asyncio.run(measure(url, args.runs))
    floor = statistics.median(next(iter(results.values())))
    print(f"\n{'what':44} {'median':>9} {'p95':>9} {'× baseline':>11}")
    for name, times in results.items():
        ordered = sorted(times)
        p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
        median = statistics.median(ordered)
        print(f"{name:44} {median:8.3f}s {p95:8.3f}s {median / floor:10.1f}×")


if __name__ == "__main__":
    main()
