"""`hotline calendar`: the court's working-day calendar for administrators.

    hotline calendar show 2026-10                  a month: working days, holidays, hours
    hotline calendar import calendar-2027.csv      next year's State Council notice
    hotline calendar set 2026-11-20 holiday 院庆    the court's own day off (or workday)
    hotline calendar unset 2026-11-20              back to the state calendar

The import file is CSV, one day a line: ``date,kind,name`` with kind ``workday``/``holiday``
(or 班/休); ``#`` comments, blank lines and a first header line are allowed. The import is
all or nothing: one bad line and nothing is written. The years in the file count as known
afterwards (their other days follow Monday to Friday without a warning).

Every change recounts the deadlines of open forwarded tickets not yet due
(hotline.deadlines.recompute_deadlines), in the same transaction.
"""

from __future__ import annotations

import argparse
import csv
import getpass
import re
import sys
from collections.abc import Awaitable
from datetime import date
from pathlib import Path
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from hotline import hours
from hotline.calendar import WorkingCalendar, staff_label
from hotline.db import calendar_days
from hotline.db.base import run_once, utcnow
from hotline.db.calendar_days import DayOverride
from hotline.deadlines import recompute_deadlines
from hotline.settings import Settings

# The words a notice or an administrator uses for a day: is it worked?
KIND_WORDS = {"workday": True, "班": True, "holiday": False, "休": False}
NAME_MAX = 60  # the column's length (CalendarOverride.name)
HEADER = ("date", "kind", "name")
T = TypeVar("T")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `calendar` and its actions to the `hotline` command's subparsers."""
    p = sub.add_parser("calendar", help="the working-day calendar: show, import, set, unset")
    actions = p.add_subparsers(required=True, metavar="ACTION")
    a = actions.add_parser("show", help="a month: each day's status and office hours")
    a.add_argument("month", type=_month, metavar="YYYY-MM")
    a.set_defaults(func=cmd_show)
    a = actions.add_parser("import", help="a year's holidays and make-up days from a CSV file")
    a.add_argument("file", type=Path)
    a.set_defaults(func=cmd_import)
    a = actions.add_parser("set", help="make one day a working day or a day off")
    a.add_argument("day", type=_day, metavar="YYYY-MM-DD")
    a.add_argument("kind", choices=tuple(KIND_WORDS))
    a.add_argument("name", nargs="?", default="", help="e.g. the holiday's name")
    a.set_defaults(func=cmd_set)
    a = actions.add_parser("unset", help="remove the court's setting for one day")
    a.add_argument("day", type=_day, metavar="YYYY-MM-DD")
    a.set_defaults(func=cmd_unset)


# --- actions ---------------------------------------------------------------------------

def cmd_show(settings: Settings, args: argparse.Namespace) -> int:
    year, month = args.month
    calendar = run_once(settings.database_url, lambda s: hours.load_calendar(s, settings,
                                                                   date(year, month, 1)))
    print(calendar.month_table(year, month))
    return 0


def cmd_import(settings: Settings, args: argparse.Namespace) -> int:
    try:
        text = _read_text(args.file)
    except (OSError, UnicodeDecodeError) as exc:
        print(f"{args.file}: cannot read: {_reason(exc)}", file=sys.stderr)
        return 2
    overrides, errors = parse_import(text, str(args.file))
    if errors:
        print("\n".join([*errors, "nothing was imported"]), file=sys.stderr)
        return 2
    _, moved = run_once(settings.database_url,
                        lambda s: _recounted(s, settings, _store_import(s, overrides)))
    for o in overrides:
        print(f"{o.day}  {_kind_label(o.workday):8} {o.name}")
    years = ", ".join(str(y) for y in sorted({o.day.year for o in overrides}))
    print(f"imported {len(overrides)} days from {args.file}; calendar years known: {years}")
    _print_moved(moved)
    return 0


def cmd_set(settings: Settings, args: argparse.Namespace) -> int:
    override = DayOverride(args.day, KIND_WORDS[args.kind], args.name)
    if len(override.name) > NAME_MAX:
        print(f"hotline: the name is longer than {NAME_MAX} characters", file=sys.stderr)
        return 2
    _, moved = run_once(settings.database_url, lambda s: _recounted(
        s, settings, calendar_days.set_override(s, override, _who())))
    print(f"{override.day}  {_kind_label(override.workday)} {override.name}".rstrip())
    _print_moved(moved)
    return 0


def cmd_unset(settings: Settings, args: argparse.Namespace) -> int:
    removed, moved = run_once(settings.database_url, lambda s: _recounted(
        s, settings, calendar_days.delete_override(s, args.day)))
    if not removed:
        print(f"{args.day}: the court had set nothing for this day")
        return 1
    now = run_once(settings.database_url, lambda s: hours.load_calendar(s, settings, args.day))
    print(f"{args.day}: the court's setting is removed; now {_describe(now, args.day)}")
    _print_moved(moved)
    return 0


async def _recounted(session: AsyncSession, settings: Settings,
                     change: Awaitable[T]) -> tuple[T, int]:
    """Make the calendar change, then move the deadlines of tickets not yet due to the new
    calendar, in the same transaction (hotline.deadlines.recompute_deadlines)."""
    result = await change
    await session.flush()
    return result, (await recompute_deadlines(session, settings, utcnow())).total


def _print_moved(moved: int) -> None:
    if moved:
        print(f"deadlines recounted: {moved} open ticket(s) not yet due moved to the new calendar")


# --- the import file -------------------------------------------------------------------

def parse_import(text: str, source: str) -> tuple[list[DayOverride], list[str]]:
    """The days of an import file, and every error as "FILE:LINE: what is wrong"."""
    overrides: list[DayOverride] = []
    errors: list[str] = []
    first_seen: dict[date, int] = {}
    for number, line in _content_lines(text):
        try:
            override = parse_line(line)
            if override.day in first_seen:
                raise ValueError(f"{override.day} is already on line {first_seen[override.day]}")
        except ValueError as exc:
            errors.append(f"{source}:{number}: {exc}")
            continue
        first_seen[override.day] = number
        overrides.append(override)
    if not overrides and not errors:
        errors.append(f"{source}: no days in the file")
    return overrides, errors


def parse_line(line: str) -> DayOverride:
    """>>> parse_line("2027-10-09,班,国庆节")
    DayOverride(day=datetime.date(2027, 10, 9), workday=True, name='国庆节')
    """
    fields = [field.strip() for field in next(csv.reader([line]))]
    if len(fields) not in (2, 3):
        raise ValueError(f"expected date,kind,name but found {len(fields)} fields")
    day_text, kind, name = (*fields, "")[:3]
    day = _parse_day(day_text)
    if kind.lower() not in KIND_WORDS:
        raise ValueError(f"unknown kind {kind!r}: use workday or holiday (班 or 休)")
    if len(name) > NAME_MAX:
        raise ValueError(f"the name is longer than {NAME_MAX} characters")
    return DayOverride(day, KIND_WORDS[kind.lower()], name)


def _content_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) of the lines that carry data: no blanks, comments or header."""
    lines = [(n, line.strip()) for n, line in enumerate(text.splitlines(), start=1)]
    content = [(n, line) for n, line in lines if line and not line.startswith("#")]
    if content and _is_header(content[0][1]):
        content.pop(0)
    return content


def _is_header(line: str) -> bool:
    fields = tuple(field.strip().lower() for field in line.split(","))
    return fields in (HEADER, HEADER[:2])


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Spreadsheets on Chinese Windows save CSV in GBK.
        return data.decode("gb18030")


async def _store_import(session: AsyncSession, overrides: list[DayOverride]) -> None:
    await calendar_days.set_overrides(session, overrides, _who())
    await calendar_days.declare_years(session, {o.day.year for o in overrides})


# --- small helpers ---------------------------------------------------------------------

def _parse_day(text: str) -> date:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise ValueError(f"{text!r} is not a date written YYYY-MM-DD")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a date of the calendar") from None


def _day(text: str) -> date:
    try:
        return _parse_day(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _month(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d{4})-(\d{2})", text)
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise argparse.ArgumentTypeError(f"{text!r} is not a month written YYYY-MM")
    return int(match.group(1)), int(match.group(2))


def _reason(exc: OSError | UnicodeDecodeError) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return "not UTF-8 or GBK text"
    return exc.strerror or str(exc)


def _kind_label(workday: bool) -> str:
    return "workday" if workday else "holiday"


def _describe(calendar: WorkingCalendar, day: date) -> str:
    return staff_label(calendar.day_info(day))


def _who() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no login name in some containers
        return "cli"


