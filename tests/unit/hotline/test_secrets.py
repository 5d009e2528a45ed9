"""hotline.secrets: generated once, private, stable, and extended for new phones."""

from __future__ import annotations

import dataclasses
import stat
import tomllib
from pathlib import Path

from hotline.secrets import load_or_create
from hotline.settings import PathsSettings, PbxSettings, Settings


def _settings(data_dir: Path, seats: tuple[str, ...] = ("8001", "8002")) -> Settings:
    return dataclasses.replace(Settings(), paths=PathsSettings(data_dir=data_dir),
                               pbx=PbxSettings(seats=seats, judges=("8101",)))


def test_generated_on_first_load(tmp_path: Path) -> None:
    data_dir = tmp_path / "new" / "data"
    created = load_or_create(_settings(data_dir))

    path = data_dir / "secrets.toml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(created.ami_secret) == 32
    assert set(created.phone_passwords) == {"8001", "8002", "8101"}
    assert len(set(created.phone_passwords.values())) == 3
    assert all(len(p) >= 16 for p in created.phone_passwords.values())
    on_disk = tomllib.loads(path.read_text())
    assert on_disk == {"ami_secret": created.ami_secret, "phones": created.phone_passwords}
    assert [p.name for p in data_dir.iterdir()] == ["secrets.toml"]  # no temporary left


def test_stable_on_reload_and_not_rewritten(tmp_path: Path) -> None:
    first = load_or_create(_settings(tmp_path))
    path = tmp_path / "secrets.toml"
    before = path.stat()

    second = load_or_create(_settings(tmp_path))

    assert second == first
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_new_seat_gets_a_password_and_others_keep_theirs(tmp_path: Path) -> None:
    first = load_or_create(_settings(tmp_path))

    grown = load_or_create(_settings(tmp_path, seats=("8001", "8002", "8005")))

    assert grown.ami_secret == first.ami_secret
    assert {k: grown.phone_passwords[k] for k in first.phone_passwords} == first.phone_passwords
    assert grown.phone_passwords["8005"] not in first.phone_passwords.values()
    assert stat.S_IMODE((tmp_path / "secrets.toml").stat().st_mode) == 0o600
    assert load_or_create(_settings(tmp_path, seats=("8001", "8002", "8005"))) == grown


def test_each_data_folder_gets_its_own_secrets(tmp_path: Path) -> None:
    # Two data folders, two different sets of secrets: nothing is shared or hard-coded.
    one = load_or_create(_settings(tmp_path / "one"))
    two = load_or_create(_settings(tmp_path / "two"))

    assert one.ami_secret != two.ami_secret
    assert one.phone_passwords["8001"] != two.phone_passwords["8001"]
