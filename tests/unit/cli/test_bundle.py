"""cli/bundle.py's pieces: the package lists, the minimal Debian apt resolves against, the
local repository's index, the manifest and checksums, and the layout scripts/offline.sh
reads. The whole bundle is built and installed offline in tests/install/test_offline.py."""

from __future__ import annotations

import argparse
import json
import subprocess
import tarfile
from pathlib import Path

import pytest

from cli import bundle
from hotline.settings import REPO_ROOT, load_settings

STATUS = """\
Package: libc6
Status: install ok installed
Priority: required
Version: 2.36-9
Provides: libc6-x

Package: coreutils
Status: install ok installed
Essential: yes
Pre-Depends: libc6 (>= 2.34), libacl1 (>= 2.2.23)
Description: the basic tools
 spread over two lines

Package: libacl1
Status: install ok installed
Priority: optional

Package: apt
Status: install ok installed
Priority: important
Depends: libc6-x | libnothere, gpgv (>= 2) | gpgv2

Package: gpgv
Status: install ok installed
Priority: optional

Package: ffmpeg
Status: install ok installed
Priority: optional
Depends: libc6

Package: oldthing
Status: deinstall ok config-files
Priority: required
"""


def test_package_lists_give_names_without_comments(tmp_path: Path) -> None:
    listing = tmp_path / "packages.txt"
    listing.write_text("# a heading\npython3 python3-venv  # the hotline\n\n  sox\t# audio\n")

    assert bundle.read_packages(listing) == ["python3", "python3-venv", "sox"]


def test_the_run_list_leaves_the_test_tools_to_the_test_list() -> None:
    run = bundle.read_packages(REPO_ROOT / "scripts/packages-run.txt")
    test = bundle.read_packages(REPO_ROOT / "scripts/packages-test.txt")

    assert {"python3-venv", "ffmpeg", "fonts-wqy-microhei"} <= set(run)
    assert {"sip-tester", "chromium"} <= set(test)
    assert not set(run) & set(test)


def test_stanzas_keep_continuation_lines_with_their_field() -> None:
    coreutils = bundle.stanzas(STATUS)[1]

    assert coreutils["Description"] == "the basic tools\n spread over two lines"
    assert coreutils["Pre-Depends"].startswith("libc6 (>= 2.34)")


def test_the_minimal_debian_is_the_essential_and_required_and_apt_with_their_depends() -> None:
    kept = bundle.stanza_names(bundle.minimal_status(STATUS))

    # libacl1 and gpgv are optional but needed by coreutils and apt; libc6-x is provided by
    # libc6; ffmpeg is left for apt to download; a removed package is not installed.
    assert sorted(kept) == ["apt", "coreutils", "gpgv", "libacl1", "libc6"]


def test_the_local_repository_index_describes_each_deb(tmp_path: Path) -> None:
    deb = _deb(tmp_path, "hotline-probe", "1.2-3")

    index = bundle.stanzas(bundle.packages_index([deb]))

    assert len(index) == 1
    assert index[0]["Package"] == "hotline-probe"
    assert index[0]["Version"] == "1.2-3"
    assert index[0]["Filename"] == "./hotline-probe_1.2-3_all.deb"
    assert index[0]["Size"] == str(deb.stat().st_size)
    assert index[0]["SHA256"] == bundle.sha256(deb)


def test_parts_are_checked_by_name() -> None:
    assert bundle.parts_arg("wheels, console") == ("wheels", "console")
    with pytest.raises(argparse.ArgumentTypeError, match="unknown part docs"):
        bundle.parts_arg("wheels,docs")
    with pytest.raises(argparse.ArgumentTypeError):
        bundle.parts_arg(",")


def test_a_bundle_of_the_console_is_one_tar_with_manifest_target_and_sums(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    vendor = tmp_path / "vendor"
    vendor.mkdir()
    (vendor / "echarts.min.js").write_text("echarts")
    (vendor / ".gitignore").write_text("*\n")
    monkeypatch.setattr(bundle, "VENDOR_DIR", vendor)
    out = tmp_path / "out.tar"

    code = bundle.cmd_bundle(load_settings(), argparse.Namespace(out=out, parts=("console",)))

    assert code == 0
    assert not (tmp_path / "out.tar.building").exists()
    with tarfile.open(out) as tar:
        names = set(tar.getnames())
        tar.extractall(tmp_path / "x", filter="data")
    top = tmp_path / "x" / bundle.TOP
    assert f"{bundle.TOP}/console/echarts.min.js" in names
    assert f"{bundle.TOP}/console/.gitignore" not in names
    manifest = json.loads((top / "MANIFEST.json").read_text())
    assert manifest["parts"] == ["console"] and manifest["format"] == bundle.FORMAT
    assert set((top / "TARGET").read_text().split()) == {
        f"{k}={v}" for k, v in manifest["target"].items()}
    subprocess.run(["sha256sum", "--check", "--quiet", "--strict", "SHA256SUMS"], cwd=top,
                   check=True)
    (top / "console/echarts.min.js").write_text("changed")
    damaged = subprocess.run(["sha256sum", "--check", "--quiet", "SHA256SUMS"], cwd=top,
                             capture_output=True, check=False)
    assert damaged.returncode != 0


def test_no_console_assets_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(bundle, "VENDOR_DIR", tmp_path)
    out = tmp_path / "out.tar"

    code = bundle.cmd_bundle(load_settings(), argparse.Namespace(out=out, parts=("console",)))

    assert code == 2
    assert "has no assets; run `make setup` first" in capsys.readouterr().err
    assert not out.exists() and not (tmp_path / "out.tar.building").exists()


def test_offline_sh_reads_the_layout_the_bundle_writes() -> None:
    script = (REPO_ROOT / "scripts/offline.sh").read_text()
    layout = bundle.__doc__ or ""

    for name in ("SHA256SUMS", "TARGET", "wheels", "debs/Packages", "sandbox.tar.gz",
                 "console"):
        assert name in script
        assert name.split("/")[0] in layout
    for key in bundle.target():
        assert f"offline_target {key}" in script


def _deb(folder: Path, name: str, version: str) -> Path:
    root = folder / name
    (root / "DEBIAN").mkdir(parents=True)
    # dpkg-deb wants 0755, whatever the umask: a `hotline` command run earlier in this
    # process set its own (027)
    (root / "DEBIAN").chmod(0o755)
    (root / "DEBIAN/control").write_text(
        f"Package: {name}\nVersion: {version}\nArchitecture: all\nMaintainer: t <t@t>\n"
        f"Description: a probe\n")
    deb = folder / f"{name}_{version}_all.deb"
    subprocess.run(["dpkg-deb", "--build", "--root-owner-group", str(root), str(deb)],
                   check=True, capture_output=True)
    return deb


@pytest.mark.parametrize(("damage", "message"), [
    ("console/echarts.min.js", "is damaged: the files above do not match its SHA256SUMS"),
    ("TARGET", "was built for armhf, this machine is"),
])
def test_setup_offline_refuses_a_damaged_or_foreign_bundle_before_installing_anything(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage: str, message: str) -> None:
    top = tmp_path / "b" / bundle.TOP
    monkeypatch.setattr(bundle, "VENDOR_DIR", _vendor(tmp_path))
    bundle.build(load_settings(), top, ("console",))
    if damage == "TARGET":
        target = (top / "TARGET").read_text()
        (top / "TARGET").write_text(target.replace(f"arch={bundle.target()['arch']}", "arch=armhf"))
        bundle.write_sums(top)
    else:
        (top / damage).write_text("changed on the way")
    bundle.pack(tmp_path / "b", tmp_path / "bad.tar")
    # setup.sh works in the folder above its own: a copy, so nothing here is touched even if
    # the check let the bundle through.
    (tmp_path / "checkout/scripts").mkdir(parents=True)
    for name in ("setup.sh", "offline.sh"):
        (tmp_path / "checkout/scripts" / name).write_text(
            (REPO_ROOT / "scripts" / name).read_text())

    done = subprocess.run(["bash", str(tmp_path / "checkout/scripts/setup.sh"), "--offline",
                           str(tmp_path / "bad.tar")], capture_output=True, text=True,
                          check=False, timeout=60)

    assert done.returncode == 1
    assert message in done.stderr


def _vendor(folder: Path) -> Path:
    vendor = folder / "vendor"
    vendor.mkdir()
    (vendor / "echarts.min.js").write_text("echarts")
    return vendor
