"""`hotline phones ...`: the seats' and duty judges' SIP phones, for administrators.

Every change is saved in the phones table, then site/pjsip.conf is rendered from the table
and the running Asterisk reloads PJSIP (calls in progress stay up).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

import pbx
from hotline.db import phones as phones_db
from hotline.db.base import run_once
from hotline.db.models import Phone
from hotline.settings import Settings


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `phones` command to hotline's subcommands."""
    phones = sub.add_parser("phones", help="the SIP phones of seats and duty judges")
    actions = phones.add_subparsers(required=True, metavar="ACTION")
    p = actions.add_parser("list", help="every phone, and whether it is registered")
    p.add_argument("--passwords", action="store_true", help="show the SIP passwords too")
    p.set_defaults(func=cmd_list)
    p = actions.add_parser("add", help="add a phone; its new password is printed once")
    p.add_argument("extension")
    p.add_argument("--kind", default=phones_db.SEAT, help="seat (default) or judge")
    p.add_argument("--label", default="", help="a note the console shows, e.g. a desk")
    p.set_defaults(func=cmd_add)
    for name, func, text in (("disable", cmd_disable, "stop a phone (and take it off the queue)"),
                             ("enable", cmd_enable, "let a disabled phone register again"),
                             ("reset-password", cmd_reset, "a new SIP password, printed once")):
        p = actions.add_parser(name, help=text)
        p.add_argument("extension")
        p.set_defaults(func=func)


def cmd_list(settings: Settings, args: argparse.Namespace) -> int:
    rows: list[Phone] = run_once(settings.database_url, phones_db.list_phones)
    registered, unknown = _registrations(settings)
    for phone in rows:
        status = "?" if registered is None else registered.get(phone.extension, "-")
        state = "enabled" if phone.enabled else "disabled"
        password = f" {phone.password}" if args.passwords else ""
        print(f"{phone.extension:7} {phone.kind:6} {state:9} {status or '-':12}"
              f"{password} {phone.label}".rstrip())
    if registered is None:
        print(f"(registration unknown: {unknown})", file=sys.stderr)
    return 0


def _registrations(settings: Settings) -> tuple[dict[str, str] | None, str]:
    """The PBX's registered phones, or None and why not: not running is one reason, not
    the only one (the reason used to be assumed, whatever the error was)."""
    try:
        return pbx.registered_phones(settings), ""
    except pbx.PbxError as exc:
        if pbx.running_pid(settings) is None:
            return None, "the PBX is not running"
        return None, f"the PBX did not answer: {exc}"


def cmd_add(settings: Settings, args: argparse.Namespace) -> int:
    return _change(settings, lambda s: phones_db.add_phone(s, args.extension, args.kind,
                                                           args.label), show_password=True)


def cmd_disable(settings: Settings, args: argparse.Namespace) -> int:
    return _change(settings, lambda s: phones_db.set_enabled(s, args.extension, False),
                   leave_queue=True)


def cmd_enable(settings: Settings, args: argparse.Namespace) -> int:
    return _change(settings, lambda s: phones_db.set_enabled(s, args.extension, True))


def cmd_reset(settings: Settings, args: argparse.Namespace) -> int:
    return _change(settings, lambda s: phones_db.reset_password(s, args.extension),
                   show_password=True)


def _change(settings: Settings, change: Callable[[AsyncSession], Awaitable[Phone]], *,
            show_password: bool = False, leave_queue: bool = False) -> int:
    async def work(session: AsyncSession) -> tuple[Phone, list[Phone]]:
        phone = await change(session)
        return phone, await phones_db.list_phones(session)
    try:
        phone, rows = run_once(settings.database_url, work)
    except phones_db.PhoneError as exc:
        print(f"hotline: {exc}", file=sys.stderr)
        return 2
    state = "enabled" if phone.enabled else "disabled"
    print(f"phone {phone.extension} ({phone.kind}, {state}) saved")
    if show_password:
        print(f"SIP password of {phone.extension}: {phone.password}")
    try:
        pbx.apply_phones(settings, rows)
        if leave_queue:  # a disabled seat must stop ringing
            pbx.with_control(settings, lambda control: control.leave(phone.extension))
    except pbx.PbxError as exc:
        print(f"hotline: saved, but the PBX did not reload ({exc}); "
              "`hotline pbx up` applies it", file=sys.stderr)
        return 1
    print("the PBX reloaded its phones")
    return 0
