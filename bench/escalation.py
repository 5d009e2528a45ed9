"""The escalation pass over many open tickets: seconds per pass on SQLite and PostgreSQL.

Bulk-loads N open forwarded tickets (executemany on SQLite, COPY on PostgreSQL), a share of
them due (1% by default), then times, in the same process and on the same database:

- count:  a plain indexed SELECT count(*) of the due rows (the floor: the database alone);
- pass:   hotline.escalation.run_pass as of T: every due ticket escalated (notice, SMS,
          Escalation row, history event; one transaction each);
- quiet:  the same pass again right after, with nothing left due: what the scheduler's
          every-minute run costs on an ordinary minute;
- base:   the same pass over a small database (--base-tickets, same share due), whose time
          per due ticket the big one is compared to: a ratio near 1 means the pass scales
          with the due tickets, not with the open ones.

    .venv/bin/python bench/escalation.py                        # 100,000 tickets, both DBs
    .venv/bin/python bench/escalation.py --tickets 1000000      # the full measure (~10 min)
    .venv/bin/python bench/escalation.py --tickets 1000000 --db postgresql

PostgreSQL: the server at --pg-url (default postgresql://postgres@127.0.0.1:5432/test); the
benchmark creates and drops its own database there. Not a test: it prints numbers (--json
writes them too).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import platform
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import text
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from hotline.db.base import make_engine, make_sessionmaker, session_scope  # noqa: E402
from hotline.db.migrate import upgrade  # noqa: E402
from hotline.db.models import Department, User  # noqa: E402
from hotline.escalation import run_pass  # noqa: E402
from hotline.settings import DatabaseSettings, PathsSettings, Settings  # noqa: E402

AS_OF = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
DEPARTMENTS = 20
COLUMNS = ("reference", "type", "subtype", "status", "caller_number", "audio_path", "text",
           "detail", "created_at", "escalation_level", "reply_text", "department_id",
           "forwarded_at", "due_at", "next_escalation_at")
PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"
BENCH_DB = "hotline_bench_escalation"


def ticket_rows(count: int, due_share: float, department_ids: list[int]) -> list[tuple[Any, ...]]:
    """Open tickets forwarded to the departments: every 1/due_share-th one is overdue at
    AS_OF, the others due in the days after it."""
    step = max(1, round(1 / due_share)) if due_share > 0 else count + 1
    rows = []
    for i in range(count):
        due = AS_OF - timedelta(hours=1) if i % step == 0 else AS_OF + timedelta(
            days=1 + i % 5, minutes=i % 600)
        forwarded = due - timedelta(days=3)
        rows.append((f"B{i:09d}", "complaint", "", "open", f"138{i % 10**8:08d}", "", "", "{}",
                     forwarded, 0, "", department_ids[i % len(department_ids)], forwarded, due,
                     due))
    return rows


async def seed_people(settings: Settings) -> list[int]:
    engine = make_engine(settings.database_url)
    try:
        async with session_scope(make_sessionmaker(engine)) as session:
            ids = []
            for d in range(DEPARTMENTS):
                head = User(username=f"head{d}", role="dept_head", password_hash="x",
                            mobile=f"1390000{d:04d}")
                leader = User(username=f"leader{d}", role="leader", password_hash="x",
                              mobile=f"1370000{d:04d}")
                session.add_all([head, leader])
                await session.flush()
                department = Department(name=f"部门{d}", head_id=head.id, leader_id=leader.id)
                session.add(department)
                await session.flush()
                ids.append(department.id)
            return ids
    finally:
        await engine.dispose()


def load_sqlite(path: Path, rows: list[tuple[Any, ...]]) -> None:
    def stamp(value: Any) -> Any:
        # How SQLAlchemy stores a UTC datetime in SQLite (naive, microseconds).
        if isinstance(value, datetime):
            return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        return value

    connection = sqlite3.connect(path)
    try:
        with connection:
            connection.executemany(
                f"INSERT INTO tickets ({', '.join(COLUMNS)}) "
                f"VALUES ({', '.join('?' * len(COLUMNS))})",
                ([stamp(v) for v in row] for row in rows))
        connection.execute("ANALYZE")
    finally:
        connection.close()


def load_postgresql(url: str, rows: list[tuple[Any, ...]]) -> None:
    with psycopg.connect(url) as connection:
        with connection.cursor() as cursor, cursor.copy(
                f"COPY tickets ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        connection.execute("ANALYZE tickets")


@dataclasses.dataclass
class Result:
    db: str
    tickets: int
    due: int
    load_s: float
    count_s: float
    pass_s: float
    steps: int
    quiet_s: float
    plan: str


async def measure(settings: Settings, due: int) -> tuple[float, float, int, float, str]:
    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    try:
        count_sql = text("SELECT count(*) FROM tickets WHERE next_escalation_at <= :t")
        async with sessions() as session:
            started = time.perf_counter()
            counted = (await session.execute(count_sql, {"t": AS_OF})).scalar_one()
            count_s = time.perf_counter() - started
            plan = await query_plan(session, engine.dialect.name)
        assert counted == due, f"expected {due} due tickets, the database has {counted}"
        started = time.perf_counter()
        report = await run_pass(sessions, settings, AS_OF)
        pass_s = time.perf_counter() - started
        started = time.perf_counter()
        quiet = await run_pass(sessions, settings, AS_OF)
        quiet_s = time.perf_counter() - started
        assert not quiet.steps, "the second pass found work: the first missed some"
        return count_s, pass_s, len(report.steps), quiet_s, plan
    finally:
        await engine.dispose()


async def query_plan(session: Any, dialect: str) -> str:
    """How the database finds a batch of due tickets (the pass's own query shape)."""
    batch = ("SELECT next_escalation_at, id FROM tickets WHERE next_escalation_at <= :t "
             "AND escalation_level < 2 AND answered_at IS NULL AND closed_at IS NULL "
             "AND next_escalation_at >= :after AND (next_escalation_at, id) > (:after, 0) "
             "ORDER BY next_escalation_at, id LIMIT 500")
    prefix = "EXPLAIN QUERY PLAN " if dialect == "sqlite" else "EXPLAIN "
    after = AS_OF - timedelta(days=1)
    if dialect == "sqlite":  # bound as SQLAlchemy stores it there
        after = after.replace(tzinfo=None)
    rows = (await session.execute(text(prefix + batch), {"t": AS_OF, "after": after})).all()
    return " | ".join(str(row[-1]) for row in rows)


def run_one(kind: str, tickets: int, due_share: float, pg_url: str) -> Result:
    with tempfile.TemporaryDirectory(prefix="bench-escalation-") as tmp:
        if kind == "sqlite":
            path = Path(tmp) / "hotline.db"
            url = f"sqlite:///{path}"
        else:
            url = recreate_pg(pg_url)
        settings = dataclasses.replace(Settings(), paths=PathsSettings(data_dir=Path(tmp)),
                                       database=DatabaseSettings(url=url))
        upgrade(url)
        departments = asyncio.run(seed_people(settings))
        rows = ticket_rows(tickets, due_share, departments)
        due = sum(1 for r in rows if r[-1] <= AS_OF)
        started = time.perf_counter()
        if kind == "sqlite":
            load_sqlite(path, rows)
        else:
            load_postgresql(url, rows)
        load_s = time.perf_counter() - started
        del rows
        count_s, pass_s, steps, quiet_s, plan = asyncio.run(measure(settings, due))
        if kind == "postgresql":
            drop_pg(pg_url)
        return Result(kind, tickets, due, load_s, count_s, pass_s, steps, quiet_s, plan)


def recreate_pg(admin_url: str) -> str:
    drop_pg(admin_url)
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{BENCH_DB}"')
    return make_url(admin_url).set(database=BENCH_DB).render_as_string(hide_password=False)


def drop_pg(admin_url: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    pg = ""
    return (f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"SQLite {sqlite3.sqlite_version}{pg}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--base-tickets", type=int, default=10_000)
    parser.add_argument("--due-share", type=float, default=0.01)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--pg-url", default=os.environ.get("HOTLINE_TEST_PG_URL", PG_DEFAULT))
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    print(f"machine: {machine()}")
    results: list[dict[str, Any]] = []
    for kind in kinds:
        base = run_one(kind, args.base_tickets, args.due_share, args.pg_url)
        big = run_one(kind, args.tickets, args.due_share, args.pg_url)
        per_due = (big.pass_s / max(big.steps, 1)) / (base.pass_s / max(base.steps, 1))
        for r in (base, big):
            print(f"{r.db:10} {r.tickets:>9,} tickets, {r.due:>6,} due: load {r.load_s:6.1f} s, "
                  f"count {r.count_s * 1000:7.1f} ms, pass {r.pass_s:7.2f} s ({r.steps:,} "
                  f"steps, {r.pass_s / max(r.steps, 1) * 1000:.2f} ms/step), "
                  f"quiet pass {r.quiet_s * 1000:7.1f} ms")
        print(f"{kind:10} pass/count ratio {big.pass_s / big.count_s:,.0f}x; time per due "
              f"ticket, {args.tickets:,} vs {args.base_tickets:,} tickets: {per_due:.2f}x")
        print(f"{kind:10} plan of a batch: {big.plan}")
        results.append({"base": dataclasses.asdict(base), "big": dataclasses.asdict(big),
                        "per_due_ratio": per_due})
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
