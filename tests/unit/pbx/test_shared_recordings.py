"""[cluster] recordings_dir (issue 17): every node's Asterisk records into the share, every
part reads it there, and the sandboxed Asterisk is refused a share outside its chroot."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

import pbx
from hotline.settings import ClusterSettings, Settings
from pbx.config import _site_extensions
from recordings.jobs import recordings_root


def _settings(tmp_path: Path, shared: Path | None, mode: str = "sandbox") -> Settings:
    base = Settings()
    return dataclasses.replace(
        base, pbx=dataclasses.replace(base.pbx, mode=mode, sandbox_dir=tmp_path / "sandbox"),
        cluster=ClusterSettings(node="pbx1", nodes=("pbx1=10.1.1.11", "pbx2=10.1.1.12"),
                                proxy="10.1.1.10", recordings_dir=str(shared or "")))


def test_the_share_inside_the_sandbox_is_where_asterisk_writes_and_parts_read(
        tmp_path: Path) -> None:
    shared = tmp_path / "sandbox" / "srv" / "recordings"
    settings = _settings(tmp_path, shared)
    inst = pbx.instance_for(settings)
    assert inst.recordings_dir == shared == recordings_root(settings)
    assert inst.pbx_recordings_dir == Path("/srv/recordings")
    assert "HOTLINE_RECORDINGS=/srv/recordings\n" in _site_extensions(settings, inst)


def test_a_share_outside_the_sandbox_is_refused_with_the_reason(tmp_path: Path) -> None:
    with pytest.raises(pbx.PbxError, match="outside the Asterisk sandbox"):
        pbx.instance_for(_settings(tmp_path, tmp_path / "elsewhere"))


def test_without_a_share_each_instance_keeps_its_own_folder(tmp_path: Path) -> None:
    settings = _settings(tmp_path, None)
    inst = pbx.instance_for(settings)
    assert inst.recordings_dir == inst.host_root / "recordings"
    assert f"HOTLINE_RECORDINGS={inst.pbx_root / 'recordings'}\n" in _site_extensions(
        settings, inst)
