"""hotline.trunks: [[trunks]] read and checked, a wrong entry named by its line."""

from __future__ import annotations

import doctest
import re
from pathlib import Path

import pytest

from hotline import trunks
from hotline.settings import SettingsError, load_settings

CONFIG = """\
[pbx]
sip_port = 15060

[[trunks]]
name = "telecom"
kind = "ip"
host = "198.51.100.7"
match = "198.51.100.0/28"

[[trunks]]
name = "unicom"
kind = "register"
host = "203.0.113.9"
port = 5080
username = "037912368"
dids = ["037965110000 = queue", "12368"]
"""


def _load(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> object:
    path = tmp_path / "hotline.toml"
    path.write_text(text)
    return load_settings(env=env or {}, config_path=path)


def test_the_examples_in_the_docstring_hold() -> None:
    assert doctest.testmod(trunks).failed == 0


def test_both_kinds_are_read_with_the_password_from_the_environment(tmp_path: Path) -> None:
    settings = _load(tmp_path, CONFIG, {"HOTLINE_TRUNK_UNICOM_PASSWORD": "s3cret"})
    telecom, unicom = settings.pbx.trunks  # type: ignore[attr-defined]

    assert (telecom.kind, telecom.sources, telecom.port) == ("ip", "198.51.100.0/28", 5060)
    assert (unicom.kind, unicom.port, unicom.username, unicom.password) == (
        "register", 5080, "037912368", "s3cret")
    assert unicom.dids == (("037965110000", "queue"), ("12368", "hotline"))
    assert "s3cret" not in repr(unicom)
    assert trunks.did_routes([telecom, unicom]) == {"037965110000": "queue"}


def test_the_password_may_be_kept_in_the_secrets_file(tmp_path: Path) -> None:
    (tmp_path / "secrets.toml").write_text('[trunk_passwords]\nunicom = "from-file"\n')
    settings = _load(tmp_path, f'[paths]\ndata_dir = "{tmp_path}"\n' + CONFIG)

    assert settings.pbx.trunks[1].password == "from-file"  # type: ignore[attr-defined]


def test_without_trunks_carrier_match_is_the_one_ip_trunk(tmp_path: Path) -> None:
    settings = _load(tmp_path, '[pbx]\ncarrier_match = "198.51.100.7:5060"\n')

    [carrier] = settings.pbx.trunks  # type: ignore[attr-defined]
    assert (carrier.name, carrier.kind, carrier.host, carrier.sources) == (
        "carrier", "ip", "198.51.100.7:5060", "198.51.100.7:5060")


@pytest.mark.parametrize(("change", "line", "says"), [
    (('port = 5080', 'port = "abc"'), 14, "port: 'abc' is not a port"),
    (('kind = "register"', 'kind = "sip"'), 12, "kind: 'sip' is not one of ip, register"),
    (('name = "unicom"', 'name = "telecom"'), 11, "'telecom' names two trunks"),
    (('"037965110000 = queue"', '"037965110000 = ivr"'), 16,
     "route 'ivr' is not one of hotline, queue, menu, closed"),
    (('username = "037912368"\n', ''), 10, "username: a register trunk needs the user name"),
    (('match = "198.51.100.0/28"', 'match = "carrier.example"'), 8, "not addresses"),
    (('host = "198.51.100.7"', 'hots = "198.51.100.7"'), 7, "hots: unknown key"),
])
def test_a_wrong_entry_stops_the_start_naming_its_line(
        tmp_path: Path, change: tuple[str, str], line: int, says: str) -> None:
    text = CONFIG.replace(*change)
    with pytest.raises(SettingsError, match=rf"line {line}: .*{re.escape(says)}"):
        _load(tmp_path, text, {"HOTLINE_TRUNK_UNICOM_PASSWORD": "pw",
                               "HOTLINE_TRUNK_TELECOM_PASSWORD": "pw"})


def test_a_register_trunk_without_a_password_says_where_to_put_it(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"line 10: .*HOTLINE_TRUNK_UNICOM_PASSWORD"):
        _load(tmp_path, CONFIG)


@pytest.mark.parametrize(("line", "says"), [
    ('codecs = ["alow"]', "codecs: ['alow']"),
    ('local_net = ["192.168.0.0/33"]', "local_net: '192.168.0.0/33'"),
    ('carrier_bind = "10.1.1.5; x"', "carrier_bind: '10.1.1.5; x'"),
])
def test_a_wrong_network_key_stops_the_start(tmp_path: Path, line: str, says: str) -> None:
    with pytest.raises(SettingsError, match=re.escape(f"[pbx] {says}")):
        _load(tmp_path, f"[pbx]\n{line}\n")
