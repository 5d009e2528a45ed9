"""site/pjsip.conf rendered from the phones table: a pure function of the rows."""

from __future__ import annotations

from hotline.db.models import Phone
from hotline.settings import PbxSettings
from pbx import render_pjsip
from tests.unit.pbx.test_pbx import sections

PBX = PbxSettings(sip_bind="192.0.2.10", sip_port=15060, carrier_match="198.51.100.7:5060")


def _phone(ext: str, kind: str = "seat", enabled: bool = True) -> Phone:
    return Phone(extension=ext, kind=kind, label="", enabled=enabled, password=f"pw-{ext}")


def test_enabled_phones_only_each_with_endpoint_aor_and_auth() -> None:
    rows = [_phone("8005"), _phone("8001"), _phone("8002", enabled=False),
            _phone("8101", "judge")]

    found = sections(render_pjsip(PBX, rows))

    assert [s.name for s in found if s.name.isdigit()] == ["8001"] * 3 + ["8005"] * 3 + [
        "8101"] * 3  # sorted, so a reload's diff is only what changed
    for ext in ("8001", "8005", "8101"):
        mine = {s.templates: s.options for s in found if s.name == ext}
        assert mine["staff-endpoint"] == {"auth": ext, "aors": ext, "callerid": f"<{ext}>"}
        assert mine["staff-aor"] == {}
        assert mine["staff-auth"] == {"username": ext, "password": f"pw-{ext}"}
    assert {s.name for s in found} == {"transport-udp", "carrier", "8001", "8005", "8101"}


def test_no_phones_still_has_the_transport_and_the_carrier() -> None:
    found = sections(render_pjsip(PBX, [_phone("8001", enabled=False)]))

    assert [s.name for s in found] == ["transport-udp", "carrier", "carrier", "carrier"]
    assert found[0].options["bind"] == "192.0.2.10:15060"


def test_the_same_rows_render_the_same_text() -> None:
    rows = [_phone("8002"), _phone("8001")]
    assert render_pjsip(PBX, rows) == render_pjsip(PBX, list(reversed(rows)))
