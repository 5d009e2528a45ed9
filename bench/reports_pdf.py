"""How long the monthly analysis report's PDF takes for a month of a busy centre (issue 14
asks < 10 s).

    PYTHONPATH=. .venv/bin/python bench/reports_pdf.py --calls 170000 --tickets 25000

Fills a fresh SQLite database (or --url postgresql://…, which must be empty) with the same
synthetic calls as bench/reports_dashboard.py, all in October (or times the October of a
year bench/reports_dashboard.py filled: --filled), then makes the PDF --runs times warm, as
/reports/monthly.pdf does: the figures (reports.pdf.monthly_report: the printable page's
tables, hot topics, repeat callers, the charts' series) and the layout (WeasyPrint), each
timed, with this process's CPU time (on a shared machine the wall clock says more about
the others).

Measured 2026-11-30 on the 2-core development machine (load average 5–8 from other work),
170,000 calls / 714,624 events / 25,000 matters, 3 warm runs, median:

    SQLite      figures 7.42 s, layout 0.34 s, total 7.77 s (max 12.5 s); CPU 6.7 s
    PostgreSQL  figures 8.18 s, layout 0.23 s, total 8.57 s (max 8.7 s);  CPU 5.8 s

Under the issue's 10 s; nearly all of it is reading and counting the month's calls
(reports.figures.load_period), which the dashboard's work on SQL counts or roll-ups speeds
up for the PDF too. A month of 20,000 calls: 1.4 s (CPU 1.0 s).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from reports_dashboard import MONTH, fill

from hotline.db.base import make_engine, make_sessionmaker, session_scope
from hotline.db.migrate import upgrade
from hotline.settings import DatabaseSettings, PathsSettings, Settings
from reports.pdf import monthly_report, pdf_bytes


async def measure(url: str, runs: int, data_dir: Path) -> list[tuple[float, float, float]]:
    settings = dataclasses.replace(Settings(), database=DatabaseSettings(url=url),
                                   paths=PathsSettings(data_dir))
    engine = make_engine(url)
    now = datetime(2026, 11, 30, tzinfo=UTC)
    times = []
    try:
        for _ in range(runs + 1):  # the first warms the caches
            began, cpu = time.perf_counter(), time.process_time()
            async with session_scope(make_sessionmaker(engine)) as session:
                report = await monthly_report(session, settings, MONTH, now)
            figured = time.perf_counter()
            document = pdf_bytes(report)
            # CPU time too: on a shared machine the wall clock says more about the others
            times.append((figured - began, time.perf_counter() - figured,
                          time.process_time() - cpu))
        print(f"received {report.calls.received}, answered {report.calls.answered}, "
              f"forwarded {report.matters.forwarded}; {len(document) // 1024} KiB")
    finally:
        await engine.dispose()
    return times[1:]


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
    runs = asyncio.run(measure(url, args.runs, folder))
    for name, values in (("figures", [f for f, _, _ in runs]),
                         ("layout", [lay for _, lay, _ in runs]),
                         ("total", [f + lay for f, lay, _ in runs]),
                         ("CPU (this process)", [c for _, _, c in runs])):
        print(f"{name}: median {statistics.median(values):.2f} s, max {max(values):.2f} s "
              f"over {len(values)} warm runs")


if __name__ == "__main__":
    main()
