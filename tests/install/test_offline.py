"""The offline install, for real: `hotline bundle` builds the Python wheels and the console's
assets, and `scripts/setup.sh --offline` installs the hotline from them into a copy of the
checkout, run inside a network namespace that has nothing but loopback. Then `hotline --help`
and the console answer there, and the namespace is shown to reach nothing outside.

The Debian packages and the Asterisk sandbox (hundreds of MB) are left to
`make test-offline` (scripts/test-offline.sh), which installs everything into a minimal
Debian 12 with no network; this machine already has both, so setup.sh needs neither here.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli import bundle
from hotline.settings import REPO_ROOT

NETNS = f"bundle-off-{os.getpid()}"
CONSOLE_URL = "http://127.0.0.1:8368"  # hotline.toml's own port: the namespace is ours alone

# Every module of the hotline's packages imported, so a dependency only the dev extra brings
# (httpx was one) shows here, not when the scheduler dies on a court's server.
IMPORT_ALL = """
import importlib, pkgutil, sys
failed = []
for top in sys.argv[1:]:
    package = importlib.import_module(top)
    for info in pkgutil.walk_packages(package.__path__, top + "."):
        if info.name.endswith("__main__") or ".migrations" in info.name:
            continue
        try:
            importlib.import_module(info.name)
        except ImportError as exc:
            failed.append(f"{info.name}: {exc}")
print("\\n".join(failed))
sys.exit(1 if failed else 0)
"""

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="network namespaces need root")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundle's wheels and console assets, unpacked (and the archive beside them)."""
    work = tmp_path_factory.mktemp("bundle")
    out = work / "hotline-bundle.tar"
    subprocess.run([sys.executable, "-m", "cli", "bundle", str(out), "--parts",
                    "wheels,console"], check=True, env=_clean_env(), cwd=work)
    subprocess.run(["tar", "-xf", str(out), "-C", str(work)], check=True)
    return work


@pytest.fixture(scope="module")
def netns() -> Iterator[str]:
    subprocess.run(["ip", "netns", "add", NETNS], check=True)
    try:
        subprocess.run(["ip", "-n", NETNS, "link", "set", "lo", "up"], check=True)
        yield NETNS
    finally:
        subprocess.run(["ip", "netns", "delete", NETNS], check=False)


@pytest.fixture(scope="module")
def installed(built: Path, netns: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the checkout (what git has and what is new), set up offline in netns."""
    copy = tmp_path_factory.mktemp("checkout")
    subprocess.run(["bash", "-c", "set -o pipefail; git ls-files -z --cached --others "
                    "--exclude-standard | tar --null -T - --ignore-failed-read -cf - "
                    f"| tar -xf - -C {copy}"], cwd=REPO_ROOT, check=True)
    assert not (copy / "agent_console/static/vendor/echarts.min.js").exists()
    started = time.monotonic()
    done = _in(netns, ["bash", "scripts/setup.sh", "--offline",
                       str(built / "hotline-bundle.tar")], cwd=copy, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    print(f"offline setup in the namespace: {time.monotonic() - started:.0f} s")
    return copy


def test_the_bundle_lists_what_it_holds_and_every_file_checks(built: Path) -> None:
    top = built / bundle.TOP
    manifest = json.loads((top / "MANIFEST.json").read_text())

    assert manifest["parts"] == ["wheels", "console"]
    assert manifest["target"]["python"] == f"{sys.version_info.major}.{sys.version_info.minor}"
    assert (top / "TARGET").read_text().splitlines() == [
        f"{key}={value}" for key, value in manifest["target"].items()]
    subprocess.run(["sha256sum", "--check", "--quiet", "--strict", "SHA256SUMS"], cwd=top,
                   check=True)
    sums = (top / "SHA256SUMS").read_text()
    assert "console/echarts.min.js" in sums and "MANIFEST.json" in sums


def test_the_wheels_are_the_dependencies_to_run_and_not_the_test_tools(built: Path) -> None:
    names = {_project(w.name) for w in (built / bundle.TOP / "wheels").glob("*.whl")}

    for needed in ("fastapi", "sqlalchemy", "weasyprint", "jieba", "panoramisk", "setuptools"):
        assert needed in names
    assert not names & {"pytest", "ruff", "mypy", "playwright"}


def test_setup_installs_from_the_bundle_alone_in_a_namespace_with_no_route_out(
        installed: Path, netns: str) -> None:
    hotline = str(installed / ".venv/bin/hotline")

    assert list(installed.glob(".venv/.installed-run-*"))
    assert (installed / "agent_console/static/vendor/echarts.min.js").stat().st_size > 100_000
    assert "bundle" in _in(netns, [hotline, "--help"], cwd=installed).stdout
    assert _in(netns, ["ip", "route", "show"]).stdout.strip() == ""
    outside = _in(netns, [sys.executable, "-c",
                          "import socket; socket.create_connection(('1.1.1.1', 443), 3)"])
    assert "Network is unreachable" in outside.stderr


def test_every_module_imports_with_only_what_the_bundle_installed(installed: Path,
                                                                   netns: str) -> None:
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    packages = pyproject["tool"]["mypy"]["packages"]

    done = _in(netns, [str(installed / ".venv/bin/python"), "-c", IMPORT_ALL, *packages],
               cwd=installed)

    assert done.returncode == 0, done.stdout + done.stderr


def test_the_console_installed_offline_serves_its_pages_and_assets(
        installed: Path, netns: str) -> None:
    console = subprocess.Popen(["ip", "netns", "exec", netns, str(installed / ".venv/bin/hotline"),
                                "console"], cwd=installed, env=_clean_env(),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while _fetch(netns, "/login").returncode != 0:
            assert console.poll() is None, "the console ended"
            assert time.monotonic() < deadline, "the console did not answer within 60 s"
            time.sleep(0.5)
        page = _fetch(netns, "/login").stdout
        asset = _fetch(netns, "/static/vendor/echarts.min.js").stdout
    finally:
        console.terminate()
        console.wait(timeout=20)
    assert "登录" in page
    assert len(asset) > 100_000


def _fetch(netns: str, path: str) -> subprocess.CompletedProcess[str]:
    code = (f"import urllib.request; print(urllib.request.urlopen('{CONSOLE_URL}{path}', "
            f"timeout=5).read().decode())")
    return _in(netns, [sys.executable, "-c", code])


def _in(netns: str, argv: list[str], cwd: Path | None = None,
        timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", "netns", "exec", netns, *argv], cwd=cwd, env=_clean_env(),
                          capture_output=True, text=True, timeout=timeout, check=False)


def _clean_env() -> dict[str, str]:
    """This run's environment without the test session's hotline settings."""
    return {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}


def _project(wheel: str) -> str:
    return re.sub(r"[-_.]+", "-", wheel.split("-")[0]).lower()
