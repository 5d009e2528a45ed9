"""`hotline`'s command table: the listing `--help` shows without importing any subcommand
agrees with what the modules register, and a command imports only what it needs."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cli.main import COMMANDS, parser
from hotline import health
from hotline.settings import REPO_ROOT, load_settings

# What made `hotline --help` take seconds: the console app, the prompt builder, migrations,
# the database layer, the other parts.
HEAVY = {"sqlalchemy", "fastapi", "uvicorn", "pypinyin", "alembic", "pydub", "panoramisk",
         "agent_console", "ivr", "recordings", "scheduler"}


def _registered(module: str) -> list[tuple[str, str]]:
    """(name, help) of the commands a module adds, in its order."""
    top = argparse.ArgumentParser()
    sub = top.add_subparsers()
    importlib.import_module(module).register(sub)
    return [(action.dest, action.help or "") for action in sub._choices_actions]


@pytest.mark.parametrize("module", sorted({c.module for c in COMMANDS}))
def test_the_table_lists_what_each_module_registers(module: str) -> None:
    listed = [(c.name, c.help) for c in COMMANDS if c.module == module]

    assert sorted(listed) == sorted(_registered(module))


@pytest.mark.parametrize("name", [c.name for c in COMMANDS])
def test_the_chosen_command_is_parsed_by_its_real_parser(name: str) -> None:
    """Not by the placeholder that only lists it: the real one runs something."""
    top = parser(name)
    commands = next(a for a in top._actions if isinstance(a, argparse._SubParsersAction))
    chosen = commands.choices[name]

    assert chosen.get_default("func") or any(
        isinstance(a, argparse._SubParsersAction) for a in chosen._actions)


@pytest.fixture
def site(tmp_path: Path) -> dict[str, str]:
    """A hotline of its own (data folder, empty SQLite database): `status` reads it."""
    config, url = tmp_path / "hotline.toml", f"sqlite:///{tmp_path / 'hotline.db'}"
    config.write_text(f'[paths]\ndata_dir = "data"\n[database]\nurl = "{url}"\n',
                      encoding="utf-8")
    return {**os.environ, "HOTLINE_CONFIG": str(config)}


def _imported_by(site: dict[str, str], *argv: str) -> set[str]:
    """Top-level modules imported once `hotline argv...` has run (in a child process)."""
    code = ("import json, sys\nfrom cli.main import main\ntry:\n    main(sys.argv[1:])\n"
            "except SystemExit:\n    pass\n"
            "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})), file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True,
                          cwd=REPO_ROOT, env=site, timeout=60, check=False)
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


def test_help_imports_no_subcommand_and_nothing_heavy(site: dict[str, str]) -> None:
    imported = _imported_by(site, "--help")

    assert imported & HEAVY == set()
    assert "cli" in imported


def test_status_imports_the_database_layer_but_not_the_console_or_the_prompts(
        site: dict[str, str]) -> None:
    assert _imported_by(site, "status") & HEAVY == {"sqlalchemy"}


def test_a_command_of_another_part_imports_that_part(site: dict[str, str]) -> None:
    assert {"recordings", "sqlalchemy"} <= _imported_by(site, "recordings", "--help")


def test_status_reads_a_fresh_scheduler_report_without_the_database_layer(
        site: dict[str, str]) -> None:
    """The scheduler renews the report on the database, calendar and alerts every 30 s;
    `status` shows it from the heartbeat and never loads SQLAlchemy (~0.5 s)."""
    settings = load_settings(site)
    settings.run_dir.mkdir(parents=True)
    report = health.SiteReport(time.time(), calendar=["calendar: no holiday data for X"],
                               alerts_open=12, alerts=["disk: recordings 91% full"])
    settings.scheduler_heartbeat_file.write_text(json.dumps(
        {"pid": 1, "time": time.time(), "jobs": {}, "site": report.to_json()}))
    # A live process named python stands for the scheduler.
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) as stand_in:
        try:
            settings.scheduler_pid_file.write_text(str(stand_in.pid))
            imported = _imported_by(site, "status")
            shown = subprocess.run([sys.executable, "-m", "cli", "status"], capture_output=True,
                                   text=True, cwd=REPO_ROOT, env=site, timeout=60).stdout
        finally:
            stand_in.kill()

    assert imported & HEAVY == set()
    assert "WARNING   calendar: no holiday data for X" in shown
    assert "alerts    12 open\n  disk: recordings 91% full\n  ... and 11 more" in shown
    assert "scheduler ok" in shown and "database  ok" in shown


def test_status_asks_the_database_when_the_report_is_stale(site: dict[str, str]) -> None:
    settings = load_settings(site)
    settings.run_dir.mkdir(parents=True)
    stale = health.SiteReport(time.time() - health.REPORT_STALE_SECONDS - 1,
                              database=["stale problem"])
    settings.scheduler_heartbeat_file.write_text(json.dumps(
        {"pid": 1, "time": time.time(), "jobs": {}, "site": stale.to_json()}))
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) as stand_in:
        try:
            settings.scheduler_pid_file.write_text(str(stand_in.pid))
            shown = subprocess.run([sys.executable, "-m", "cli", "status"], capture_output=True,
                                   text=True, cwd=REPO_ROOT, env=site, timeout=60).stdout
        finally:
            stand_in.kill()

    # The fixture's database is empty, without even alembic's table: asked now, not the
    # stale report.
    assert "database  UNHEALTHY: cannot read the database" in shown
    assert "alembic_version" in shown
    assert "stale problem" not in shown
