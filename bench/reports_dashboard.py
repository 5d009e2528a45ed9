"""How long the leader's dashboard takes for a month of a busy centre (issue 14).

    .venv/bin/python bench/reports_dashboard.py --calls 170000 --tickets 25000

Fills a fresh SQLite database (or --url postgresql://…, which must be empty) with one month
(October 2026) of synthetic calls — ~5 events each, as the call tracker writes them, 60 %
offered to the seats — and matters, then times reports.dashboard() (the month and the one
before: what /dashboard computes) warm, --runs times, and prints the median and the p95.
A provincial centre's year (2,000,000 calls, 300,000 matters) is ~170,000 calls and 25,000
matters a month. Results: bench/reports.md.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, insert

from hotline.db.base import make_engine, make_sessionmaker, session_scope, sync_url
from hotline.db.migrate import upgrade
from hotline.db.models import Call, CallEvent, Ticket
from hotline.settings import DatabaseSettings, Settings
from reports import Period, dashboard

MONTH = Period.month(2026, 10)
START = datetime(2026, 9, 30, 16, 0, tzinfo=UTC)  # Oct 1, 00:00 in Beijing
SECONDS = 31 * 86400
BATCH = 20000


def _calls(n: int, rng: random.Random) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    calls, events = [], []
    for i in range(n):
        start = START + timedelta(seconds=rng.randrange(SECONDS))
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


def _tickets(n: int, rng: random.Random) -> list[dict[str, object]]:
    rows = []
    for i in range(n):
        created = START + timedelta(seconds=rng.randrange(SECONDS))
        forwarded = rng.random() < 0.5
        rows.append({"reference": f"B{i:09d}", "type": "consultation", "subtype": "",
                     "status": "closed", "caller_number": "", "audio_path": "", "text": "",
                     "detail": {}, "created_at": created, "escalation_level": 0,
                     "forwarded_at": created if forwarded else None,
                     "due_at": created + timedelta(days=3) if forwarded else None,
                     "answered_at": created + timedelta(days=rng.randrange(1, 5)),
                     "reply_text": ""})
    return rows


def fill(url: str, calls: int, tickets: int) -> float:
    rng = random.Random(14)
    began = time.perf_counter()
    engine = create_engine(sync_url(url))
    call_rows, event_rows = _calls(calls, rng)
    with engine.begin() as connection:
        for table, rows in ((Call.__table__, call_rows), (CallEvent.__table__, event_rows),
                            (Ticket.__table__, _tickets(tickets, rng))):
            for i in range(0, len(rows), BATCH):
                connection.execute(insert(table), rows[i:i + BATCH])
    engine.dispose()
    print(f"filled {calls} calls, {len(event_rows)} events, {tickets} matters "
          f"in {time.perf_counter() - began:.0f} s")
    return time.perf_counter() - began


async def measure(url: str, runs: int) -> list[float]:
    settings = dataclasses.replace(Settings(), database=DatabaseSettings(url=url))
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    now = datetime(2026, 11, 30, tzinfo=UTC)
    times = []
    try:
        for _ in range(runs + 1):  # the first warms the caches
            began = time.perf_counter()
            async with session_scope(factory) as session:
                board = await dashboard(session, settings, MONTH, now)
            times.append(time.perf_counter() - began)
        print(f"received {board.calls.received}, answered {board.calls.answered}, "
              f"forwarded {board.matters.forwarded}")
    finally:
        await engine.dispose()
    return times[1:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=170000)
    parser.add_argument("--tickets", type=int, default=25000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--url", default="")
    args = parser.parse_args()
    url = args.url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    upgrade(url)
    fill(url, args.calls, args.tickets)
    times = sorted(asyncio.run(measure(url, args.runs)))
    p95 = times[max(0, round(0.95 * len(times)) - 1)]
    print(f"dashboard, one month: median {statistics.median(times):.2f} s, "
          f"p95 {p95:.2f} s over {len(times)} warm runs")


if __name__ == "__main__":
    main()
