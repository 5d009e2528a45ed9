"""SIP security for a real network (issue 16), against a real Asterisk and the bridge:
fail-to-ban from Asterisk's security events (SIPp from 127.0.0.2 with a wrong password),
a phone registering over TLS with SRTP offered, and no call without credentials from a
stranger's address.

This module runs its own PBX and bridge, with a certificate and a short ban, on ports of its
own (bases 25760-25790 moved by HOTLINE_TEST_PORT_OFFSET), beside the session's."""

from __future__ import annotations

import hashlib
import os
import re
import socket
import ssl
import subprocess
import sys
import uuid
from collections.abc import Iterator

import pytest

import pbx
from hotline.db import phones as phones_db
from hotline.db.base import run_once
from hotline.settings import REPO_ROOT, Settings, load_settings
from tests.integration.conftest import OFFSET, BridgeProcess, port, wait_for
from tests.integration.sipp import SCENARIOS

SIP, TLS, CARRIER = port(25760), port(25761), port(25770)
BAN_SECONDS = 12  # the checks while banned take a few seconds on a busy machine
CONFIG = f"""
[paths]
data_dir = "{{data}}"
[pbx]
sip_port = {SIP}
tls_port = {TLS}
tls_cert = "sip.crt"
tls_key = "sip.key"
srtp = "optional"
carrier_match = "127.0.0.1:{CARRIER}"
ami_port = {port(25738)}
agi_port = {port(24773)}
rtp_start = {31200 + OFFSET}
rtp_end = {31299 + OFFSET}
ban_failures = 3
ban_window_seconds = 60
ban_seconds = {BAN_SECONDS}
[console]
port = {port(28768)}
"""
ATTACKER, PHONE, STRANGER = "127.0.0.2", "127.0.0.3", "127.0.0.4"


@pytest.fixture(scope="module")
def secure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, dict[str, str]]]:
    data = tmp_path_factory.mktemp("sipsec-data")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-noenc", "-keyout", str(data / "sip.key"),
                    "-out", str(data / "sip.crt"), "-days", "2", "-subj", "/CN=127.0.0.1"],
                   check=True, capture_output=True)
    config = data / "hotline.toml"
    config.write_text(CONFIG.format(data=data))
    settings = load_settings(env={}, config_path=config)
    env = {**os.environ, "HOTLINE_CONFIG": str(config)}
    pbx.start(settings)
    bridge = BridgeProcess(settings, env)
    try:
        bridge.start()
        yield settings, env
    finally:
        bridge.stop()
        pbx.stop(settings)
    errors = [line for line in (settings.log_dir / "bridge.log").read_text().splitlines()
              if " ERROR " in line]
    assert not errors, "the bridge logged errors:\n" + "\n".join(errors)


def password(settings: Settings, extension: str) -> str:
    async def work(session: object) -> str:
        return (await phones_db.get_phone(session, extension)).password  # type: ignore[arg-type]
    return run_once(settings.database_url, work)


def sipp(scenario: str, source: str, sport: int, *args: str) -> subprocess.CompletedProcess[str]:
    """One SIPp run of a scenario from `source`; its return code says whether the
    scenario's expected answers came."""
    return subprocess.run(["sipp", f"127.0.0.1:{SIP}", "-sf", str(SCENARIOS / scenario),
                           "-i", source, "-p", str(sport), "-m", "1", *args, "-nostdin",
                           "-timeout", "5s", "-timeout_error"],
                          cwd="/tmp", capture_output=True, text=True, timeout=20)


def register(source: str, sport: int, user: str, secret: str) -> bool:
    done = sipp("register.xml", source, sport, "-key", "user", user, "-au", user,
                "-ap", secret, "-key", "contact_port", str(sport), "-key", "expires", "60")
    return done.returncode == 0


def hotline(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cli", *args], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def test_repeated_wrong_passwords_ban_the_address_until_it_expires(
        secure: tuple[Settings, dict[str, str]]) -> None:
    settings, env = secure
    sport = port(25780)
    for _ in range(3):  # ban_failures: each run is one wrong digest answer
        assert sipp("register_wrong.xml", ATTACKER, sport, "-key", "user", "8001",
                    "-au", "8001", "-ap", "wrong-password").returncode == 0

    # Refused by Asterisk's ACL: 403 at once, no challenge any more.
    wait_for(lambda: sipp("register_refused.xml", ATTACKER, sport,
                          "-key", "user", "8001").returncode == 0, timeout=10)
    assert register(PHONE, port(25782), "8002", password(settings, "8002"))
    bans = hotline(env, "sip", "bans").stdout
    assert ATTACKER in bans and "3 failures" in bans, bans
    status = hotline(env, "status").stdout
    assert re.search(rf"^  {re.escape(ATTACKER)} until \d{{4}}-", status, re.M), status
    assert "banned until" in (settings.log_dir / "bridge.log").read_text()

    # After ban_seconds the right password from the same address registers again.
    wait_for(lambda: register(ATTACKER, sport, "8001", password(settings, "8001")),
             timeout=BAN_SECONDS + 10, interval=1.0)
    assert ATTACKER not in hotline(env, "status").stdout


def test_a_ban_lifted_by_hand_ends_at_once(secure: tuple[Settings, dict[str, str]]) -> None:
    settings, env = secure
    source, sport = "127.0.0.5", port(25784)
    for _ in range(3):
        sipp("register_wrong.xml", source, sport, "-key", "user", "8003", "-au", "8003",
             "-ap", "wrong-password")
    wait_for(lambda: source in hotline(env, "sip", "bans").stdout, timeout=10)

    done = hotline(env, "sip", "unban", source)

    assert done.returncode == 0, done.stderr
    assert register(source, sport, "8003", password(settings, "8003"))
    assert hotline(env, "sip", "unban", source).returncode == 1  # nothing left to lift


def test_a_stranger_without_credentials_cannot_call(
        secure: tuple[Settings, dict[str, str]]) -> None:
    settings, _env = secure
    done = sipp("invite_stranger.xml", STRANGER, port(25786), "-key", "user", "guest",
                "-s", "12368", "-mp", str(port(25788)))

    assert done.returncode == 0, done.stdout[-1500:]  # the 401 came, nothing else
    assert "12368" not in pbx.cli(settings, "core show channels concise")


def test_a_phone_registers_over_tls(secure: tuple[Settings, dict[str, str]]) -> None:
    settings, _env = secure
    context = ssl.create_default_context(cafile=str(settings.data_dir / "sip.crt"))
    context.check_hostname = False
    with socket.create_connection(("127.0.0.1", TLS), timeout=5) as raw, \
            context.wrap_socket(raw) as tls:
        assert tls_register(tls, "8004", password(settings, "8004")) == 200
    assert "8004" in pbx.registered_phones(settings)
    # SRTP offered to staff phones (srtp = "optional"): res_srtp is loaded and the
    # endpoint took the setting.
    endpoint = pbx.cli(settings, "pjsip show endpoint 8004")
    assert re.search(r"^\s*media_encryption\s*:\s*sdes$", endpoint, re.M), endpoint
    assert re.search(r"^\s*media_encryption_optimistic\s*:\s*true$", endpoint, re.M)
    assert "res_srtp.so" in pbx.cli(settings, "module show like res_srtp")


def tls_register(tls: ssl.SSLSocket, user: str, secret: str) -> int:
    """REGISTER over TLS as a desk phone does: challenged, then answered with MD5 digest."""
    call_id, here = uuid.uuid4().hex, "127.0.0.1:5999"
    uri = f"sip:127.0.0.1:{TLS};transport=tls"

    def send(cseq: int, extra: list[str]) -> tuple[int, str]:
        lines = [f"REGISTER {uri} SIP/2.0",
                 f"Via: SIP/2.0/TLS {here};branch=z9hG4bK{uuid.uuid4().hex}",
                 f"From: <sip:{user}@127.0.0.1>;tag=t{cseq}", f"To: <sip:{user}@127.0.0.1>",
                 f"Call-ID: {call_id}", f"CSeq: {cseq} REGISTER",
                 f"Contact: <sip:{user}@{here};transport=tls>", "Expires: 60",
                 "Max-Forwards: 70", *extra, "Content-Length: 0", "", ""]
        tls.sendall("\r\n".join(lines).encode())
        head = tls.recv(65536).decode()
        return int(head.split()[1]), head
    code, head = send(1, [])
    assert code == 401, head
    challenge = next(line for line in head.splitlines()
                     if line.lower().startswith("www-authenticate") and "MD5" in line.upper())
    fields = dict(re.findall(r'(\w+)="?([^",]+)"?', challenge.split(" ", 2)[2]))
    ha1 = _md5(f"{user}:{fields['realm']}:{secret}")
    ha2 = _md5(f"REGISTER:{uri}")
    nc, cnonce = "00000001", uuid.uuid4().hex[:8]
    answer = _md5(f"{ha1}:{fields['nonce']}:{nc}:{cnonce}:auth:{ha2}")
    auth = (f'Authorization: Digest username="{user}", realm="{fields["realm"]}", '
            f'nonce="{fields["nonce"]}", uri="{uri}", response="{answer}", algorithm=MD5, '
            f'qop=auth, nc={nc}, cnonce="{cnonce}"'
            + (f', opaque="{fields["opaque"]}"' if "opaque" in fields else ""))
    return send(2, [auth])[0]


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()  # SIP digest is MD5

