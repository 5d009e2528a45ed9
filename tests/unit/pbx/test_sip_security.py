"""pbx.sip_security: the TLS transport and SRTP lines rendered from settings, the checks that
refuse a wrong certificate naming the setting, and fail-to-ban's counting, exemptions,
ban list and expiry (the guard against a real database, with Asterisk's reload recorded)."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import subprocess
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from panoramisk.message import Message
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import pbx
from hotline.db import phones as phones_db
from hotline.db import sip_bans
from hotline.db.base import session_scope
from hotline.db.models import Phone
from hotline.secrets import Secrets
from hotline.settings import PbxSettings, Settings
from hotline.trunks import Trunk
from pbx import pjsip, process
from pbx.sip_security import (
    RECHECK_SECONDS,
    Ban,
    FailureCounter,
    SipGuard,
    check_settings,
    endpoint_media,
    exempt_networks,
    listed_bans,
    remote_host,
    render_bans,
    render_tls,
    status_lines,
)

SECRETS = Secrets(ami_secret="s")
Sessions = async_sessionmaker[AsyncSession]


def _with_pbx(settings: Settings, **changes: object) -> Settings:
    return dataclasses.replace(settings, pbx=dataclasses.replace(settings.pbx, **changes))


def _pair(folder: Path, name: str = "sip") -> tuple[Path, Path]:
    cert, key = folder / f"{name}.crt", folder / f"{name}.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-noenc", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=test"], check=True,
                   capture_output=True)
    return cert, key


# --- TLS and SRTP ------------------------------------------------------------------------

def test_without_a_certificate_there_is_no_tls_transport(tmp_path: Path) -> None:
    inst = pbx.PbxInstance(None, tmp_path / "pbx")
    pbx.render_config(Settings(), inst, SECRETS)

    assert "[transport-tls]" not in (inst.dir("etc") / "site" / "pjsip-tls.conf").read_text()
    assert not (inst.dir("etc") / "tls").exists()


def test_a_certificate_renders_the_tls_transport_from_private_copies(tmp_path: Path) -> None:
    cert, key = _pair(tmp_path)
    settings = _with_pbx(Settings(), tls_cert=str(cert), tls_key=str(key), tls_port=5062,
                         sip_bind="10.0.0.5")
    inst = pbx.PbxInstance(None, tmp_path / "pbx")
    pbx.render_config(settings, inst, SECRETS)

    text = (inst.dir("etc") / "site" / "pjsip-tls.conf").read_text()
    tls = inst.dir("etc") / "tls"
    assert "protocol = tls" in text and "bind = 10.0.0.5:5062" in text
    assert f"cert_file = {tls / 'cert.pem'}" in text
    assert f"priv_key_file = {tls / 'key.pem'}" in text and "ca_list_file" not in text
    assert (tls / "key.pem").read_bytes() == key.read_bytes()
    assert (tls / "key.pem").stat().st_mode & 0o777 == 0o640


def test_paths_as_asterisk_sees_them_in_the_sandbox(tmp_path: Path) -> None:
    cert, key = _pair(tmp_path)
    settings = _with_pbx(Settings(), tls_cert=str(cert), tls_key=str(key), tls_ca=str(cert))
    inst = pbx.PbxInstance(tmp_path / "chroot", Path("/srv/hotline/x"))

    text = render_tls(settings, inst)

    assert "ca_list_file = /srv/hotline/x/etc/tls/ca.pem" in text


def test_relative_certificate_paths_are_in_the_data_folder(tmp_path: Path) -> None:
    _pair(tmp_path)
    settings = dataclasses.replace(
        _with_pbx(Settings(), tls_cert="sip.crt", tls_key="sip.key"),
        paths=dataclasses.replace(Settings().paths, data_dir=tmp_path))

    pbx.render_config(settings, pbx.PbxInstance(None, tmp_path / "pbx"), SECRETS)

    assert (tmp_path / "pbx" / "etc" / "tls" / "cert.pem").exists()


@pytest.mark.parametrize(("problem", "message"), [
    ("missing", r"\[pbx\] tls_cert = .*sip.crt: cannot be read"),
    ("not pem", r"\[pbx\] tls_cert = .*sip.crt: not a PEM certificate"),
    ("other key", r"\[pbx\] tls_key = .*other.key: not the unencrypted PEM private key"),
    ("encrypted key", r"\[pbx\] tls_key = .*sip.key: not the unencrypted PEM private key"),
])
def test_a_wrong_certificate_is_refused_naming_the_setting(tmp_path: Path, problem: str,
                                                           message: str) -> None:
    cert, key = _pair(tmp_path)
    if problem == "missing":
        cert.unlink()
    elif problem == "not pem":
        cert.write_text("hello\n")
    elif problem == "other key":
        key = _pair(tmp_path, "other")[1]
    else:
        encrypted = key.with_suffix(".enc")
        subprocess.run(["openssl", "pkey", "-in", str(key), "-out", str(encrypted), "-aes256",
                        "-passout", "pass:secret"], check=True, capture_output=True)
        key = encrypted.replace(key)
    settings = _with_pbx(Settings(), tls_cert=str(cert), tls_key=str(key))

    with pytest.raises(pbx.PbxError, match=message):
        pbx.render_config(settings, pbx.PbxInstance(None, tmp_path / "pbx"), SECRETS)


@pytest.mark.parametrize(("changes", "message"), [
    ({"srtp": "maybe"}, r"\[pbx\] srtp: 'maybe' is not one of off, optional, required"),
    ({"tls_cert": "a.crt"}, r"\[pbx\] tls_cert is set but tls_key is not"),
    ({"srtp": "required"}, r"\[pbx\] srtp: SDES .* needs SIP over TLS"),
    ({"ban_failures": 0}, r"\[pbx\] ban_failures: must be 1 or more"),
    ({"ban_never": ("10.0.0.300",)}, r"\[pbx\] ban_never: '10.0.0.300' is not an address"),
])
def test_settings_that_cannot_work_are_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(pbx.PbxError, match=message):
        check_settings(dataclasses.replace(PbxSettings(), **changes))  # type: ignore[arg-type]


@pytest.mark.parametrize(("srtp", "expected"), [
    ("off", []),
    ("optional", ["media_encryption = sdes", "media_encryption_optimistic = yes"]),
    ("required", ["media_encryption = sdes", "media_encryption_optimistic = no"]),
])
def test_srtp_for_staff_endpoints(srtp: str, expected: list[str]) -> None:
    pbx_settings = dataclasses.replace(PbxSettings(), srtp=srtp)
    phone = Phone(extension="8001", kind="seat", label="", enabled=True,
                            password="p" * 16)
    rendered = pbx.render_pjsip(pbx_settings, [phone])

    assert endpoint_media(pbx_settings) == expected
    endpoint = rendered.split("[8001](staff-endpoint)")[1].split("\n\n")[0]
    assert all(line in endpoint for line in expected)
    assert ("media_encryption" in rendered) == bool(expected)


def test_generated_phone_passwords_carry_96_random_bits() -> None:
    passwords = {phones_db.new_password() for _ in range(200)}

    assert len(passwords) == 200
    for password in passwords:
        assert len(password) == 16
        assert len(base64.urlsafe_b64decode(password)) == 12  # 12 bytes from `secrets`


# --- fail-to-ban: pure parts ------------------------------------------------------------

@pytest.mark.parametrize(("field", "host"), [
    ("IPV4/UDP/192.0.2.7/5060", "192.0.2.7"),
    ("IPV4/TLS/10.1.2.3/40123", "10.1.2.3"),
    ("IPV6/UDP/2001:db8::1/5060", "2001:db8::1"),
    ("", None), ("IPV4/UDP/not-an-ip/5060", None),
])
def test_remote_host_of_a_security_event(field: str, host: str | None) -> None:
    assert remote_host(field) == host


def test_failures_count_within_the_window_only() -> None:
    counter = FailureCounter(window=60)

    assert [counter.add("192.0.2.7", t) for t in (0, 10, 20)] == [1, 2, 3]
    assert counter.add("192.0.2.7", 75) == 2  # 0 and 10 fell out of the window
    assert counter.add("192.0.2.8", 75) == 1  # per address
    counter.prune(200)
    assert counter.add("192.0.2.7", 200) == 1


def test_the_carrier_and_ban_never_are_exempt() -> None:
    networks = exempt_networks(dataclasses.replace(
        PbxSettings(), carrier_match="203.0.113.9:5060,[2001:db8::5]:5060",
        ban_never=("10.20.0.0/16",)))

    assert [str(n) for n in networks] == ["203.0.113.9/32", "2001:db8::5/128", "10.20.0.0/16"]


def test_every_trunk_is_exempt() -> None:
    trunks = (Trunk("a", "ip", host="198.51.100.7", match="198.51.100.0/28"),
              Trunk("b", "register", host="sip.carrier.example", username="u", password="p"),
              Trunk("c", "register", host="192.0.2.50", port=5080, username="u", password="p"))

    networks = exempt_networks(dataclasses.replace(PbxSettings(), trunks=trunks))

    # b's host is a name: nothing to compare an address with.
    assert [str(n) for n in networks] == ["198.51.100.0/28", "192.0.2.50/32"]


def test_ban_file_round_trip_and_status(tmp_path: Path) -> None:
    settings = dataclasses.replace(Settings(), paths=dataclasses.replace(
        Settings().paths, data_dir=tmp_path))
    now = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)
    bans = [Ban("192.0.2.7", now + timedelta(hours=1)), Ban("2001:db8::9", now)]
    path = pbx.sip_security.bans_path(settings)
    path.parent.mkdir(parents=True)

    assert "deny" not in render_bans([])
    path.write_text(render_bans(bans))

    assert "deny = 192.0.2.7/32 ; until 2026-12-01T05:00:00+00:00" in path.read_text()
    assert "deny = 2001:db8::9/128" in path.read_text()
    assert listed_bans(settings) == bans
    # In the court's time (Asia/Shanghai), and only those not yet over.
    assert status_lines(settings, now) == ["sip bans  1 (hotline sip unban ADDR)",
                                           "  192.0.2.7 until 2026-12-01 13:00:00"]
    assert status_lines(settings, now + timedelta(hours=2)) == ["sip bans  none"]


# --- fail-to-ban: the guard ---------------------------------------------------------------

def _event(name: str, address: str, service: str = "PJSIP") -> Message:
    return Message({"Event": name, "Service": service, "RemoteAddress": address,
                    "AccountID": "8001"})


class Applied:
    """What the guard asked Asterisk to deny, call by call."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, _settings: Settings, bans: Sequence[Ban]) -> bool:
        self.calls.append([ban.address for ban in bans])
        return True


def _guard(settings: Settings, sessions: Sessions, clock: list[float],
           applied: Applied) -> SipGuard:
    settings = _with_pbx(settings, ban_failures=3, ban_window_seconds=60, ban_seconds=600,
                         carrier_match="203.0.113.9:5060", ban_never=("10.20.0.0/16",))
    return SipGuard(settings, sessions, clock=lambda: clock[0], apply=applied)


async def _settle(guard: SipGuard) -> None:
    while guard._tasks:
        await next(iter(guard._tasks))


async def test_repeated_failures_ban_the_address(settings: Settings, sessions: Sessions) -> None:
    clock, applied = [0.0], Applied()
    guard = _guard(settings, sessions, clock, applied)
    handle = guard.subscriptions()

    for name in ("InvalidAccountID", "ChallengeResponseFailed"):
        await handle[name](_event(name, "IPV4/UDP/192.0.2.7/5060"))
    assert not guard._tasks and applied.calls == []
    await handle["ChallengeResponseFailed"](_event("ChallengeResponseFailed",
                                                   "IPV4/UDP/192.0.2.7/5071"))
    await _settle(guard)

    assert applied.calls == [["192.0.2.7"]]
    async with session_scope(sessions) as session:
        (ban,) = await sip_bans.active_bans(session, datetime.now(UTC))
    assert (ban.address, ban.failures, ban.reason) == ("192.0.2.7", 3,
                                                       "ChallengeResponseFailed")
    assert timedelta(seconds=590) < ban.expires_at - ban.banned_at <= timedelta(seconds=600)


async def test_what_is_never_counted() -> None:
    clock, applied = [0.0], Applied()
    guard = _guard(Settings(), async_sessionmaker(), clock, applied)  # no database reached
    handle = guard.subscriptions()["InvalidPassword"]

    for _ in range(5):
        await handle(_event("InvalidPassword", "IPV4/UDP/203.0.113.9/5060"))  # the carrier
        await handle(_event("InvalidPassword", "IPV4/UDP/10.20.3.4/5060"))  # ban_never
        await handle(_event("InvalidPassword", "IPV4/TCP/192.0.2.7/5038", service="AMI"))

    assert not guard._tasks and not guard._pending  # no ban started
    assert "FailedACL" not in guard.subscriptions()  # what a banned address gets


async def test_failures_spread_beyond_the_window_do_not_ban() -> None:
    clock, applied = [0.0], Applied()
    guard = _guard(Settings(), async_sessionmaker(), clock, applied)  # no database reached
    handle = guard.subscriptions()["InvalidAccountID"]

    for moment in (0, 40, 80, 120):
        clock[0] = moment
        await handle(_event("InvalidAccountID", "IPV4/UDP/192.0.2.7/5060"))

    assert not guard._tasks and applied.calls == []


async def _ban(sessions: Sessions, *bans: tuple[str, int]) -> None:
    """Ban each address for 600 s, from so many seconds ago."""
    now = datetime.now(UTC)
    async with session_scope(sessions) as session:
        for address, ago in bans:
            await sip_bans.add_ban(session, address, failures=3, reason="x",
                                   now=now - timedelta(seconds=ago), seconds=600)


async def test_the_acl_follows_expiry_and_lifting(settings: Settings, sessions: Sessions) -> None:
    clock, applied = [0.0], Applied()
    guard = _guard(settings, sessions, clock, applied)
    await _ban(sessions, ("192.0.2.7", 0), ("192.0.2.8", 700))  # the second one is over
    await guard.refresh()
    assert applied.calls[-1] == ["192.0.2.7"] and guard.banned == {"192.0.2.7"}

    async with session_scope(sessions) as session:
        assert await sip_bans.lift(session, "192.0.2.7", datetime.now(UTC), by="cli") == 1
    await guard.refresh()

    assert applied.calls[-1] == [] and guard.banned == set()


async def test_the_bans_are_read_again_only_when_they_moved_or_one_expired(
        settings: Settings, sessions: Sessions) -> None:
    """Issue 12: the bridge read the bans and compared the ACL file every second, idle or
    not; now the table's stamp says whether to, besides the first expiry and a check a
    minute of the file."""
    clock, applied = [0.0], Applied()
    guard = _guard(settings, sessions, clock, applied)
    await _ban(sessions, ("192.0.2.7", 0), ("192.0.2.9", 599))  # the second: 1 s left
    await guard.refresh()
    assert applied.calls == [["192.0.2.7", "192.0.2.9"]]

    await guard.refresh()
    assert len(applied.calls) == 1, "nothing moved: nothing read, nothing compared"

    await asyncio.sleep(1.1)  # the second ban is over
    await guard.refresh()
    assert applied.calls[-1] == ["192.0.2.7"]

    clock[0] += RECHECK_SECONDS
    await guard.refresh()
    assert len(applied.calls) == 3, "the file compared again after a minute"

    async with session_scope(sessions) as session:
        assert await sip_bans.lift(session, "192.0.2.7", datetime.now(UTC), by="cli") == 1
    await guard.refresh()
    assert applied.calls[-1] == [] and guard.banned == set()


def test_a_reload_asterisk_refused_is_tried_again(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    settings = dataclasses.replace(Settings(), paths=dataclasses.replace(
        Settings().paths, data_dir=tmp_path))
    answers: list[Exception | dict[str, str]] = [
        pbx.PbxError("Asterisk refused ModuleLoad: No such module."),
        {"Response": "Success", "Message": "Module reloaded."}]

    def ask(_settings: Settings, _fields: object) -> dict[str, str]:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer
    monkeypatch.setattr(process, "running_pid", lambda _settings: 1234)
    monkeypatch.setattr(pjsip, "ask", ask)
    bans = [Ban("192.0.2.7", datetime(2026, 12, 1, tzinfo=UTC))]

    with pytest.raises(pbx.PbxError, match=r"did not reload PJSIP: .*No such module"):
        pbx.sip_security.apply_bans(settings, bans)
    assert pbx.sip_security.apply_bans(settings, bans)  # the same file, reloaded this time
    assert not pbx.sip_security.apply_bans(settings, bans)  # nothing more to do
    assert listed_bans(settings) == bans and answers == []
