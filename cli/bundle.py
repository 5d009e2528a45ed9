"""`hotline bundle OUT.tar`: what `make run` installs, in one archive, for a court's server
with no network (`make run OFFLINE=OUT.tar`; scripts/offline.sh reads the layout below).

Built on a Debian 12 machine of the same architecture that reaches the package mirrors and
has run `make setup`. Inside the archive, under hotline-bundle/:

    MANIFEST.json   what is inside, built from which commit, when, for what machine
    TARGET          arch=, debian=, python= lines: what scripts/offline.sh checks first
    SHA256SUMS      every file's checksum (sha256sum --check)
    wheels/         the venv: the project's dependencies (no dev extra), pip, setuptools
    debs/           scripts/packages-run.txt and what those depend on beyond a minimal
                    Debian 12, with a Packages index: a local apt repository
    sandbox.tar.gz  the sandboxed Asterisk's chroot, without any instance's folders
    console/        the console's browser assets (agent_console/static/vendor)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
import tomllib
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path

import pbx
from hotline.settings import REPO_ROOT, Settings

TOP = "hotline-bundle"
PARTS = ("wheels", "debs", "sandbox", "console")
FORMAT = 1
RUN_PACKAGES = REPO_ROOT / "scripts" / "packages-run.txt"
VENDOR_DIR = REPO_ROOT / "agent_console" / "static" / "vendor"
DPKG_STATUS = Path("/var/lib/dpkg/status")
# What the chroot holds that is not the sandbox itself: the instances' folders (calls,
# recordings, secrets of whoever ran here), temporary files, apt's downloads and lists.
SANDBOX_LEAVES_OUT = ("./srv/hotline/*", "./tmp/*", "./var/tmp/*",
                      "./var/cache/apt/archives/*.deb", "./var/lib/apt/lists/*")


class BundleError(RuntimeError):
    """The bundle could not be built; the message says what is missing."""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `bundle` command to hotline's subcommands."""
    p = sub.add_parser("bundle", help="one archive to install the hotline on a machine with "
                                      "no network (make run OFFLINE=...)")
    p.add_argument("out", type=Path, help="the archive to write, e.g. hotline-bundle.tar")
    p.add_argument("--parts", type=parts_arg, default=PARTS,
                   help=f"comma-separated, default all: {','.join(PARTS)}")
    p.set_defaults(func=cmd_bundle)


def parts_arg(text: str) -> tuple[str, ...]:
    parts = tuple(word.strip() for word in text.split(",") if word.strip())
    unknown = [part for part in parts if part not in PARTS]
    if unknown or not parts:
        raise argparse.ArgumentTypeError(
            f"unknown part {', '.join(unknown) or '(none)'}; choose from {','.join(PARTS)}")
    return parts


def cmd_bundle(settings: Settings, args: argparse.Namespace) -> int:
    out: Path = args.out.resolve()
    building = out.with_name(out.name + ".building")
    shutil.rmtree(building, ignore_errors=True)
    try:
        build(settings, building / TOP, args.parts)
        pack(building, out)
    except BundleError as exc:
        print(f"hotline bundle: {exc}", file=sys.stderr)
        return 2
    finally:
        shutil.rmtree(building, ignore_errors=True)
    print(f"bundle: {out} ({megabytes(out.stat().st_size)})")
    return 0


def build(settings: Settings, top: Path, parts: Iterable[str]) -> None:
    """Each part into top, timed, then the manifest and the checksums."""
    top.mkdir(parents=True)
    builders: dict[str, Callable[[Settings, Path], None]] = {
        "wheels": add_wheels, "debs": add_debs, "sandbox": add_sandbox, "console": add_console}
    done = []
    for part in parts:
        started = time.monotonic()
        builders[part](settings, top)
        done.append(part)
        size = sum(f.stat().st_size for f in top.rglob("*") if f.is_file())
        print(f"bundle: {part} done in {time.monotonic() - started:.0f} s, "
              f"{megabytes(size)} so far", flush=True)
    write_manifest(top, manifest(done))
    write_sums(top)


# --- the parts ----------------------------------------------------------------------------

def add_wheels(settings: Settings, top: Path) -> None:
    """Wheels of the project's dependencies and of its build tools (for `pip install -e .`);
    pip builds the ones published only as source (jieba)."""
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    wanted = [*pyproject["project"]["dependencies"], *pyproject["build-system"]["requires"],
              "pip", "wheel"]
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--wheel-dir", str(top / "wheels"),
          *wanted], "pip wheel")


def add_debs(settings: Settings, top: Path) -> None:
    """scripts/packages-run.txt's packages with everything they depend on that a minimal
    Debian 12 lacks (apt resolving against a status file of that minimum alone), and the
    minimum's own packages at this mirror's versions, for a server at an older point release."""
    debs, state = top / "debs", top / "apt-state"
    (debs / "partial").mkdir(parents=True)
    state.mkdir()
    status = minimal_status(DPKG_STATUS.read_text())
    (state / "status").write_text(status)
    _run(["apt-get", "install", "-q", "-y", "--download-only", "--no-install-recommends",
          "-o", "Debug::NoLocking=1", "-o", f"Dir::State::status={state / 'status'}",
          "-o", f"Dir::Cache::archives={debs}", *read_packages(RUN_PACKAGES)], "apt-get")
    _run(["apt-get", "download", "-q", *stanza_names(status)], "apt-get download", cwd=debs)
    shutil.rmtree(state)
    shutil.rmtree(debs / "partial")
    (debs / "lock").unlink(missing_ok=True)
    (debs / "Packages").write_text(packages_index(sorted(debs.glob("*.deb"))))


def add_sandbox(settings: Settings, top: Path) -> None:
    """The sandbox's chroot as it is here (built first if this machine has none)."""
    root = settings.pbx.sandbox_dir
    settings.log_dir.mkdir(parents=True, exist_ok=True)
    pbx.ensure_sandbox(root, settings.log_dir / "sandbox-build.log")
    excludes = [f"--exclude={pattern}" for pattern in SANDBOX_LEAVES_OUT]
    _run(["tar", "--create", "--gzip", "--numeric-owner", "--one-file-system", *excludes,
          "--file", str(top / "sandbox.tar.gz"), "--directory", str(root), "."], "tar")


def add_console(settings: Settings, top: Path) -> None:
    """The console's assets as `make setup` put them here from npm."""
    files = sorted(f for f in VENDOR_DIR.iterdir() if f.is_file() and not f.name.startswith("."))
    if not files:
        raise BundleError(f"{VENDOR_DIR} has no assets; run `make setup` first")
    (top / "console").mkdir()
    for file in files:
        shutil.copy2(file, top / "console" / file.name)


# --- pure pieces --------------------------------------------------------------------------

def read_packages(path: Path) -> list[str]:
    """The package names of a scripts/packages-*.txt file (`#` starts a comment)."""
    return [name for line in path.read_text().splitlines()
            for name in line.split("#", 1)[0].split()]


def stanzas(text: str) -> list[dict[str, str]]:
    """A Debian control file (dpkg's status, a Packages index) as one dict per stanza;
    continuation lines are kept with their field."""
    result = []
    for block in re.split(r"\n\s*\n", text.strip()):
        fields: dict[str, str] = {}
        for match in re.finditer(r"^([\w-]+):[ \t]*(.*(?:\n[ \t].*)*)", block, re.M):
            fields[match.group(1)] = match.group(2)
        if fields:
            result.append(fields)
    return result


def stanza_names(status: str) -> list[str]:
    return [fields["Package"] for fields in stanzas(status)]


def minimal_status(status: str) -> str:
    """dpkg's status reduced to what every Debian 12 has: the Essential and required
    packages, apt, and what they depend on (as installed here), so apt, asked to install
    against it, downloads everything else a package needs."""
    installed = {f["Package"]: f for f in stanzas(status)
                 if f.get("Status", "").endswith("installed")
                 and f.get("Status", "").startswith("install ")}
    providers: dict[str, str] = {}
    for name, fields in installed.items():
        for provided in _names(fields.get("Provides", "")):
            providers.setdefault(provided, name)
    todo = [name for name, f in installed.items()
            if f.get("Essential") == "yes" or f.get("Priority") == "required" or name == "apt"]
    keep: set[str] = set()
    while todo:
        name = todo.pop()
        if name in keep:
            continue
        keep.add(name)
        for alternatives in _depends(installed[name]):
            found = next((n if n in installed else providers[n] for n in alternatives
                          if n in installed or n in providers), None)
            if found:
                todo.append(found)
    return "\n\n".join(_stanza_text(installed[name]) for name in sorted(keep)) + "\n"


def _depends(fields: dict[str, str]) -> list[list[str]]:
    """Depends and Pre-Depends as lists of alternatives' names."""
    text = ",".join(fields.get(key, "") for key in ("Pre-Depends", "Depends"))
    return [_names(group.replace("|", ",")) for group in text.split(",") if group.strip()]


def _names(text: str) -> list[str]:
    """Package names of a relation field, without versions or architecture qualifiers."""
    return [item.split()[0].split(":")[0] for item in text.split(",") if item.strip()]


def _stanza_text(fields: dict[str, str]) -> str:
    return "\n".join(f"{key}: {value}" for key, value in fields.items())


def packages_index(debs: Iterable[Path]) -> str:
    """A Packages file for a flat local repository of these .deb files (what
    dpkg-scanpackages writes, with only dpkg-deb, which every Debian has)."""
    entries = []
    for deb in debs:
        control = subprocess.run(["dpkg-deb", "--field", str(deb)], capture_output=True,
                                 text=True, check=True).stdout.rstrip("\n")
        entries.append(f"{control}\nFilename: ./{deb.name}\nSize: {deb.stat().st_size}\n"
                       f"SHA256: {sha256(deb)}\n")
    return "\n".join(entries)


def manifest(parts: list[str]) -> dict[str, object]:
    return {"format": FORMAT, "built": datetime.now(UTC).isoformat(timespec="seconds"),
            "commit": _commit(), "parts": parts, "target": target(),
            "packages": read_packages(RUN_PACKAGES)}


def target() -> dict[str, str]:
    """What the bundle is for: this machine's architecture, Debian release and Python."""
    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True,
                          check=True).stdout.strip()
    debian = Path("/etc/debian_version").read_text().strip().split(".")[0]
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    return {"arch": arch, "debian": debian, "python": python}


def write_manifest(top: Path, data: dict[str, object]) -> None:
    (top / "MANIFEST.json").write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    facts = data["target"]
    assert isinstance(facts, dict)
    (top / "TARGET").write_text("".join(f"{key}={value}\n" for key, value in facts.items()))


def write_sums(top: Path) -> None:
    """SHA256SUMS of every file, in sha256sum's format."""
    files = sorted(f for f in top.rglob("*") if f.is_file() and f.name != "SHA256SUMS")
    lines = [f"{sha256(f)}  {f.relative_to(top)}\n" for f in files]
    (top / "SHA256SUMS").write_text("".join(lines))


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def pack(building: Path, out: Path) -> None:
    """One uncompressed tar (what is inside is compressed already), written beside and
    renamed, so OUT is never half an archive."""
    partial = out.with_name(out.name + ".partial")
    with tarfile.open(partial, "w") as tar:
        tar.add(building / TOP, arcname=TOP)
    os.replace(partial, out)


def megabytes(size: int) -> str:
    return f"{size / 1e6:.0f} MB"


def _commit() -> str | None:
    done = subprocess.run(["git", "-C", str(REPO_ROOT), "rev-parse", "HEAD"],
                          capture_output=True, text=True, check=False)
    return done.stdout.strip() if done.returncode == 0 else None


def _run(argv: list[str], what: str, cwd: Path | None = None) -> None:
    try:
        done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
    except FileNotFoundError as exc:
        raise BundleError(f"{what}: {exc}") from exc
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-15:])
        raise BundleError(f"{what} failed (exit {done.returncode}):\n{tail}")
