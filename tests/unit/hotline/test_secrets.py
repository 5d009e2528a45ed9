"""hotline.secrets: generated once, private, stable; an older site's phone passwords kept."""

from __future__ import annotations

import dataclasses
import stat
import tomllib
from pathlib import Path

from hotline.secrets import load_or_create, sms_hook_secret
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
    # Phone passwords are the phones table's now (hotline.db.phones), not generated here.
    assert created.phone_passwords == {}
    assert tomllib.loads(path.read_text()) == {"ami_secret": created.ami_secret,
                                               "sms_hook_secret": created.sms_hook_secret}
    assert len(created.sms_hook_secret) == 48  # what an SMS provider signs pushes with
    assert sms_hook_secret(_settings(data_dir)) == created.sms_hook_secret
    assert [p.name for p in data_dir.iterdir()] == ["secrets.toml"]  # no temporary left


def test_stable_on_reload_and_not_rewritten(tmp_path: Path) -> None:
    first = load_or_create(_settings(tmp_path))
    path = tmp_path / "secrets.toml"
    before = path.stat()

    second = load_or_create(_settings(tmp_path, seats=("8001", "8002", "8005")))

    assert second == first
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_an_older_sites_phone_passwords_are_read_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "secrets.toml"
    path.write_text('ami_secret = ""\n\n[phones]\n"8001" = "old-8001"\n8101 = "old-8101"\n')

    loaded = load_or_create(_settings(tmp_path))

    assert loaded.phone_passwords == {"8001": "old-8001", "8101": "old-8101"}
    assert len(loaded.ami_secret) == 32  # the empty one was replaced, the phones kept
    assert tomllib.loads(path.read_text()) == {
        "ami_secret": loaded.ami_secret, "sms_hook_secret": loaded.sms_hook_secret,
        "phones": {"8001": "old-8001", "8101": "old-8101"}}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "old-8001" not in repr(loaded)


def test_each_data_folder_gets_its_own_secrets(tmp_path: Path) -> None:
    # Two data folders, two different sets of secrets: nothing is shared or hard-coded.
    one = load_or_create(_settings(tmp_path / "one"))
    two = load_or_create(_settings(tmp_path / "two"))

    assert one.ami_secret != two.ami_secret


def test_the_trunk_passwords_a_court_added_survive_a_rewrite(tmp_path: Path) -> None:
    """A site from before sms_hook_secret gets it added: the file is rewritten, and the
    carrier trunks' passwords written into it by hand (issue 16) stay."""
    path = tmp_path / "secrets.toml"
    path.write_text('ami_secret = "a" \n\n[trunk_passwords]\nunicom = "p\\"w;1"\n')

    loaded = load_or_create(_settings(tmp_path))

    assert tomllib.loads(path.read_text())["trunk_passwords"] == {"unicom": 'p"w;1'}
    assert len(loaded.sms_hook_secret) == 48  # the rewrite happened
