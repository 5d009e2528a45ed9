"""The pbx part without starting Asterisk: path mapping and the rendered site files."""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path

import pytest

import pbx
from hotline.secrets import Secrets
from hotline.settings import HoursSettings, PbxSettings, Settings
from pbx import PbxInstance, office_hours_context, site_files
from pbx.config import _last_minute

SEATS, JUDGES = ("8001", "8002"), ("8101",)
SECRETS = Secrets("ami-Secret-42", {"8001": "pw-8001", "8002": "pw-8002", "8101": "pw-8101"})


@dataclasses.dataclass
class Section:
    name: str
    templates: str
    options: dict[str, str]


def sections(text: str) -> list[Section]:
    """Asterisk's config format as far as the site files use it: [name](templates), k = v."""
    found: list[Section] = []
    for line in text.splitlines():
        line = line.split(";", 1)[0].strip()
        if not line:
            continue
        header = re.fullmatch(r"\[([^\]]+)\](?:\(([^)]*)\))?", line)
        if header:
            found.append(Section(header[1], header[2] or "", {}))
        else:
            key, sep, value = line.partition("=")
            assert sep and found, f"not an option inside a section: {line!r}"
            assert key.strip() not in found[-1].options, f"duplicate option {key!r}"
            found[-1].options[key.strip()] = value.strip()
    return found


def _settings() -> Settings:
    return dataclasses.replace(Settings(), pbx=PbxSettings(
        sip_bind="192.0.2.10", sip_port=15060, carrier_match="198.51.100.7:5060",
        ami_port=15038, agi_host="127.0.0.1", agi_port=14573, rtp_start=30000, rtp_end=30100,
        seats=SEATS, judges=JUDGES))


@pytest.fixture
def sandboxed() -> PbxInstance:
    return PbxInstance(chroot=Path("/var/cache/hotline/asterisk-sid"),
                       pbx_root=Path("/srv/hotline/0123456789ab"))


def test_paths_without_chroot_are_the_same_on_both_sides(tmp_path: Path) -> None:
    inst = PbxInstance(chroot=None, pbx_root=tmp_path / "pbx")

    assert inst.host_root == tmp_path / "pbx"
    assert inst.to_host(tmp_path / "pbx" / "etc") == tmp_path / "pbx" / "etc"
    assert inst.to_pbx(inst.to_host("/srv/x/y.wav")) == Path("/srv/x/y.wav")
    assert inst.cdr_file == tmp_path / "pbx" / "log" / "cdr-custom" / "hotline-cdr.json"
    assert inst.recordings_dir == tmp_path / "pbx" / "recordings"
    assert inst.command("-rx", "core show version") == [
        "asterisk", "-C", str(tmp_path / "pbx" / "etc" / "asterisk.conf"),
        "-rx", "core show version"]


def test_paths_with_chroot_round_trip(sandboxed: PbxInstance) -> None:
    chroot = Path("/var/cache/hotline/asterisk-sid")
    host_root = chroot / "srv/hotline/0123456789ab"

    assert sandboxed.host_root == host_root
    assert sandboxed.dir("etc") == host_root / "etc"
    assert sandboxed.recordings_dir == host_root / "recordings"
    assert sandboxed.sounds_dir == host_root / "sounds"
    assert sandboxed.cdr_file == host_root / "log/cdr-custom/hotline-cdr.json"
    assert sandboxed.to_pbx(sandboxed.cdr_file) == Path(
        "/srv/hotline/0123456789ab/log/cdr-custom/hotline-cdr.json")
    for pbx_path in ("/srv/hotline/0123456789ab/recordings/2026/11/27/1.0.wav", "/"):
        assert sandboxed.to_pbx(sandboxed.to_host(pbx_path)) == Path(pbx_path)
    assert sandboxed.to_host(sandboxed.to_pbx(host_root / "etc")) == host_root / "etc"
    assert sandboxed.command("-f")[:3] == ["chroot", str(chroot), "/usr/sbin/asterisk"]
    assert sandboxed.command("-f")[3:] == [
        "-C", "/srv/hotline/0123456789ab/etc/asterisk.conf", "-f"]


def test_to_pbx_refuses_paths_outside_the_chroot(sandboxed: PbxInstance) -> None:
    with pytest.raises(ValueError):
        sandboxed.to_pbx("/tmp/elsewhere.wav")


def test_site_pjsip_transport_and_carrier() -> None:
    text = site_files(_settings(), PbxInstance(None, Path("/x")), SECRETS)["pjsip.conf"]
    found = sections(text)

    transport = next(s for s in found if s.name == "transport-udp")
    assert transport.options == {"type": "transport", "protocol": "udp",
                                 "bind": "192.0.2.10:15060"}
    carrier = [s for s in found if s.name == "carrier"]
    assert [c.templates for c in carrier] == ["carrier-endpoint", "", ""]
    # Calls out to callers (dialplan/reply.conf) go to the carrier's one address.
    assert carrier[0].options == {"aors": "carrier"}
    assert carrier[1].options == {"type": "aor", "contact": "sip:198.51.100.7:5060"}
    assert carrier[2].options == {"type": "identify", "endpoint": "carrier",
                                  "match": "198.51.100.7:5060"}


def test_site_pjsip_carrier_network_has_no_aor() -> None:
    pbx_settings = dataclasses.replace(_settings().pbx, carrier_match="198.51.100.0/24")
    found = sections(pbx.render_pjsip(pbx_settings, []))

    carrier = [s for s in found if s.name == "carrier"]
    assert [c.options.get("type") for c in carrier] == [None, "identify"]
    assert "aors" not in carrier[0].options


def test_site_pjsip_one_endpoint_aor_auth_per_phone() -> None:
    text = site_files(_settings(), PbxInstance(None, Path("/x")), SECRETS)["pjsip.conf"]
    found = sections(text)

    phones = [*SEATS, *JUDGES]
    for ext in phones:
        mine = {s.templates: s.options for s in found if s.name == ext}
        assert len([s for s in found if s.name == ext]) == 3
        assert mine["staff-endpoint"] == {"auth": ext, "aors": ext, "callerid": f"<{ext}>"}
        assert mine["staff-aor"] == {}
        assert mine["staff-auth"] == {"username": ext, "password": f"pw-{ext}"}
    names = {s.name for s in found}
    assert names == {"transport-udp", "carrier", *phones}


def test_site_pjsip_templates_exist_in_the_shipped_pjsip_conf() -> None:
    shipped = {s.name for s in sections(re.sub(r"(?m)^#include .*$", "",
                                               (pbx.CONF_DIR / "pjsip.conf").read_text()))}
    rendered = site_files(_settings(), PbxInstance(None, Path("/x")), SECRETS)["pjsip.conf"]
    used = {t for s in sections(rendered) for t in s.templates.split(",") if t}

    assert used <= shipped


def test_site_manager_port_and_bridge_user() -> None:
    found = sections(site_files(_settings(), PbxInstance(None, Path("/x")), SECRETS)
                     ["manager.conf"])

    assert [(s.name, s.templates) for s in found] == [
        ("general", "+"), (pbx.names.AMI_USER, "bridge-user"),
        (pbx.names.CONSOLE_AMI_USER, "console-user"), (pbx.names.PJSIP_AMI_USER, "pjsip-user")]
    assert found[0].options == {"port": "15038"}
    assert found[1].options == {"secret": "ami-Secret-42"}
    # The console's password is its own, and stable for one site secret.
    console_secret = found[2].options["secret"]
    assert console_secret == pbx.console_ami_secret(SECRETS)
    assert len(console_secret) == 32 and "ami-Secret-42" not in console_secret
    # So is the PJSIP user's (pbx/pjsip.py), and unlike the console's.
    assert found[3].options["secret"] == pbx.pjsip_ami_secret(SECRETS) != console_secret
    shipped = (pbx.CONF_DIR / "manager.conf").read_text()
    assert "[bridge-user](!)" in shipped


def test_site_extensions_use_paths_as_asterisk_sees_them(sandboxed: PbxInstance) -> None:
    text = site_files(_settings(), sandboxed, SECRETS)["extensions.conf"]
    globals_text, _, office_hours = text.partition("[hotline-office-hours]")
    globals_, = sections(globals_text)

    assert globals_.name == "globals"
    assert globals_.options == {
        "HOTLINE_AGI": "127.0.0.1:14573",
        "HOTLINE_RECORDINGS": "/srv/hotline/0123456789ab/recordings",
        "HOTLINE_SOUNDS": "/srv/hotline/0123456789ab/sounds/zh",
        "HOTLINE_QUEUE_MAX_WAIT": "300",
        "HOTLINE_TRANSFER_RING": "25",
        "HOTLINE_TWO_CHANNEL": "no",
        "HOTLINE_MESSAGE_MAX_SECONDS": "120",
        "HOTLINE_TRUNK": "carrier",  # the trunk calls out go on (dialplan/reply.conf)
    }
    assert "GotoIfTime(08:00-11:59,mon-fri,*,may-sep,Asia/Shanghai?open)" in office_hours


def test_site_rtp_and_music_on_hold(sandboxed: PbxInstance) -> None:
    files = site_files(_settings(), sandboxed, SECRETS)

    assert files["rtp.conf"] == "rtpstart = 30000\nrtpend = 30100\n"
    moh = sections(files["musiconhold.conf"])
    assert moh == [Section("default", "", {"mode": "files",
                                           "directory": "/srv/hotline/0123456789ab/sounds/moh"})]


def test_office_hours_context_ends_a_minute_early() -> None:
    lines = office_hours_context(Settings())

    checks = [line.strip() for line in lines if "GotoIfTime" in line]
    assert checks == [
        "same => n,GotoIfTime(08:00-11:59,mon-fri,*,may-sep,Asia/Shanghai?open)",
        "same => n,GotoIfTime(15:00-17:59,mon-fri,*,may-sep,Asia/Shanghai?open)",
        "same => n,GotoIfTime(08:00-11:59,mon-fri,*,oct-apr,Asia/Shanghai?open)",
        "same => n,GotoIfTime(14:30-17:29,mon-fri,*,oct-apr,Asia/Shanghai?open)",
    ]
    assert lines[1] == "[hotline-office-hours]"
    assert " same => n,Return(closed)" in lines
    assert " same => n(open),Return(open)" in lines


def test_office_hours_context_uses_the_configured_zone_and_spans() -> None:
    settings = dataclasses.replace(Settings(), hours=HoursSettings(
        timezone="Asia/Urumqi", summer=("09:00-13:00",), winter=("09:30-10:00",)))
    checks = [line.strip() for line in office_hours_context(settings) if "GotoIfTime" in line]

    assert checks == [
        "same => n,GotoIfTime(09:00-12:59,mon-fri,*,may-sep,Asia/Urumqi?open)",
        "same => n,GotoIfTime(09:30-09:59,mon-fri,*,oct-apr,Asia/Urumqi?open)",
    ]


@pytest.mark.parametrize(("span", "expected"), [
    ("08:00-12:00", "08:00-11:59"),
    ("14:30-17:30", "14:30-17:29"),
    ("08:00-12:30", "08:00-12:29"),
    ("00:00-00:01", "00:00-00:00"),
])
def test_last_minute(span: str, expected: str) -> None:
    assert _last_minute(span) == expected


def test_render_config_writes_site_files_into_the_instance(tmp_path: Path) -> None:
    inst = PbxInstance(chroot=None, pbx_root=tmp_path / "pbx")
    pbx.render_config(_settings(), inst, SECRETS)

    etc = inst.dir("etc")
    expected = site_files(_settings(), inst, SECRETS)
    assert {p.name: p.read_text() for p in (etc / "site").iterdir()} == expected
    assert (etc / "dialplan" / "entry.conf").read_text() == (
        pbx.DIALPLAN_DIR / "entry.conf").read_text()
    asterisk_conf = (etc / "asterisk.conf").read_text()
    assert f"astetcdir => {etc}\n" in asterisk_conf
    assert f"astrundir => {inst.pbx_root / 'run'}\n" in asterisk_conf
    assert "@" not in re.sub(r";.*", "", asterisk_conf)  # every placeholder filled
    assert inst.cdr_file.parent.is_dir() and inst.recordings_dir.is_dir()


def test_the_installed_asterisks_version_is_asked_once_per_binary(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """instance_for() runs on every use (the bridge's ban list every second): `asterisk -V`
    is a process started, so it runs once per binary, not each time."""
    asked = tmp_path / "asked"
    binary = tmp_path / "bin" / "asterisk"
    binary.parent.mkdir()
    binary.write_text(f"#!/bin/sh\necho x >> {asked}\necho 'Asterisk 22.10.1'\n")
    binary.chmod(0o755)
    monkeypatch.setenv("PATH", f"{binary.parent}{os.pathsep}{os.environ['PATH']}")
    settings = Settings(paths=dataclasses.replace(Settings().paths, data_dir=tmp_path),
                        pbx=PbxSettings(mode="auto"))

    for _ in range(3):
        assert pbx.installed_asterisk_major() == 22
        assert pbx.instance_for(settings).chroot is None, "an installed Asterisk 22 is used"
    assert asked.read_text().count("x") == 1
