"""pbx/trunks.py: the network part of site/pjsip.conf and the numbers' routes."""

from __future__ import annotations

import dataclasses

from hotline.db.models import Phone
from hotline.settings import PbxSettings
from hotline.trunks import Trunk
from pbx import render_pjsip
from pbx.trunks import (
    outgoing_trunk,
    render_dids,
    render_network,
    seat_codecs,
)
from tests.unit.pbx.test_pbx import sections

REGISTER = Trunk("unicom", "register", host="203.0.113.9", port=5080, username="037912368",
                 password="pw-1", dids=(("037965110000", "queue"), ("12368", "hotline")))
IP = Trunk("telecom", "ip", host="198.51.100.7", match="198.51.100.0/28")
PBX = PbxSettings(sip_bind="192.168.10.5", sip_port=5060, trunks=(IP, REGISTER))


def _named(text: str, name: str) -> list[dict[str, str]]:
    return [s.options for s in sections(text) if s.name == name]


def test_a_register_trunk_registers_presents_12368_and_answers_the_challenge() -> None:
    text = "\n".join(render_network(PBX))

    [auth] = _named(text, "unicom-auth")
    assert auth == {"type": "auth", "auth_type": "digest", "username": "037912368",
                    "password": "pw-1"}
    [reg] = _named(text, "unicom-reg")
    assert reg["server_uri"] == "sip:203.0.113.9:5080"
    assert reg["client_uri"] == "sip:037912368@203.0.113.9:5080"
    assert (reg["contact_user"], reg["outbound_auth"]) == ("12368", "unicom-auth")
    assert (reg["line"], reg["endpoint"]) == ("yes", "unicom")
    endpoint, aor, identify = _named(text, "unicom")
    assert endpoint == {"aors": "unicom", "outbound_auth": "unicom-auth", "from_user": "12368"}
    assert aor == {"type": "aor", "contact": "sip:203.0.113.9:5080"}
    assert identify == {"type": "identify", "endpoint": "unicom", "match": "203.0.113.9"}


def test_an_ip_trunk_is_matched_by_its_networks_and_called_at_its_host() -> None:
    text = "\n".join(render_network(PBX))

    endpoint, aor, identify = _named(text, "telecom")
    assert endpoint == {"aors": "telecom"} and "outbound_auth" not in endpoint
    assert aor["contact"] == "sip:198.51.100.7:5060"
    assert identify["match"] == "198.51.100.0/28"
    assert outgoing_trunk(PBX) == "telecom"


def test_the_carrier_side_on_its_own_address_with_nat() -> None:
    pbx = dataclasses.replace(PBX, carrier_bind="10.1.1.5", external_media_address="203.0.113.50",
                              external_signaling_address="203.0.113.50",
                              local_net=("192.168.0.0/16", "10.1.1.0/24"))
    lines = render_network(pbx)

    [lan] = _named("\n".join(lines[:lines.index("[transport-carrier]")]), "transport-udp")
    assert lan["bind"] == "192.168.10.5:5060" and "external_media_address" not in lan
    carrier_at = lines.index("[transport-carrier]")
    carrier = lines[carrier_at:lines.index("", carrier_at)]
    assert "bind = 10.1.1.5:5060" in carrier
    assert "external_media_address = 203.0.113.50" in carrier
    assert "external_signaling_address = 203.0.113.50" in carrier
    nets = [line for line in carrier if line.startswith("local_net")]
    assert nets == ["local_net = 192.168.0.0/16", "local_net = 10.1.1.0/24"]
    trunks_text = "\n".join(lines[lines.index("", carrier_at):])
    assert all(e["transport"] == "transport-carrier"
               for e in (_named(trunks_text, "unicom")[0], _named(trunks_text, "unicom-reg")[0]))


def test_codecs_alaw_first_and_g722_for_the_seats_when_asked() -> None:
    assert seat_codecs(PBX) == []  # the templates' alaw,ulaw
    assert not any(line.startswith("allow") for line in render_network(PBX))
    pbx = dataclasses.replace(PBX, seat_g722=True, codecs=("alaw",))

    assert seat_codecs(pbx) == ["disallow = all", "allow = g722,alaw"]
    lines = render_network(pbx)
    assert "allow = alaw" in lines[lines.index("[unicom](carrier-endpoint)"):]
    found = sections(render_pjsip(pbx, [Phone(extension="8001", kind="seat", label="",
                                                   enabled=True, password="pw")]))
    [phone] = [s for s in found if s.name == "8001" and s.templates == "staff-endpoint"]
    assert phone.options["allow"] == "g722,alaw"


def test_numbers_with_a_route_of_their_own_return_it() -> None:
    found = render_dids(PBX)

    assert "exten => 037965110000,1,Return(queue)" in found
    assert not any("12368" in line for line in found)  # the hotline's own: the default
    assert found[-2] == "exten => _X.,1,Return()"


def test_a_semicolon_in_a_password_is_escaped_for_asterisk() -> None:
    trunk = dataclasses.replace(REGISTER, password="a;b")
    lines = render_network(dataclasses.replace(PBX, trunks=(trunk,)))
    assert "password = a\\;b" in lines  # unescaped, ";b" would be a comment
