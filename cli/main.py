"""`hotline`: the command an administrator runs the hotline with.

Every subcommand is listed in COMMANDS with the module that registers it; that module (and
what it imports: the database layer, the console, the PBX's prompt builder) is imported only
when its subcommand runs, so `hotline --help` and `hotline status` start in a fraction of a
second. The listing's help texts repeat those the modules give (tests/unit/cli/test_main.py
checks they agree).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import NamedTuple

from hotline.secrets import use_private_umask
from hotline.settings import SettingsError, load_settings
from pbx import PbxError

# 128 + SIGPIPE: what `yes | head -1` leaves in PIPESTATUS for the writer.
SIGPIPE_EXIT = 141


class Command(NamedTuple):
    name: str
    module: str  # its register(subparsers) adds this command (and any others it owns)
    help: str


COMMANDS = (
    Command("up", "cli.system", "start the PBX and the bridge; wait until healthy"),
    Command("down", "cli.system", "stop everything `up` started"),
    Command("status", "cli.health", "health of every part (exit 1 if one is unhealthy)"),
    Command("bridge", "cli.system", "run the bridge in the foreground"),
    Command("pbx", "cli.system", "the Asterisk PBX alone"),
    Command("db", "cli.system", "the database"),
    Command("calls", "cli.system", "recent call records"),
    Command("mode", "cli.system", "show or set the manual mode: auto, open, closed"),
    Command("calendar", "cli.calendar", "the working-day calendar: show, import, set, unset"),
    Command("cases", "cli.cases", "the local copy of the court's case-flow system"),
    Command("kb", "cli.cases", "the knowledge base of procedural answers"),
    Command("escalate", "cli.escalate", "push overdue forwarded matters up (督办): the pass "
                                        "the scheduler runs every minute"),
    Command("phones", "cli.phones", "the SIP phones of seats and duty judges"),
    Command("courts", "cli.courts", "the courts the centre answers for: list, add, staff"),
    Command("sip", "cli.sip", "SIP security: banned addresses (fail-to-ban)"),
    Command("proxy", "cli.proxy", "the SIP proxy (Kamailio) in front of the PBX nodes"),
    Command("report", "cli.report", "the analysis report (text, Excel or PDF): month, departments"),
    Command("user", "agent_console.cli", "the web console's users"),
    Command("console", "agent_console.cli", "run the web console in the foreground"),
    Command("recordings", "recordings.cli", "call recordings: list, process, check"),
    Command("backup", "cli.backup", "one dated archive: database, settings, secrets, new "
                                    "recordings"),
    Command("restore", "cli.backup", "put a backup back (a fresh machine or data folder)"),
    Command("upgrade", "cli.backup", "after new code: stop, back up, migrate, start, check "
                                     "(the database put back if the migration fails)"),
    Command("service", "cli.service", "run the hotline as systemd services: install, "
                                      "remove, status"),
    Command("integrations", "cli.integrations", "the court's systems: API tokens, endpoint "
                                                "secrets, delivery status"),
    Command("bundle", "cli.bundle", "one archive to install the hotline on a machine with "
                                    "no network (make run OFFLINE=...)"),
)


def main(argv: Sequence[str] | None = None) -> int:
    use_private_umask()  # before anything is written; what we start inherits it
    try:
        try:
            return _run(argv)
        finally:
            # Output still buffered (argparse's --help too) is written here, where a
            # closed pipe can still be caught.
            sys.stdout.flush()
    except BrokenPipeError:
        return _reader_gone()


def _run(argv: Sequence[str] | None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser(_chosen(argv)).parse_args(argv)
    try:
        settings = load_settings()
        return int(args.func(settings, args) or 0)
    except (SettingsError, PbxError) as exc:
        print(f"hotline: {exc}", file=sys.stderr)
        return 2


def _reader_gone() -> int:
    """Whatever reads our output stopped (`hotline status | head -5`): end quietly with
    the status a shell gives a command killed by SIGPIPE. stdout is pointed at /dev/null
    first, or Python's own flush at exit would fail again and print a traceback."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return SIGPIPE_EXIT


def _chosen(argv: Sequence[str]) -> str | None:
    """The subcommand argv names: `hotline` itself takes no option with a value, so it is
    the first word that is not an option."""
    return next((word for word in argv if not word.startswith("-")), None)


def parser(chosen: str | None = None) -> argparse.ArgumentParser:
    """`hotline`'s parser: the chosen command registered by its module, every other one
    a placeholder with its help text (enough for the listing and for argparse's errors)."""
    top = argparse.ArgumentParser(prog="hotline", description="The 12368 court hotline.")
    sub = top.add_subparsers(required=True, metavar="COMMAND")
    loaded = next((c.module for c in COMMANDS if c.name == chosen), None)
    for command in COMMANDS:
        if command.module != loaded:
            sub.add_parser(command.name, help=command.help)
        elif command.name == _first_of(command.module):
            importlib.import_module(command.module).register(sub)
    return top


def _first_of(module: str) -> str:
    return next(c.name for c in COMMANDS if c.module == module)


if __name__ == "__main__":
    raise SystemExit(main())
