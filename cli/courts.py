"""`hotline courts ...`: the courts the centre answers for (issue 17), for administrators;
the console's 法院管理 does the same (the rules are hotline.db.courts')."""

from __future__ import annotations

import argparse
import sys

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.db import courts as courts_db
from hotline.db.base import run_once
from hotline.db.courts import CourtFields, CourtInvalid
from hotline.db.migrate import upgrade
from hotline.db.models import Court
from hotline.settings import Settings


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `courts` command to hotline's subcommands."""
    courts = sub.add_parser("courts", help="the courts the centre answers for: list, add, staff")
    actions = courts.add_subparsers(required=True, metavar="ACTION")
    p = actions.add_parser("list", help="every court in its order")
    p.set_defaults(func=cmd_list)
    p = actions.add_parser("add", help="add a court (it goes last unless --position)")
    p.add_argument("name", help="the court's full name, e.g. 洛阳市西工区人民法院")
    p.add_argument("--short-name", default="", help="e.g. 西工区法院")
    p.add_argument("--case-prefix", default="", help="its code in case numbers, e.g. 豫0303")
    p.add_argument("--phones", default="", help="numbers callers may be given")
    p.add_argument("--position", type=int, default=0, help="its place in the list (1 first)")
    p.set_defaults(func=cmd_add)
    p = actions.add_parser("staff", help="make a user a court's (a basic court's staff see "
                                         "only its matters, calls and recordings)")
    p.add_argument("username")
    p.add_argument("court", type=int, help="the court's number, as `hotline courts list` shows")
    p.set_defaults(func=cmd_staff)


def _migrated(settings: Settings) -> str:
    # the courts come with migration 0018: a database not yet upgraded gets them here,
    # court 1 named from [court] name, rather than a "no such table"
    upgrade(settings.database_url, court_name=settings.court.name)
    return settings.database_url


def cmd_list(settings: Settings, _args: argparse.Namespace) -> int:
    rows: list[Court] = run_once(_migrated(settings), courts_db.list_courts)
    for court in rows:
        flags = ",".join(f for f, on in (("centre", court.centre),
                                         ("inactive", not court.active)) if on)
        print(f"{court.id:3} {court.position:3} {court.case_prefix or '-':8} {court.name}"
              f" {court.short_name} {court.phones} {flags}".rstrip())
    return 0


def cmd_add(settings: Settings, args: argparse.Namespace) -> int:
    fields = CourtFields(name=args.name, short_name=args.short_name,
                         case_prefix=args.case_prefix, phones=args.phones,
                         position=args.position)

    async def work(session: AsyncSession) -> Court:
        return await courts_db.save_court(session, fields)
    try:
        court = run_once(_migrated(settings), work)
    except CourtInvalid as exc:
        print(f"hotline: court not added: {exc}", file=sys.stderr)
        return 2
    print(f"court {court.id} ({court.name}) added at position {court.position}")
    return 0


def cmd_staff(settings: Settings, args: argparse.Namespace) -> int:
    async def work(session: AsyncSession) -> tuple[str, str]:
        user = await courts_db.assign_user(session, args.username, args.court)
        court = await courts_db.get_court(session, args.court)
        return user.username, court.name if court else ""
    try:
        username, court_name = run_once(_migrated(settings), work)
    except LookupError as exc:
        print(f"hotline: {exc.args[0]}", file=sys.stderr)
        return 2
    except CourtInvalid:
        print(f"hotline: {args.username} is a handler, head or leader of another court's "
              "department: change that department first (部门管理)", file=sys.stderr)
        return 2
    print(f"{username} is now staff of court {args.court} ({court_name})")
    return 0
