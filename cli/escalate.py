"""`hotline escalate`: run the escalation pass by hand, as of any moment.

    hotline escalate                                 as of now (what the scheduler does)
    hotline escalate --now 2026-02-24T17:30          as of a court-time moment
    hotline escalate --now 2026-02-27T09:00 --dry-run   what it would do; nothing written

A time without an offset is read in the court's time zone. One line per ticket step
(phone numbers masked), then a summary. Exit 0 when the pass ran, 2 on bad input.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from hotline.db.base import make_engine, make_sessionmaker, utcnow
from hotline.escalation import PassReport, run_pass
from hotline.settings import Settings


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `escalate` to the `hotline` command's subparsers."""
    p = sub.add_parser("escalate", help="push overdue forwarded matters up (督办): the pass "
                                        "the scheduler runs every minute")
    p.add_argument("--now", metavar="ISO-TIME", default="",
                   help="run as of this moment, e.g. 2026-02-24T17:30 (court time) or with an "
                        "offset; default: now")
    p.add_argument("--dry-run", action="store_true", help="print what would be done; write "
                                                          "nothing, notify nobody")
    p.set_defaults(func=cmd_escalate)


def cmd_escalate(settings: Settings, args: argparse.Namespace) -> int:
    try:
        as_of = parse_moment(args.now, settings.hours.timezone) if args.now else utcnow()
    except ValueError as exc:
        print(f"hotline escalate: --now: {exc}", file=sys.stderr)
        return 2
    report = asyncio.run(_run(settings, as_of, args.dry_run))
    print("\n".join(report.lines()))
    return 0


def parse_moment(text: str, timezone: str) -> datetime:
    """An ISO 8601 moment; one without an offset is court time.

    >>> parse_moment("2026-02-24T17:30", "Asia/Shanghai").isoformat()
    '2026-02-24T09:30:00+00:00'
    """
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not a time written YYYY-MM-DDTHH:MM[:SS][+08:00]") \
            from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(timezone))
    return moment.astimezone(UTC)


async def _run(settings: Settings, as_of: datetime, dry_run: bool) -> PassReport:
    engine = make_engine(settings.database_url)
    try:
        return await run_pass(make_sessionmaker(engine), settings, as_of, dry_run=dry_run)
    finally:
        await engine.dispose()
