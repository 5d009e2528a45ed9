"""How long the `hotline` command takes to start: `hotline --help` and `hotline status`.

Each round runs, one after the other (so they share the machine's load of the moment):

- base:    `python -c pass`, the same interpreter: the floor any Python command pays;
- help:    `hotline --help`: parse the command line and print the listing;
- status:  `hotline status` on a hotline where nothing runs (its own data folder and a
           migrated SQLite database): every part checked, the database read (no
           scheduler, so no report of its own: status asks the database);
- status (report): the same, with a stand-in scheduler process and a fresh report in its
           heartbeat, as on a running hotline: status reads the file, not the database;
- with --config FILE, `hotline status` of that hotline (a running one: Asterisk's AMI
           login is then part of it);
- and, with --before REV, the same two commands as the `hotline` of git revision REV ran
  them (its tree exported to a temporary folder, same interpreter and packages).

    .venv/bin/python bench/cli_startup.py                     # 20 rounds
    .venv/bin/python bench/cli_startup.py --rounds 50 --before fa828a3~1
    .venv/bin/python bench/cli_startup.py --config hotline.toml   # the running demo too

Prints the median and the fastest wall time of each, and the ratio of medians to the
baseline. Not a test: it prints numbers (--json writes them too).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
# The command exactly as the console script runs it, for this tree or an exported one.
ENTRY = "import sys\nfrom {module} import main\nsys.argv[0] = 'hotline'\nsys.exit(main())"


def main() -> int:
    args = _arguments()
    with tempfile.TemporaryDirectory(prefix="hotline-bench-cli-") as tmp:
        env = _site(Path(tmp))
        commands = {"base": [sys.executable, "-c", "pass"],
                    **_hotline("", "cli.main", REPO)}
        if args.before:
            commands |= _hotline(" (before)", "hotline.cli", _export(args.before, Path(tmp)))
        times = _measure(commands, env, args.rounds)
        with _stand_in_scheduler(env) as fresh:
            times |= _measure({"status (report)": commands["status"]}, env, args.rounds,
                              before_each=fresh)
        if args.config:
            running = {**os.environ, "HOTLINE_CONFIG": str(args.config.resolve())}
            times |= _measure({"status (running)": commands["status"]}, running, args.rounds)
    results = _summary(times)
    _print(results, args.rounds)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--before", metavar="REV", default="",
                        help="also time the hotline command of this git revision")
    parser.add_argument("--json", type=Path, help="write the numbers to this file too")
    parser.add_argument("--config", type=Path, help="also time `hotline status` of the "
                        "hotline this hotline.toml runs")
    return parser.parse_args()


def _site(tmp: Path) -> dict[str, str]:
    """A hotline of its own where nothing runs: config, data folder, migrated database."""
    config, url = tmp / "hotline.toml", f"sqlite:///{tmp / 'hotline.db'}"
    config.write_text(f'[paths]\ndata_dir = "{tmp / "data"}"\n[database]\nurl = "{url}"\n',
                      encoding="utf-8")
    env = {**os.environ, "HOTLINE_CONFIG": str(config)}
    subprocess.run([sys.executable, "-m", "cli", "db", "upgrade"], cwd=REPO, env=env,
                   check=True, capture_output=True)
    return env


def _hotline(label: str, module: str, tree: Path) -> dict[str, list[str]]:
    code = f"import sys\nsys.path.insert(0, {str(tree)!r})\n" + ENTRY.format(module=module)
    return {f"help{label}": [sys.executable, "-c", code, "--help"],
            f"status{label}": [sys.executable, "-c", code, "status"]}


def _export(rev: str, tmp: Path) -> Path:
    tree = tmp / "before"
    tree.mkdir()
    archive = subprocess.run(["git", "archive", rev], cwd=REPO, check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    return tree


@contextlib.contextmanager
def _stand_in_scheduler(env: dict[str, str]) -> Iterator[Callable[[], None]]:
    """A live python process in the scheduler's pid file; yields what writes a fresh
    heartbeat with a healthy site report (hotline.health) into its heartbeat file."""
    from hotline import health
    from hotline.settings import load_settings

    settings = load_settings(env)
    settings.run_dir.mkdir(parents=True, exist_ok=True)

    def fresh() -> None:
        report = health.SiteReport(time.time())
        settings.scheduler_heartbeat_file.write_text(json.dumps(
            {"pid": 0, "time": time.time(), "jobs": {}, "site": report.to_json()}))
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"]) as stand_in:
        settings.scheduler_pid_file.write_text(str(stand_in.pid))
        try:
            yield fresh
        finally:
            stand_in.kill()
            settings.scheduler_pid_file.unlink(missing_ok=True)


def _measure(commands: dict[str, list[str]], env: dict[str, str], rounds: int,
             before_each: Callable[[], None] = lambda: None) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(rounds):
        for name, argv in commands.items():
            before_each()
            start = time.perf_counter()
            subprocess.run(argv, cwd=tempfile.gettempdir(), env=env, check=False,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            times[name].append(time.perf_counter() - start)
    return times


def _summary(times: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    base = statistics.median(times["base"])
    return {name: {"median_s": statistics.median(t), "min_s": min(t),
                   "x_base": statistics.median(t) / base} for name, t in times.items()}


def _print(results: dict[str, dict[str, float]], rounds: int) -> None:
    print(f"{rounds} rounds, wall time per run")
    print(f"{'command':18} {'median':>9} {'fastest':>9} {'× python -c pass':>17}")
    for name, r in results.items():
        print(f"{name:18} {r['median_s'] * 1000:7.0f} ms {r['min_s'] * 1000:6.0f} ms "
              f"{r['x_base']:16.1f}×")


if __name__ == "__main__":
    raise SystemExit(main())
