"""`hotline user ...` (console users) and `hotline console` (the web console, foreground)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import logging
import os
import socket
import sys
from collections.abc import Iterator

import uvicorn
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

import pbx
from agent_console import accounts
from agent_console.accounts import AccountError
from agent_console.app import create_app
from agent_console.live import LiveDesk
from agent_console.texts import ROLE_LABELS, ROLES
from hotline import logs, tls
from hotline.db.base import make_engine, make_sessionmaker, run_once
from hotline.db.migrate import upgrade
from hotline.settings import Settings

PASSWORD_VAR = "HOTLINE_NEW_PASSWORD"
# `hotline console cert` writes here (in the data folder) unless tls_cert/tls_key name files.
DEFAULT_CERT = "tls/console.crt"
DEFAULT_KEY = "tls/console.key"
HTTPS_DEFAULT_PORT = 443
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")
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
    p = sub.add_parser("console", help="run the web console in the foreground")
    p.set_defaults(func=cmd_console)
    actions = p.add_subparsers(metavar="ACTION")
    p = actions.add_parser("cert", help="make a self-signed certificate for the console's "
                           "HTTPS (a stop-gap for a court without its own CA)")
    p.add_argument("--name", action="append", dest="names", metavar="NAME",
                   help="a host name or IP address browsers reach the console by (repeat "
                        "it); default: this machine's name and [console] host")
    p.add_argument("--days", type=int, default=tls.SELF_SIGNED_DAYS)
    p.add_argument("--force", action="store_true", help="replace an existing certificate")
    p.set_defaults(func=cmd_console_cert)


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
    pair = tls.files(settings)
    if pair is not None:
        tls.check_pair(pair)  # a SettingsError names the setting (cli.main prints it)
    upgrade(settings.database_url, court_name=settings.court.name)
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    configure_logging(settings)
    # `hotline down` and `hotline status` find the console by this file.
    settings.console_pid_file.write_text(str(os.getpid()))
    try:
        asyncio.run(serve(settings))
    finally:
        settings.console_pid_file.unlink(missing_ok=True)
    return 0


def configure_logging(settings: Settings) -> None:
    """Ours and uvicorn's lines, its access lines too, masked, into console.log (an access
    line's path holds the numbers searched or blocked). uvicorn's loggers hand theirs to the
    process's handlers: a uvicorn Config made with its default log_config gives them
    handlers of their own, on stdout and stderr, unmasked (uvicorn_config makes none)."""
    logs.configure(settings.log_dir / "console.log")
    for name in UVICORN_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True


def cmd_console_cert(settings: Settings, args: argparse.Namespace) -> int:
    pair = tls.files(settings) or tls.TlsFiles(settings.data_dir / DEFAULT_CERT,
                                               settings.data_dir / DEFAULT_KEY)
    if pair.cert.exists() and not args.force:
        print(f"hotline: {pair.cert} exists (--force replaces it)", file=sys.stderr)
        return 2
    names = args.names or _default_names(settings)
    fingerprint = tls.make_self_signed(pair.cert, pair.key, names, args.days)
    print(f"""wrote {pair.cert} and its key {pair.key}
  for {', '.join(names)}, valid {args.days} days
  SHA-256 fingerprint {fingerprint}

In hotline.toml, [console]:
  tls_cert = "{pair.cert}"
  tls_key = "{pair.key}"
then restart the console. Browsers do not trust a self-signed certificate: install
{pair.cert} on the court's PCs as a trusted certificate (or have people compare the
fingerprint once). A stop-gap until the court's CA issues a certificate.""")
    return 0


def _default_names(settings: Settings) -> list[str]:
    names = [socket.getfqdn()]
    if settings.console.host not in ("0.0.0.0", "::", "", names[0]):
        names.append(settings.console.host)
    return names


def uvicorn_config(settings: Settings, app: FastAPI) -> uvicorn.Config:
    proxies = list(settings.console.trusted_proxies)
    pair = tls.files(settings)
    # Open event streams would hold a shutdown forever; they reconnect by themselves.
    # log_config None: uvicorn's loggers (its access lines too) go through the process's
    # handlers (hotline.logs: console.log, numbers masked), not a stderr of their own.
    return uvicorn.Config(app, host=settings.console.host, port=settings.console.port,
                          log_level="info", log_config=None, proxy_headers=bool(proxies),
                          forwarded_allow_ips=proxies or None, timeout_graceful_shutdown=2,
                          ssl_certfile=pair.cert if pair else None,
                          ssl_keyfile=pair.key if pair else None)


def redirect_app(https_port: int) -> Starlette:
    """The plain-HTTP port's only answer: the same address over HTTPS, on the host the
    browser asked for."""
    async def to_https(request: Request) -> Response:
        host = request.url.hostname or ""
        netloc = f"[{host}]" if ":" in host else host
        if https_port != HTTPS_DEFAULT_PORT:
            netloc += f":{https_port}"
        return RedirectResponse(str(request.url.replace(scheme="https", netloc=netloc)),
                                status_code=308)
    methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    return Starlette(routes=[Route("/{path:path}", to_https, methods=methods)])


class _Companion(uvicorn.Server):
    """A second server in the console's process: the console's own server takes SIGTERM
    and SIGINT, and stops this one after itself."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve(settings: Settings) -> None:
    """The console on the configured address until SIGINT/SIGTERM."""
    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    # One AMI link to this server's Asterisk; in a cluster, one to each node.
    clients = pbx.console_clients(settings)
    live = LiveDesk(pbx.console_control(clients, prefer=settings.cluster.node),
                    sessions, settings)
    for node, ami in clients.items():
        live.attach(node, ami)
    # The console serves pages whether or not the PBX is up; each client keeps trying.
    connecting = [asyncio.create_task(ami.connect(wait=None)) for ami in clients.values()]
    try:
        config = uvicorn_config(settings, create_app(settings, sessions, live=live))
        await _serve_with_redirect(settings, uvicorn.Server(config))
    finally:
        for task in connecting:
            task.cancel()
        await asyncio.gather(*connecting, return_exceptions=True)
        await asyncio.gather(*(ami.close() for ami in clients.values()))
        await engine.dispose()


async def _serve_with_redirect(settings: Settings, server: uvicorn.Server) -> None:
    """The console, and beside it the plain-HTTP redirect when one is configured."""
    c = settings.console
    if not c.http_redirect_port:
        await server.serve()
        return
    # Its loggers are the console's (uvicorn's names are per process): no config, no level
    # of its own, or it would set theirs.
    redirect = _Companion(uvicorn.Config(redirect_app(c.port), host=c.host,
                                         port=c.http_redirect_port, log_config=None,
                                         log_level=None, lifespan="off"))
    running = asyncio.create_task(redirect.serve())
    try:
        await server.serve()
    finally:
        redirect.should_exit = True
        await asyncio.gather(running, return_exceptions=True)
