"""`hotline user ...` (console users) and `hotline console` (the web console, foreground)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys

import uvicorn
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

import pbx
from agent_console import accounts
from agent_console.accounts import AccountError
from agent_console.app import create_app
from agent_console.live import LiveDesk
from agent_console.texts import ROLE_LABELS, ROLES
from hotline.db.base import make_engine, make_sessionmaker, run_once
from hotline.db.migrate import upgrade
from hotline.settings import Settings

PASSWORD_VAR = "HOTLINE_NEW_PASSWORD"
MOVE_HELP = ("an extension another user has is refused; with this it is taken from them "
             "(and they are signed out of the seat)")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `user` and `console` commands to hotline's subcommands."""
    user = sub.add_parser("user", help="the web console's users")
    actions = user.add_subparsers(required=True, metavar="ACTION")
    p = actions.add_parser("add", help=f"add a user (password asked, or from ${PASSWORD_VAR})")
    p.add_argument("username")
    p.add_argument("--role", required=True, choices=ROLES)
    p.add_argument("--name", default="", help="the name the console shows")
    p.add_argument("--extension", default="", help="the user's seat phone, e.g. 8001")
    p.add_argument("--move-extension", action="store_true", help=MOVE_HELP)
    p.set_defaults(func=cmd_user_add)
    p = actions.add_parser("extension", help="give a user a seat phone (one user per "
                           "extension), or take it away with \"\"")
    p.add_argument("username")
    p.add_argument("extension", help='e.g. 8001; "" for none')
    p.add_argument("--move-extension", action="store_true", help=MOVE_HELP)
    p.set_defaults(func=cmd_user_extension)
    actions.add_parser("list", help="every user").set_defaults(func=cmd_user_list)
    p = actions.add_parser("passwd", help=f"set a user's password (or from ${PASSWORD_VAR})")
    p.add_argument("username")
    p.set_defaults(func=cmd_user_passwd)
    p = actions.add_parser("logout", help="end a user's sessions and API tokens everywhere "
                           "(a lost laptop, a leaked token); `passwd` does it too")
    p.add_argument("username")
    p.set_defaults(func=cmd_user_logout)
    sub.add_parser("console", help="run the web console in the foreground"
                   ).set_defaults(func=cmd_console)


def cmd_user_add(settings: Settings, args: argparse.Namespace) -> int:
    async def work(session: AsyncSession) -> None:
        await accounts.add_user(session, args.username, password, args.role, args.name,
                                args.extension, move_extension=args.move_extension)
    try:
        password = _new_password()
        run_once(settings.database_url, work)
    except AccountError as exc:
        print(f"hotline: {exc}", file=sys.stderr)
        return 2
    print(f"user {args.username} added ({args.role})")
    return 0


def cmd_user_extension(settings: Settings, args: argparse.Namespace) -> int:
    try:
        run_once(settings.database_url, lambda s: accounts.set_extension(
            s, args.username, args.extension, move=args.move_extension))
    except AccountError as exc:
        print(f"hotline: {exc}", file=sys.stderr)
        return 2
    print(f"{args.username}: extension {args.extension or '(none)'}")
    return 0


def cmd_user_list(settings: Settings, _args: argparse.Namespace) -> int:
    for u in run_once(settings.database_url, accounts.list_users):
        state = "active" if u.active else "inactive"
        print(f"{u.username:20} {u.role:13} {ROLE_LABELS.get(u.role, ''):6} "
              f"{u.extension:6} {state:8} {u.display_name}")
    return 0


def cmd_user_passwd(settings: Settings, args: argparse.Namespace) -> int:
    try:
        password = _new_password()
        run_once(settings.database_url,
                 lambda s: accounts.set_password(s, args.username, password))
    except AccountError as exc:
        print(f"hotline: {exc}", file=sys.stderr)
        return 2
    print(f"password of {args.username} changed")
    return 0


def cmd_user_logout(settings: Settings, args: argparse.Namespace) -> int:
    async def work(session: AsyncSession) -> int:
        user = await accounts.get_user(session, args.username)
        if user is None:
            raise AccountError(f"no user {args.username!r}")
        return await accounts.end_sessions(session, user.id)
    try:
        ended = run_once(settings.database_url, work)
    except AccountError as exc:
        print(f"hotline: {exc}", file=sys.stderr)
        return 2
    print(f"{args.username} logged out: {ended} sessions and tokens ended")
    return 0


def _new_password() -> str:
    """From the environment (for scripts), else typed twice without echo."""
    if PASSWORD_VAR in os.environ:
        password = os.environ[PASSWORD_VAR]
    else:
        password = getpass.getpass("new password: ")
        if getpass.getpass("again: ") != password:
            raise AccountError("the two passwords differ")
    accounts.check_new_password(password)
    return password


def cmd_console(settings: Settings, _args: argparse.Namespace) -> int:
    upgrade(settings.database_url)
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    # `hotline down` and `hotline status` find the console by this file.
    settings.console_pid_file.write_text(str(os.getpid()))
    try:
        asyncio.run(serve(settings))
    finally:
        settings.console_pid_file.unlink(missing_ok=True)
    return 0


def uvicorn_config(settings: Settings, app: FastAPI) -> uvicorn.Config:
    proxies = list(settings.console.trusted_proxies)
    # Open event streams would hold a shutdown forever; they reconnect by themselves.
    return uvicorn.Config(app, host=settings.console.host, port=settings.console.port,
                          log_level="info", proxy_headers=bool(proxies),
                          forwarded_allow_ips=proxies or None, timeout_graceful_shutdown=2)


async def serve(settings: Settings) -> None:
    """The console on the configured address until SIGINT/SIGTERM."""
    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    ami = pbx.console_client(settings)
    live = LiveDesk(pbx.PbxControl(ami), sessions, settings)
    for name, handler in live.subscriptions().items():
        ami.on_event(name, handler)
    ami.on_connect(live.restore)
    # The console serves pages whether or not the PBX is up; the client keeps trying.
    connecting = asyncio.create_task(ami.connect(wait=None))
    try:
        config = uvicorn_config(settings, create_app(settings, sessions, live=live))
        await uvicorn.Server(config).serve()
    finally:
        connecting.cancel()
        await asyncio.gather(connecting, return_exceptions=True)
        await ami.close()
        await engine.dispose()
