"""pbx/proxy.py (the SIP proxy's kamailio.cfg) and the nodes' side of site/pjsip.conf
behind it (issue 17): rendered from [cluster], the trunks and [database]."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from hotline.db.models import Phone
from hotline.settings import ClusterSettings, DatabaseSettings, PathsSettings, PbxSettings, Settings
from hotline.trunks import Trunk
from pbx import PbxError, proxy, render_pjsip
from tests.unit.pbx.test_pbx import sections

CLUSTER = ClusterSettings(node="pbx1", nodes=("pbx1=10.1.1.11", "pbx2=10.1.1.12:5080"),
                          proxy="10.1.1.10", probe_seconds=2)
TELECOM = Trunk("telecom", "ip", host="198.51.100.7", match="198.51.100.0/28,203.0.113.5")
PBX = PbxSettings(sip_bind="10.1.1.11", sip_port=5060, trunks=(TELECOM,))
PG = "postgresql+psycopg://hotline:s3cret@10.1.1.5:5433/hotline"
SEAT = Phone(extension="8001", kind="seat", label="", password="pw-8001", enabled=True)


def _settings(tmp_path: Path, **changes: object) -> Settings:
    base = Settings(paths=PathsSettings(data_dir=tmp_path), database=DatabaseSettings(url=PG),
                    pbx=PBX, cluster=CLUSTER)
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_every_node_is_in_the_dispatcher_set_with_its_sip_port(tmp_path: Path) -> None:
    text = proxy.render_nodes(_settings(tmp_path))
    rows = [line.split() for line in text.splitlines() if not line.startswith("#")]
    assert rows == [["1", "sip:10.1.1.11:5060", "0", "0", "duid=pbx1"],
                    ["1", "sip:10.1.1.12:5080", "0", "0", "duid=pbx2"]]


def test_the_config_listens_on_the_proxy_probes_every_probe_seconds_and_knows_the_carrier(
        tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    text = proxy.render_config(settings, proxy.paths(settings))
    assert "listen=udp:10.1.1.10:5060" in text
    assert 'modparam("dispatcher", "ds_ping_interval", 2)' in text
    assert 'modparam("dispatcher", "ds_probing_mode", 1)' in text
    assert 'modparam("usrloc", "db_mode", 0)' in text
    # hashing over the Call-ID: a phone's INVITE and its retry with the digest, one node
    assert 'ds_select_dst("1", "0")' in text
    # the carrier's addresses, ports dropped, each a network
    assert ('is_in_subnet("$si", "198.51.100.0/28,203.0.113.5/32")) '
            '{ $var(trunk) = "telecom"; return 1; }') in text
    # the phones' passwords are read from the hotline's database over TCP
    assert '"hotline=>postgres://hotline:s3cret@10.1.1.5:5433/hotline"' in text
    assert "FROM phones WHERE extension = '$au' AND enabled" in text


def test_the_trunk_header_is_removed_from_all_but_the_carrier(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    text = proxy.render_config(settings, proxy.paths(settings))
    head = text.index("request_route {")
    removed = text.index('remove_hf("X-Hotline-Trunk")', head)
    added = text.index('append_hf("X-Hotline-Trunk: $var(trunk)\\r\\n")', head)
    assert removed < added
    assert 'if ($var(trunk) == "") {\n        remove_hf("X-Hotline-Trunk");' in text


def test_an_unregistered_seat_s_options_gets_no_answer(tmp_path: Path) -> None:
    """Asterisk counts any answer to its qualify as reachable: only silence is not."""
    settings = _settings(tmp_path)
    text = proxy.render_config(settings, proxy.paths(settings))
    from_node = text[text.index("route[FROM_NODE]"):]
    not_found = from_node[from_node.index('if (!lookup("location"))'):]
    options = not_found[:not_found.index('sl_send_reply("404"')]
    assert 'is_method("OPTIONS")' in options and "exit;" in options


@pytest.mark.parametrize(("url", "message"), [
    ("sqlite:////tmp/h.db", "reads the phones from PostgreSQL"),
    ("postgresql+psycopg://postgres@/hotline?host=/var/run/postgresql", "over TCP"),
])
def test_the_proxy_needs_postgresql_over_tcp(tmp_path: Path, url: str, message: str) -> None:
    settings = _settings(tmp_path, database=DatabaseSettings(url=url))
    with pytest.raises(PbxError, match=message):
        proxy.check(settings)


def test_a_register_trunk_is_refused_behind_the_proxy(tmp_path: Path) -> None:
    unicom = Trunk("unicom", "register", host="203.0.113.9", username="u", password="p")
    settings = _settings(tmp_path, pbx=dataclasses.replace(PBX, trunks=(unicom,)))
    with pytest.raises(PbxError, match="unicom: a register trunk is not supported"):
        proxy.check(settings)
    with pytest.raises(PbxError, match="register trunk"):
        render_pjsip(settings.pbx, [SEAT], settings.cluster)


def test_a_carrier_given_by_name_is_refused(tmp_path: Path) -> None:
    named = Trunk("telecom", "ip", host="sip.carrier.example")
    settings = _settings(tmp_path, pbx=dataclasses.replace(PBX, trunks=(named,)))
    with pytest.raises(PbxError, match=r"'sip\.carrier\.example' is not one"):
        proxy.check(settings)


def test_behind_the_proxy_the_carrier_is_known_by_the_header_and_reached_through_it() -> None:
    text = render_pjsip(PBX, [SEAT], CLUSTER)
    found = {(s.name, s.options.get("type", s.templates)): s.options for s in sections(text)}
    identify = found[("telecom", "identify")]
    assert identify["match_header"] == "X-Hotline-Trunk: telecom"
    assert "match" not in identify
    assert "outbound_proxy = sip:10.1.1.10:5060\\;lr" in text  # ; escaped for Asterisk
    assert found[("telecom", "aor")]["contact"] == "sip:198.51.100.7:5060"
    # the proxy's probes: an endpoint of their own, never challenged
    assert found[("hotline-proxy", "endpoint")]["context"] == "hotline-proxy-none"
    assert "auth" not in found[("hotline-proxy", "endpoint")]


def test_behind_the_proxy_each_phone_is_reached_at_the_proxy_and_qualified() -> None:
    text = render_pjsip(PBX, [SEAT], CLUSTER)
    [aor] = [s for s in sections(text) if s.name == "8001" and s.templates == "staff-aor"]
    assert aor.options == {"contact": "sip:8001@10.1.1.10:5060", "qualify_frequency": "5"}


def test_without_nodes_the_rendering_is_the_single_server_s() -> None:
    alone = ClusterSettings()
    assert render_pjsip(PBX, [SEAT], alone) == render_pjsip(PBX, [SEAT])
    assert "X-Hotline-Trunk" not in render_pjsip(PBX, [SEAT])


@pytest.mark.skipif(shutil.which("kamailio") is None, reason="Kamailio is not installed "
                    "(apt-get install kamailio kamailio-postgres-modules)")
def test_kamailio_accepts_the_rendered_config(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    where = proxy.write(settings)
    checked = proxy.check_config(where.config)
    assert checked.returncode == 0, checked.stderr[-3000:]
    assert where.nodes.read_text() == proxy.render_nodes(settings)


@pytest.mark.skipif(shutil.which("kamailio") is None, reason="Kamailio is not installed")
def test_kamailio_refuses_a_broken_config(tmp_path: Path) -> None:
    """The check above can fail: a config with a typo is refused."""
    settings = _settings(tmp_path)
    where = proxy.write(settings)
    where.config.write_text(where.config.read_text().replace("t_relay()", "t_rely()", 1))
    assert proxy.check_config(where.config).returncode != 0


def test_a_node_s_call_ids_start_with_its_name(tmp_path: Path) -> None:
    """A call's id is Asterisk's linkedid ("1796109104.0", the time and a counter): two
    nodes give the same ids within a second, and the second call's record would take the
    first's place in the one database. systemname makes them "pbx1-1796109104.0"."""
    from pbx.config import _asterisk_conf
    from pbx.instance import PbxInstance

    inst = PbxInstance(chroot=None, pbx_root=tmp_path / "pbx")
    node = _asterisk_conf(inst, "pbx1")
    options = node[node.index("[options]"):].split("\n[", 1)[0]
    assert "\nsystemname = pbx1\n" in options
    assert "systemname" not in _asterisk_conf(inst)  # one server: unchanged


def test_a_node_never_bans_the_proxy_s_address(tmp_path: Path) -> None:
    """Behind the proxy a phone's wrong password comes from the proxy's address: banning
    it would cut off every caller."""
    from pbx.sip_security import proxy_networks

    assert [str(n) for n in proxy_networks(_settings(tmp_path))] == ["10.1.1.10/32"]
    assert proxy_networks(_settings(tmp_path, cluster=ClusterSettings())) == []
