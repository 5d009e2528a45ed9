"""[cluster]: the nodes behind one SIP proxy (docs/cluster.md). A wrong entry stops the
start with the key and the value named."""

from __future__ import annotations

import pytest

from hotline.settings import SettingsError, load_settings

PG = "postgresql+psycopg://hotline@10.1.1.20/hotline"


def _load(**cluster: str) -> object:
    env = {f"HOTLINE_CLUSTER_{key.upper()}": value for key, value in cluster.items()}
    return load_settings(env={"HOTLINE_DATABASE_URL": PG, **env}, config_path=None)


def test_no_nodes_is_one_server() -> None:
    settings = load_settings(env={}, config_path=None)
    assert not settings.cluster.enabled
    assert settings.cluster.addresses() == {}


def test_nodes_and_proxy_are_read_in_order() -> None:
    settings = _load(nodes="pbx1=10.1.1.11,pbx2=10.1.1.12", proxy="10.1.1.10:5080",
                     node="pbx2")
    cluster = settings.cluster  # type: ignore[attr-defined]
    assert cluster.enabled
    assert list(cluster.addresses().items()) == [("pbx1", "10.1.1.11"), ("pbx2", "10.1.1.12")]
    assert cluster.proxy_host_port() == ("10.1.1.10", 5080)
    assert cluster.node == "pbx2"


def test_proxy_port_defaults_to_5060() -> None:
    settings = _load(nodes="pbx1=10.1.1.11", proxy="10.1.1.10")
    assert settings.cluster.proxy_host_port() == ("10.1.1.10", 5060)  # type: ignore[attr-defined]


@pytest.mark.parametrize(("cluster", "named"), [
    ({"nodes": "pbx1", "proxy": "10.1.1.10"}, "'pbx1' is not name=address"),
    ({"nodes": "PBX1=10.1.1.11", "proxy": "10.1.1.10"}, "is not name=address"),
    ({"nodes": "pbx1=10.1.1.11,pbx1=10.1.1.12", "proxy": "10.1.1.10"}, "given twice"),
    ({"nodes": "pbx1=10.1.1.11", "proxy": "10.1.1.10", "node": "pbx3"}, "'pbx3' is not one"),
    ({"nodes": "pbx1=10.1.1.11"}, "[cluster] proxy"),
    ({"nodes": "pbx1=10.1.1.11", "proxy": "10.1.1.10:sip"}, "[cluster] proxy"),
    ({"nodes": "pbx1=10.1.1.11", "proxy": "10.1.1.10", "recordings_dir": "rec"},
     "recordings_dir"),
    ({"nodes": "pbx1=10.1.1.11", "proxy": "10.1.1.10", "probe_seconds": "0"},
     "probe_seconds"),
    ({"node": "pbx1"}, "no nodes are"),
])
def test_a_wrong_cluster_is_refused_with_its_key(cluster: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError) as err:
        _load(**cluster)
    assert named in str(err.value)


def test_a_cluster_needs_postgresql() -> None:
    env = {"HOTLINE_CLUSTER_NODES": "pbx1=10.1.1.11", "HOTLINE_CLUSTER_PROXY": "10.1.1.10"}
    with pytest.raises(SettingsError, match="PostgreSQL"):
        load_settings(env=env, config_path=None)
