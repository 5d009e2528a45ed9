"""`hotline integrations`: the court's systems (issue 19, docs/integrations.md).

    hotline integrations token add ssfw --scope matters:create --scope matters:read
    hotline integrations token list
    hotline integrations token revoke 3
    hotline integrations secret case-system    # the signing secret its receiver checks
    hotline integrations status                # endpoints, events waiting, failing since

A token is printed once, when made; only its SHA-256 is kept. Exit 2 on bad input.
"""

from __future__ import annotations

import argparse
import sys

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hotline import integrations, system_tokens
from hotline.db.base import run_once
from hotline.db.models import OutboxEndpoint
from hotline.endpoints import endpoint_names, parse_endpoints
from hotline.secrets import endpoint_secret
from hotline.settings import Settings
from hotline.timefmt import local_time

HELP = "the court's systems: API tokens, endpoint secrets, delivery status"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `integrations` to the `hotline` command's subparsers."""
    p = sub.add_parser("integrations", help=HELP)
    own = p.add_subparsers(dest="integrations_command", required=True)
    token = own.add_parser("token", help="API tokens of the court's systems")
    tokens = token.add_subparsers(dest="token_command", required=True)
    add = tokens.add_parser("add", help="make a token for a system (printed once)")
    add.add_argument("system", help="the system's name, e.g. ssfw (a-z, 0-9, - and _)")
    add.add_argument("--scope", action="append", required=True, choices=list(
        system_tokens.SCOPES), help="what it may do (repeat for more)")
    add.set_defaults(func=cmd_token_add)
    tokens.add_parser("list", help="every token: system, scopes, last use").set_defaults(
        func=cmd_token_list)
    revoke = tokens.add_parser("revoke", help="end a token at once")
    revoke.add_argument("id", type=int)
    revoke.set_defaults(func=cmd_token_revoke)
    secret = own.add_parser("secret", help="print an endpoint's signing secret")
    secret.add_argument("name")
    secret.set_defaults(func=cmd_secret)
    own.add_parser("status", help="each endpoint: waiting events, failing since").set_defaults(
        func=cmd_status)


def cmd_token_add(settings: Settings, args: argparse.Namespace) -> int:
    async def work(db: AsyncSession) -> str:
        return await system_tokens.create(db, args.system, tuple(args.scope))
    try:
        token = run_once(settings.database_url, work)
    except ValueError as exc:
        print(f"hotline integrations token add: {exc}", file=sys.stderr)
        return 2
    print(token)
    print("# shown once: give it to the system's administrator; it is kept hashed",
          file=sys.stderr)
    return 0


def cmd_token_list(settings: Settings, args: argparse.Namespace) -> int:
    tz = settings.hours.timezone
    for row in run_once(settings.database_url, system_tokens.listed):
        state = f"revoked {local_time(row.revoked_at, tz)}" if row.revoked_at else "live"
        used = local_time(row.last_used_at, tz) if row.last_used_at else "never"
        print(f"{row.id}\t{row.system}\t{row.scopes}\t{state}\tlast used {used}")
    return 0


def cmd_token_revoke(settings: Settings, args: argparse.Namespace) -> int:
    async def work(db: AsyncSession) -> bool:
        return await system_tokens.revoke(db, args.id)
    if not run_once(settings.database_url, work):
        print(f"hotline integrations token revoke: no live token {args.id}", file=sys.stderr)
        return 2
    return 0


def cmd_secret(settings: Settings, args: argparse.Namespace) -> int:
    if args.name not in endpoint_names(settings):
        print(f"hotline integrations secret: {args.name} is not in [integrations] endpoints",
              file=sys.stderr)
        return 2
    print(endpoint_secret(settings, args.name))
    return 0


def cmd_status(settings: Settings, args: argparse.Namespace) -> int:
    async def work(db: AsyncSession) -> tuple[dict[str, int], dict[str, OutboxEndpoint]]:
        states = {e.name: e for e in (await db.execute(select(OutboxEndpoint))).scalars()}
        return await integrations.pending(db), states
    waiting, states = run_once(settings.database_url, work)
    tz = settings.hours.timezone
    for endpoint in parse_endpoints(settings.integrations.endpoints):
        state = states.get(endpoint.name)
        failing = (f"failing since {local_time(state.failing_since, tz)}: {state.last_error}"
                   if state and state.failing_since else "ok")
        print(f"{endpoint.name}\t{endpoint.url}\t{waiting.get(endpoint.name, 0)} waiting\t"
              f"{failing}")
    return 0
