"""`hotline sip ...`: the SIP ban list of fail-to-ban (pbx/sip_security.py), for
administrators: which addresses are refused and until when, and lifting a ban by hand (a
desk phone typed in with a wrong password gets its address banned like an attacker)."""

from __future__ import annotations

import argparse
import ipaddress
import sys
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

import pbx
from hotline.db import sip_bans
from hotline.db.base import run_once, utcnow
from hotline.db.models import SipBan
from hotline.settings import Settings

HISTORY_DAYS = 30


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `sip` command to hotline's subcommands."""
    sip = sub.add_parser("sip", help="SIP security: banned addresses (fail-to-ban)")
    actions = sip.add_subparsers(required=True, metavar="ACTION")
    p = actions.add_parser("bans", help="the addresses banned now (--all: the last 30 days)")
    p.add_argument("--all", action="store_true", help="every ban of the last 30 days")
    p.set_defaults(func=cmd_bans)
    p = actions.add_parser("unban", help="lift the ban of an address now")
    p.add_argument("address")
    p.set_defaults(func=cmd_unban)


def cmd_bans(settings: Settings, args: argparse.Namespace) -> int:
    now = utcnow()

    async def work(session: AsyncSession) -> list[SipBan]:
        if args.all:
            return await sip_bans.recent_bans(session, now - timedelta(days=HISTORY_DAYS))
        return await sip_bans.active_bans(session, now)
    zone = ZoneInfo(settings.hours.timezone)
    rows = run_once(settings.database_url, work)
    for ban in rows:
        state = ("lifted " + ban.lifted_by if ban.lifted_at else
                 "active" if ban.expires_at > now else "expired")
        print(f"{ban.address:15} {ban.banned_at.astimezone(zone):%Y-%m-%d %H:%M:%S} until "
              f"{ban.expires_at.astimezone(zone):%Y-%m-%d %H:%M:%S}  {ban.failures:3} failures "
              f"({ban.reason})  {state}".rstrip())
    if not rows:
        print("no SIP address is banned" + (" (nor was in 30 days)" if args.all else ""))
    return 0


def cmd_unban(settings: Settings, args: argparse.Namespace) -> int:
    try:
        address = str(ipaddress.ip_address(args.address))
    except ValueError:
        print(f"hotline: {args.address!r} is not an IP address", file=sys.stderr)
        return 2
    now = utcnow()

    async def work(session: AsyncSession) -> tuple[int, list[pbx.sip_security.Ban]]:
        lifted = await sip_bans.lift(session, address, now, by="cli")
        return lifted, await pbx.sip_security.banned_now(session, now)
    lifted, active = run_once(settings.database_url, work)
    if not lifted:
        print(f"{address} is not banned", file=sys.stderr)
        return 1
    pbx.sip_security.apply_bans(settings, active)
    print(f"{address}: ban lifted; Asterisk accepts it again")
    return 0
