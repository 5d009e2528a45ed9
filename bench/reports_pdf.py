"""How long the monthly analysis report's PDF takes for a month of a busy centre (issue 14
asks < 10 s).

    nice .venv/bin/python bench/reports_pdf.py --filled --url sqlite:////tmp/…/bench.db
    PYTHONPATH=. .venv/bin/python bench/reports_pdf.py --calls 170000 --tickets 25000

Fills a fresh SQLite database (or --url postgresql://…, which must be empty) with the same
synthetic calls as bench/reports_dashboard.py, all in October (or times the October of a
year bench/reports_dashboard.py filled: --filled), then, in the same process, --runs times
warm (the first run, not timed, counts the roll-ups a fresh fill lacks):

- baseline: `SELECT count(*)` of October's calls, what any answer from the database pays;
- full read: what the report paid before it stopped reading the month's calls one by one —
  load_period, the seats' rows, the scorecard, the repeat callers and the daily chart from
  it — whose figures must equal the report's (the run fails if not);
- figures: reports.pdf.monthly_report, as /reports/monthly.pdf makes them;
- layout: the PDF (WeasyPrint).

Each with this process's CPU time: on a shared machine the wall clock says more about the
others. Results: bench/reports.md.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).parent))
from reports_dashboard import MONTH, fill
from sqlalchemy import func, select

from hotline.db.base import make_engine, make_sessionmaker, session_scope
from hotline.db.migrate import upgrade
from hotline.db.models import Call
from hotline.settings import DatabaseSettings, PathsSettings, Settings
from reports import (
    ADMIN_SCOPE,
    agent_rows,
    agent_table,
    department_rows,
    department_table,
    load_period,
    repeat_callers,
)
from reports.calls import is_answered, is_received
from reports.pdf import MonthlyReport, monthly_report, pdf_bytes

Timing = tuple[float, float]  # wall, this process's CPU


async def _timed(work: Callable[[], Awaitable[Any]]) -> tuple[Any, Timing]:
    began, cpu = time.perf_counter(), time.process_time()
    result = await work()
    return result, (time.perf_counter() - began, time.process_time() - cpu)


async def full_read(session: Any, settings: Settings, now: datetime) -> tuple[Any, ...]:
    """The report's seats, scorecard, repeat callers and daily chart as it made them before
    (before commit 3afce6b): from every call of the month, read by load_period."""
    data = await load_period(session, settings, MONTH)
    zone = ZoneInfo(settings.hours.timezone)
    days = [MONTH.first + timedelta(days=i) for i in range(MONTH.days)]
    counts = {d: [0, 0] for d in days}
    for c in data.calls:
        day = c.started_at.astimezone(zone).date()
        if day in counts and is_received(c):
            counts[day][0] += 1
            counts[day][1] += is_answered(c)
    return ([department_table(await department_rows(session, data, ADMIN_SCOPE, now), MONTH),
             agent_table(await agent_rows(session, data, ADMIN_SCOPE), MONTH)],
            len(repeat_callers(data.calls)), [(f"{d.day}日", *counts[d]) for d in days])


def _same(report: MonthlyReport, before: tuple[Any, ...]) -> None:
    tables, repeats, daily = before
    if (report.tables[2:4], report.repeats, report.daily) != (tables, repeats, daily):
        raise SystemExit("the report's figures differ from the full read's")


async def measure(url: str, runs: int, data_dir: Path) -> dict[str, list[Timing]]:
    settings = dataclasses.replace(Settings(), database=DatabaseSettings(url=url),
                                   paths=PathsSettings(data_dir))
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    now = datetime(2026, 11, 30, tzinfo=UTC)
    start, end = MONTH.bounds(settings.hours.timezone)
    times: dict[str, list[Timing]] = {"baseline": [], "full read (before)": [],
                                      "figures": [], "layout": []}
    try:
        for run in range(runs + 1):  # the first counts the roll-ups and warms the caches
            async with session_scope(sessions) as session:
                n, baseline = await _timed(lambda: session.scalar(
                    select(func.count()).select_from(Call)
                    .where(Call.started_at >= start, Call.started_at < end)))
                report, figures = await _timed(
                    lambda: monthly_report(session, settings, MONTH, now))
                before, full = await _timed(lambda: full_read(session, settings, now))
            _same(report, before)
            document, layout = await _timed(lambda: asyncio.to_thread(pdf_bytes, report))  # noqa: B023
            if run:
                for name, timing in zip(times, (baseline, full, figures, layout), strict=True):
                    times[name].append(timing)
            print(f"run {run}: {n} calls, figures {figures[0]:.2f} s, layout {layout[0]:.2f} s, "
                  f"full read {full[0]:.2f} s", flush=True)
        print(f"received {report.calls.received}, answered {report.calls.answered}, "
              f"forwarded {report.matters.forwarded}, repeat callers {report.repeats}; "
              f"{len(document) // 1024} KiB; the same figures as the full read")
    finally:
        await engine.dispose()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=170000)
    parser.add_argument("--tickets", type=int, default=25000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--url", default="")
    parser.add_argument("--filled", action="store_true",
                        help="--url already holds the month (a run before filled it)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    url = args.url or f"sqlite:///{folder / 'bench.db'}"
    if not args.filled:
        upgrade(url)
        fill(url, args.calls, args.tickets, MONTH)
    times = asyncio.run(measure(url, args.runs, folder))
    times["total (figures + layout)"] = [
        (f[0] + lay[0], f[1] + lay[1]) for f, lay in zip(times["figures"], times["layout"],
                                                         strict=True)]
    print(f"\n{'what':28} {'median':>9} {'max':>9} {'CPU median':>11}")
    for name, values in times.items():
        walls = [w for w, _ in values]
        print(f"{name:28} {statistics.median(walls):8.2f}s {max(walls):8.2f}s "
              f"{statistics.median(c for _, c in values):10.2f}s")

if __name__ == "__main__":
    main()
