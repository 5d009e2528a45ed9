"""The telephone network a court really has (issue 16), in network namespaces: a
"carrier" namespace whose registrar challenges the hotline's REGISTER (401, then the
digest checked) and whose gateway then calls in with +86 numbers, a "LAN" namespace with
a desk phone, and the hotline's own Asterisk and bridge in between on two addresses
(carrier_bind for the carrier, sip_bind for the LAN), joined by veth pairs.

One Asterisk and one bridge for the module, with their own data folder and ports.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import pbx
from hotline.db.migrate import upgrade
from hotline.settings import REPO_ROOT, Settings, load_settings
from tests.integration import sipp
from tests.integration.conftest import OFFSET, BridgeProcess, port, wait_for
from tests.integration.rtp import CallerMedia
from tests.integration.sipp import SCENARIOS

# Names and networks of their own for each run's port offset, so runs side by side (two
# developers, xdist workers) never share a namespace or an address.
_RUN = OFFSET // 100 % 120
NS_CARRIER, NS_LAN = f"trunk{_RUN}-car", f"trunk{_RUN}-lan"
LINKS = (f"tk{_RUN}c", f"tk{_RUN}l")  # veth pairs <link>0 (ours) and <link>1 (theirs)
# (the hotline's side, the namespace's side) of each veth pair
CARRIER_NET = (f"10.77.{2 * _RUN}.1", f"10.77.{2 * _RUN}.2")
LAN_NET = (f"10.77.{2 * _RUN + 1}.1", f"10.77.{2 * _RUN + 1}.2")
GATEWAY = f"10.77.{2 * _RUN}.3"  # the carrier's media gateway: not its registrar
USER, PASSWORD = "037912368", "Trunk;pw-5c1e9"  # a ; as carriers may give
SWITCHBOARD = "65110000"
SIP_PORT = port(25067)

CONFIG = """
[paths]
data_dir = "{data}"
[pbx]
sip_bind = "{lan}"
sip_port = {sip}
carrier_bind = "{carrier}"
local_net = ["{lan_net}"]
external_media_address = "{carrier}"
external_signaling_address = "{carrier}"
seat_g722 = true
ami_port = {ami}
agi_port = {agi}
rtp_start = {rtp}
rtp_end = {rtp_end}
seats = ["8001"]
judges = []

[[trunks]]
name = "unicom"
kind = "register"
host = "{registrar}"
port = 5060
username = "{user}"
dids = ["12368", "{switchboard} = closed"]
"""


def _ip(*args: str, netns: str = "") -> None:
    prefix = ["ip", "netns", "exec", netns] if netns else []
    subprocess.run([*prefix, "ip", *args], check=True, capture_output=True)


def _remove_network() -> None:
    for ns in (NS_CARRIER, NS_LAN):
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
    for link in LINKS:
        subprocess.run(["ip", "link", "del", f"{link}0"], capture_output=True)


@pytest.fixture(scope="module")
def network() -> Iterator[None]:
    _remove_network()  # a run killed half-way left them
    try:
        for ns, link, (ours, theirs) in ((NS_CARRIER, LINKS[0], CARRIER_NET),
                                         (NS_LAN, LINKS[1], LAN_NET)):
            _ip("netns", "add", ns)
            _ip("link", "add", f"{link}0", "type", "veth", "peer", "name", f"{link}1")
            _ip("link", "set", f"{link}1", "netns", ns)
            _ip("addr", "add", f"{ours}/24", "dev", f"{link}0")
            _ip("link", "set", f"{link}0", "up")
            _ip("addr", "add", f"{theirs}/24", "dev", f"{link}1", netns=ns)
            _ip("link", "set", f"{link}1", "up", netns=ns)
            _ip("link", "set", "lo", "up", netns=ns)
        yield
    finally:
        _remove_network()


@dataclass
class Hotline:
    settings: Settings
    env: dict[str, str]
    workdir: Path
    registrar: subprocess.Popen[bytes]

    def calls(self) -> list[sqlite3.Row]:
        with sqlite3.connect(self.settings.data_dir / "hotline.db") as db:
            db.row_factory = sqlite3.Row
            return db.execute("SELECT * FROM calls ORDER BY started_at").fetchall()

    def call_from(self, number: str) -> sqlite3.Row | None:
        return next((c for c in self.calls() if c["caller_number"] == number
                     and c["ended_at"] is not None and c["route"]), None)


@pytest.fixture(scope="module")
def hotline(network: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hotline]:
    data = tmp_path_factory.mktemp("trunk-data")
    config = data / "hotline.toml"
    config.write_text(CONFIG.format(
        data=data, lan=LAN_NET[0], lan_net=LAN_NET[0].rsplit(".", 1)[0] + ".0/24", carrier=CARRIER_NET[0], sip=SIP_PORT, ami=port(25048),
        agi=port(24583), rtp=port(31000), rtp_end=port(31099), registrar=CARRIER_NET[1],
        user=USER, switchboard=SWITCHBOARD))
    env = {**os.environ, "HOTLINE_CONFIG": str(config),
           "HOTLINE_TRUNK_UNICOM_PASSWORD": PASSWORD}
    settings = load_settings(env=env, config_path=config)
    workdir = data / "sipp"
    workdir.mkdir()
    registrar = _start_registrar(workdir)
    upgrade(settings.database_url)
    pbx.start(settings)
    bridge = BridgeProcess(settings, env)
    try:
        bridge.start()
        done = subprocess.run([sys.executable, "-m", "cli", "mode", "closed"], cwd=REPO_ROOT,
                              env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        yield Hotline(settings, env, workdir, registrar)
    finally:
        bridge.stop()
        pbx.stop(settings)
        if registrar.poll() is None:
            registrar.terminate()
            registrar.wait(timeout=10)


def _start_registrar(workdir: Path) -> subprocess.Popen[bytes]:
    scenario = workdir / "carrier_registrar.xml"
    text = (SCENARIOS / "carrier_registrar.xml.in").read_text()
    scenario.write_text(text.replace("@USER@", USER).replace("@PASSWORD@", PASSWORD))
    proc = subprocess.Popen(
        ["ip", "netns", "exec", NS_CARRIER, "sipp", "-sf", str(scenario), "-i",
         CARRIER_NET[1], "-p", "5060", "-m", "1", "-nostdin", "-trace_err",
         "-timeout", "60s"], cwd=workdir, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    return proc


def _carrier_call(hotline: Hotline, caller: str, service: str, seconds: float,
                  source: str = CARRIER_NET[1], uri: str = "") -> None:
    """The carrier's gateway (another port of the registrar's address, or `source`) calls
    in; `uri`: the request's own URI instead of sip:<service>@hotline."""
    name = f"caller-{service}-{source}"
    steps = sipp._render(sipp.quiet(seconds), CallerMedia(hotline.workdir, name))
    scenario = hotline.workdir / f"{name}.xml"
    text = (SCENARIOS / "caller.xml.in").read_text().replace("@STEPS@", steps)
    if uri:
        text = text.replace("INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0",
                            f"INVITE {uri} SIP/2.0")
    scenario.write_text(text)
    done = subprocess.run(
        ["ip", "netns", "exec", NS_CARRIER, "sipp", f"{CARRIER_NET[0]}:{SIP_PORT}",
         "-sf", str(scenario), "-m", "1", "-i", source, "-p", "5070",
         "-mp", "26000", "-s", service, "-key", "caller", caller, "-nostdin",
         "-timeout", "40s", "-timeout_error", "-trace_err"],
        cwd=hotline.workdir, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout[-2000:]


def test_the_hotline_registers_with_a_digest_and_the_trunk_s_call_reaches_the_menu(
        hotline: Hotline) -> None:
    settings = hotline.settings
    wait_for(lambda: "Registered" in pbx.cli(settings, "pjsip show registrations"), 20)
    assert hotline.registrar.wait(timeout=10) == 0  # the scenario ran to its end
    assert not (hotline.workdir / "auth-refused").exists()  # the digest was right
    status = subprocess.run([sys.executable, "-m", "cli", "status"], cwd=REPO_ROOT,
                            env=hotline.env, capture_output=True, text=True, timeout=60)
    assert "trunk     unicom: Registered" in status.stdout, status.stdout

    _carrier_call(hotline, "+8613812345678", "12368", 4)

    call = wait_for(lambda: hotline.call_from("13812345678"), 20)
    assert call["route"] == "menu"  # after hours: the voice menu answered
    assert call["channel"].startswith("PJSIP/unicom-")  # the registered trunk's call
    assert not any(c["caller_number"].startswith(("+", "86")) for c in hotline.calls())


def test_a_call_from_another_gateway_is_the_trunk_s_by_its_registration_line(
        hotline: Hotline) -> None:
    """The carrier's media gateway is not the registrar (no identify matches it): the
    call is the trunk's because it comes to the Contact the hotline registered (line=)."""
    _ip("addr", "add", f"{GATEWAY}/24", "dev", f"{LINKS[0]}1", netns=NS_CARRIER)
    contact = (hotline.workdir / "registered-contact").read_text().strip()
    assert ";line=" in contact, contact

    _carrier_call(hotline, "+8613900001111", "12368", 3, source=GATEWAY, uri=contact)

    call = wait_for(lambda: hotline.call_from("13900001111"), 20)
    assert call["channel"].startswith("PJSIP/unicom-")


def test_a_call_to_the_switchboard_number_takes_its_own_route(hotline: Hotline) -> None:
    _carrier_call(hotline, "+8637965110002", SWITCHBOARD, 3)

    try:
        call = wait_for(lambda: hotline.call_from("037965110002"), 20)
    except AssertionError:
        raise AssertionError([dict(c) for c in hotline.calls()]) from None
    assert call["route"] == "closed"  # the switchboard's route: the message, not the menu


def test_a_desk_phone_registers_on_the_lan_address(hotline: Hotline) -> None:
    settings = hotline.settings
    password = _phone_password(hotline, "8001")
    phone = subprocess.Popen(
        ["ip", "netns", "exec", NS_LAN, "sipp", "-sf", str(SCENARIOS / "phone.xml"),
         "-i", LAN_NET[1], "-p", "5060", "-mp", "26000", "-nostdin", "-trace_err"],
        cwd=hotline.workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        done = subprocess.run(
            ["ip", "netns", "exec", NS_LAN, "sipp", f"{LAN_NET[0]}:{SIP_PORT}",
             "-sf", str(SCENARIOS / "register.xml"), "-i", LAN_NET[1], "-p", "5062",
             "-m", "1", "-key", "user", "8001", "-au", "8001", "-ap", password,
             "-key", "contact_port", "5060", "-key", "expires", "600", "-nostdin",
             "-timeout", "10s", "-timeout_error"],
            cwd=hotline.workdir, capture_output=True, text=True, timeout=20)
        assert done.returncode == 0, done.stdout[-1500:]
        wait_for(lambda: pbx.registered_phones(settings).get("8001") == "Reachable", 40)
        assert f"8001@{LAN_NET[1]}:5060" in pbx.cli(settings, "pjsip show contacts")
        # seat_g722: offered first to desk phones; the carrier keeps A-law first
        assert "(g722|alaw|ulaw)" in pbx.cli(settings, "pjsip show endpoint 8001")
        assert "(alaw|ulaw)" in pbx.cli(settings, "pjsip show endpoint unicom")
    finally:
        phone.terminate()
        phone.wait(timeout=10)


def _phone_password(hotline: Hotline, extension: str) -> str:
    with sqlite3.connect(hotline.settings.data_dir / "hotline.db") as db:
        row = db.execute("SELECT password FROM phones WHERE extension = ?",
                         (extension,)).fetchone()
    return str(row[0])
