"""`hotline recordings`: list, post-process (a backlog, or the archive again), check."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from typing import Any

from hotline.db import recordings as db
from hotline.db.base import make_engine, make_sessionmaker, run_once, session_scope, utcnow
from hotline.settings import Settings
from recordings import process, reconcile
from recordings.jobs import recordings_root


def register(sub: Any) -> None:
    p = sub.add_parser("recordings", help="call recordings: list, process, check")
    actions = p.add_subparsers(required=True, metavar="ACTION")
    q = actions.add_parser("list", help="the newest recordings and their state")
    q.add_argument("--last", type=int, default=20, metavar="N")
    q.add_argument("--state", choices=[db.PENDING, db.DONE, db.FAILED])
    q.set_defaults(func=cmd_list)
    q = actions.add_parser("process", help="post-process waiting recordings now, with "
                           "progress; stop with Ctrl-C and run again to continue")
    which = q.add_mutually_exclusive_group()
    which.add_argument("--all", action="store_true", help="every recording (the default)")
    which.add_argument("--since", type=_date, metavar="YYYY-MM-DD",
                       help="only recordings made on or after this day (UTC)")
    q.add_argument("--reprocess", action="store_true",
                   help="also those already processed or failed (e.g. after changing "
                        "[recordings] format)")
    q.set_defaults(func=cmd_process)
    q = actions.add_parser("check", help="compare calls with recording files; exit 1 on a "
                           "problem (alerts are raised as the scheduler would)")
    q.add_argument("--all", action="store_true", help="every day, not only the last "
                   "[recordings] reconcile_days")
    q.set_defaults(func=cmd_check)


def _date(text: str) -> datetime:
    try:
        return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--since: {text!r} is not a date like 2025-01-31")\
            from None


def cmd_list(settings: Settings, args: argparse.Namespace) -> int:
    rows = run_once(settings.database_url,
                    lambda s: db.list_recordings(s, args.last, args.state))
    for r in rows:
        flags = " ".join(f for f, on in (("silent", r.silent), ("held", r.legal_hold),
                                         ("deleted", r.deleted_at is not None)) if on)
        size = r.kept_size_bytes if r.kept_path else r.size_bytes
        print(f"{r.id:6} {r.created_at:%Y-%m-%d %H:%M} {r.call_id:20} {r.status:9} "
              f"{r.process_state:8} {r.kept_format or 'wav':5} {size or 0:>10} "
              f"{r.duration_seconds or 0:7.1f}s {flags}")
        if r.process_state == db.FAILED:
            print(f"{'':7}{r.process_error}")
    return 0


def cmd_process(settings: Settings, args: argparse.Namespace) -> int:
    return asyncio.run(_process(settings, args.since, args.reprocess))


async def _process(settings: Settings, since: datetime | None, reprocess: bool) -> int:
    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    tty = sys.stdout.isatty()

    def report(progress: process.Progress, outcome: process.Outcome) -> None:
        if not outcome.ok:
            print(f"\nrecording {outcome.rec_id} failed: {outcome.message}", flush=True)
        if tty:
            print("\r" + progress.line(), end="", flush=True)
        elif progress.done % 10 == 0 or progress.done == progress.total:
            print(progress.line(), flush=True)

    try:
        if reprocess:
            async with session_scope(sessions) as session:
                marked = await db.mark_for_reprocessing(session, since)
            print(f"{marked} recording(s) marked for processing again")
        done = await process.run_batch(sessions, recordings_root(settings),
                                       settings.recordings, since=since, report=report)
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("\nstopped; run the same command again to continue where it stopped")
        return 130
    finally:
        await engine.dispose()
    if tty and done.done:
        print()
    print(f"done: {done.done} processed, {done.failed} failed")
    return 1 if done.failed else 0


def cmd_check(settings: Settings, args: argparse.Namespace) -> int:
    days = None if args.all else settings.recordings.reconcile_days
    root = recordings_root(settings)

    async def run() -> reconcile.Findings:
        engine = make_engine(settings.database_url)
        try:
            return await reconcile.reconcile(make_sessionmaker(engine), root, utcnow(), days)
        finally:
            await engine.dispose()

    found = asyncio.run(run())
    print(f"checked {len(found.calls_checked)} call(s) and {len(found.files_checked)} file(s)"
          f" in {root}" + ("" if days is None else f" (last {days} days)"))
    for message in [*found.missing.values(), *found.orphans.values()]:
        print(f"  {message}")
    return 1 if found.missing or found.orphans else 0
