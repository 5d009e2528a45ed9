"""The [recordings] settings: defaults, and wrong values named before anything starts."""

from __future__ import annotations

import pytest

from hotline.settings import SettingsError, load_settings


def test_defaults_and_environment() -> None:
    settings = load_settings(env={"HOTLINE_RECORDINGS_FORMAT": "mp3",
                                  "HOTLINE_RECORDINGS_RETENTION_DAYS": "1825"})

    assert (settings.recordings.format, settings.recordings.bitrate) == ("mp3", "16k")
    assert settings.recordings.retention_days == 1825


@pytest.mark.parametrize(("key", "value", "named"), [
    ("FORMAT", "flac", "[recordings] format: 'flac'"),
    ("BITRATE", "lots", "[recordings] bitrate: 'lots'"),
    ("RETENTION_DAYS", "0", "retention_days"),
    ("DISK_WARN_PERCENT", "120", "disk_warn_percent"),
])
def test_wrong_values_are_named(key: str, value: str, named: str) -> None:
    with pytest.raises(SettingsError) as error:
        load_settings(env={f"HOTLINE_RECORDINGS_{key}": value})

    assert named in str(error.value)
