"""hotline.settings: defaults → config file → environment, and errors that say where."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotline.settings import REPO_ROOT, Settings, SettingsError, load_settings


def _config(tmp_path: Path, text: str, name: str = "hotline.toml") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_file_or_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(env={}, config_path=None)

    assert settings.pbx.sip_port == 5060 and settings.pbx.ami_port == 5038
    assert settings.pbx.seats == ("8001", "8002", "8003", "8004")
    assert settings.hours.timezone == "Asia/Shanghai"
    assert settings.hours.winter == ("08:00-12:00", "14:30-17:30")
    assert settings.data_dir == (tmp_path / "data").resolve()
    assert settings.database_url == f"sqlite:///{settings.data_dir / 'hotline.db'}"
    assert (settings.run_dir, settings.log_dir) == (settings.data_dir / "run",
                                                   settings.data_dir / "log")


def test_shipped_config_file_loads() -> None:
    settings = load_settings(env={})

    assert isinstance(settings, Settings)
    assert settings.data_dir.is_absolute()


def test_file_overrides_defaults(tmp_path: Path) -> None:
    path = _config(tmp_path, """
[pbx]
sip_port = 15060
seats = ["9001", "9002"]
[hours]
timezone = "Asia/Urumqi"
[database]
url = "postgresql://u@db/hotline"
""")
    settings = load_settings(env={}, config_path=path)

    assert settings.pbx.sip_port == 15060
    assert settings.pbx.seats == ("9001", "9002")
    assert settings.pbx.ami_port == 5038  # untouched keys keep their default
    assert settings.hours.timezone == "Asia/Urumqi"
    assert settings.database_url == "postgresql://u@db/hotline"


def test_environment_beats_the_file(tmp_path: Path) -> None:
    path = _config(tmp_path, "[pbx]\nsip_port = 15060\nami_port = 15038\n")
    env = {"HOTLINE_PBX_SIP_PORT": "25060", "HOTLINE_PBX_SEATS": "7001, 7002,",
           "HOTLINE_CALLS_QUEUE_MAX_WAIT": "60", "HOTLINE_TEST_PG_URL": "ignored: no section"}
    settings = load_settings(env=env, config_path=path)

    assert settings.pbx.sip_port == 25060
    assert settings.pbx.ami_port == 15038
    assert settings.pbx.seats == ("7001", "7002")
    assert settings.calls.queue_max_wait == 60


def test_hotline_config_variable_chooses_the_file(tmp_path: Path) -> None:
    path = _config(tmp_path, "[pbx]\nagi_port = 14573\n", "elsewhere/site.toml")
    settings = load_settings(env={"HOTLINE_CONFIG": str(path)}, config_path=None)

    assert settings.pbx.agi_port == 14573


def test_missing_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="no such config file"):
        load_settings(env={}, config_path=tmp_path / "absent.toml")


def test_unknown_section_is_named(tmp_path: Path) -> None:
    path = _config(tmp_path, "[pbxx]\nsip_port = 1\n")
    with pytest.raises(SettingsError, match=r"unknown section \[pbxx\]"):
        load_settings(env={}, config_path=path)


def test_section_that_is_not_a_table_is_named(tmp_path: Path) -> None:
    path = _config(tmp_path, 'pbx = "oops"\n')
    with pytest.raises(SettingsError, match=r"\[pbx\] must be a table"):
        load_settings(env={}, config_path=path)


def test_unknown_key_is_named(tmp_path: Path) -> None:
    path = _config(tmp_path, "[pbx]\nsip_prot = 5060\n")
    with pytest.raises(SettingsError, match=r"\[pbx\] unknown key 'sip_prot'"):
        load_settings(env={}, config_path=path)


def test_unknown_key_from_environment_is_named() -> None:
    with pytest.raises(SettingsError, match=r"\[hours\] unknown key 'summr'"):
        load_settings(env={"HOTLINE_HOURS_SUMMR": "08:00-12:00"}, config_path=None)


@pytest.mark.parametrize(("toml", "where"), [
    ('[pbx]\nsip_port = "fifty"\n', "[pbx] sip_port"),
    ("[pbx]\nsip_port = 5060.5\n", "[pbx] sip_port"),
    ("[pbx]\nsip_port = true\n", "[pbx] sip_port"),
    ("[pbx]\nseats = 8001\n", "[pbx] seats"),
    ("[hours]\ntimezone = 8\n", "[hours] timezone"),
    ("[paths]\ndata_dir = 42\n", "[paths] data_dir"),
])
def test_wrong_type_in_file_is_named(tmp_path: Path, toml: str, where: str) -> None:
    path = _config(tmp_path, toml)
    with pytest.raises(SettingsError) as error:
        load_settings(env={}, config_path=path)
    assert str(error.value).startswith(f"{where}: ")
    assert "is not a valid" in str(error.value)


def test_wrong_type_in_environment_is_named() -> None:
    with pytest.raises(SettingsError, match=r"\[pbx\] ami_port: 'x5038' is not a valid int"):
        load_settings(env={"HOTLINE_PBX_AMI_PORT": "x5038"}, config_path=None)


def test_broken_toml_names_file_and_line(tmp_path: Path) -> None:
    path = _config(tmp_path, "[pbx]\nsip_port = 5060\nami_port = \n")
    with pytest.raises(SettingsError) as error:
        load_settings(env={}, config_path=path)
    assert str(error.value).startswith(f"{path}: ")
    assert "line 3" in str(error.value)


def test_unclosed_string_names_its_line(tmp_path: Path) -> None:
    path = _config(tmp_path, '\n[hours]\ntimezone = "Asia/Shanghai\n')
    with pytest.raises(SettingsError, match=r"line 3"):
        load_settings(env={}, config_path=path)


def test_relative_data_dir_resolves_against_the_config_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _config(tmp_path, '[paths]\ndata_dir = "../var/hotline"\n', "etc/hotline.toml")
    monkeypatch.chdir(REPO_ROOT)  # not the config's folder
    settings = load_settings(env={}, config_path=path)

    assert settings.data_dir == (tmp_path / "var" / "hotline").resolve()
    assert settings.data_dir.is_absolute()


def test_absolute_data_dir_is_kept(tmp_path: Path) -> None:
    target = tmp_path / "abs"
    path = _config(tmp_path, "", "etc/hotline.toml")
    settings = load_settings(env={"HOTLINE_PATHS_DATA_DIR": str(target)}, config_path=path)

    assert settings.data_dir == target
