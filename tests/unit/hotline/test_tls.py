"""The console's HTTPS settings: both files or neither, each refused at start by name when
it cannot serve, and the self-signed stop-gap a browser would accept (names in the SAN)."""

from __future__ import annotations

import contextlib
import dataclasses
import socket
import ssl
import subprocess
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hotline import tls
from hotline.settings import PathsSettings, Settings, SettingsError, load_settings


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> tls.TlsFiles:
    folder = tmp_path_factory.mktemp("tls")
    made = tls.TlsFiles(folder / "console.crt", folder / "console.key")
    tls.make_self_signed(made.cert, made.key, ["hotline.court.example", "10.1.2.3"])
    return made


def _load(**console: str) -> Settings:
    env = {f"HOTLINE_CONSOLE_{key.upper()}": value for key, value in console.items()}
    return load_settings(env=env, config_path=None)


@pytest.mark.parametrize(("given", "missing"), [("tls_cert", "tls_key"),
                                                 ("tls_key", "tls_cert")])
def test_one_file_without_the_other_is_refused_naming_both(given: str, missing: str) -> None:
    with pytest.raises(SettingsError, match=rf"\[console\] {given} is set but {missing} is not"):
        _load(**{given: "console.pem"})


def test_a_redirect_port_needs_https_and_another_port() -> None:
    with pytest.raises(SettingsError, match=r"http_redirect_port redirects to HTTPS"):
        _load(http_redirect_port="8369")
    with pytest.raises(SettingsError, match=r"8368 is the console's own port"):
        _load(tls_cert="c.pem", tls_key="k.pem", http_redirect_port="8368")


def test_plain_http_is_the_default() -> None:
    settings = _load()
    assert not tls.enabled(settings.console) and tls.files(settings) is None


def test_relative_files_are_in_the_data_folder(tmp_path: Path) -> None:
    settings = dataclasses.replace(
        _load(tls_cert="tls/c.pem", tls_key="/etc/hotline/k.pem"),
        paths=PathsSettings(data_dir=tmp_path))
    assert tls.files(settings) == tls.TlsFiles(tmp_path / "tls/c.pem",
                                               Path("/etc/hotline/k.pem"))


def test_a_good_pair_passes(pair: tls.TlsFiles) -> None:
    tls.check_pair(pair)


def test_a_missing_certificate_is_named(pair: tls.TlsFiles, tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"\[console\] tls_cert = .*nope.pem: cannot be "
                                            r"read \(No such file or directory\)"):
        tls.check_pair(tls.TlsFiles(tmp_path / "nope.pem", pair.key))


def test_an_unreadable_key_is_named(pair: tls.TlsFiles, tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"\[console\] tls_key = .*: cannot be read"):
        tls.check_pair(tls.TlsFiles(pair.cert, tmp_path))  # a folder, not a file


def test_a_key_given_as_the_certificate_is_named(pair: tls.TlsFiles) -> None:
    with pytest.raises(SettingsError, match=r"\[console\] tls_cert = .*: not a PEM certificate"):
        tls.check_pair(tls.TlsFiles(pair.key, pair.key))


def test_another_certificates_key_is_named(pair: tls.TlsFiles, tmp_path: Path) -> None:
    other = tls.TlsFiles(tmp_path / "o.crt", tmp_path / "o.key")
    tls.make_self_signed(other.cert, other.key, ["other"])
    with pytest.raises(SettingsError, match=r"\[console\] tls_key = .*o.key: not the "
                                            r"unencrypted PEM private key of .*console.crt"):
        tls.check_pair(tls.TlsFiles(pair.cert, other.key))


def test_a_key_with_a_passphrase_is_refused_without_asking(pair: tls.TlsFiles,
                                                          tmp_path: Path) -> None:
    locked = tmp_path / "locked.key"
    subprocess.run(["openssl", "pkey", "-in", str(pair.key), "-aes256", "-passout",
                    "pass:court", "-out", str(locked)], check=True, capture_output=True)
    with pytest.raises(SettingsError, match=r"tls_key = .*locked.key: not the unencrypted"):
        tls.check_pair(tls.TlsFiles(pair.cert, locked))


def test_the_self_signed_certificate_names_the_hosts_and_keeps_its_key_private(
        pair: tls.TlsFiles) -> None:
    text = subprocess.run(["openssl", "x509", "-in", str(pair.cert), "-noout", "-ext",
                           "subjectAltName,basicConstraints,extendedKeyUsage"],
                          check=True, capture_output=True, text=True).stdout
    assert "DNS:hotline.court.example, IP Address:10.1.2.3" in text
    assert "CA:FALSE" in text and "TLS Web Server Authentication" in text
    assert pair.key.stat().st_mode & 0o777 == 0o600
    assert len(tls.fingerprint(pair.cert).split(":")) == 32


def test_subject_alt_names_tell_addresses_from_names() -> None:
    assert tls.subject_alt_names(["court.example", "10.0.0.5", "::1"]) == (
        "DNS:court.example,IP:10.0.0.5,IP:::1")


def test_the_health_check_trusts_exactly_the_configured_certificate(
        pair: tls.TlsFiles, tmp_path: Path) -> None:
    other = tls.TlsFiles(tmp_path / "o.crt", tmp_path / "o.key")
    tls.make_self_signed(other.cert, other.key, ["hotline.court.example"])

    assert _handshake(pair, tls.client_context(pair)) == "ok"
    assert "CERTIFICATE_VERIFY_FAILED" in _handshake(other, tls.client_context(pair))


def _handshake(served: tls.TlsFiles, client: ssl.SSLContext) -> str:
    """A TLS handshake with a loopback server showing served's certificate."""
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(served.cert, served.key)
    with socket.create_server(("127.0.0.1", 0)) as listener:
        accepting = threading.Thread(target=_accept, args=(listener, server))
        accepting.start()
        try:
            with socket.create_connection(listener.getsockname(), timeout=5) as raw, \
                    client.wrap_socket(raw, server_hostname="127.0.0.1"):
                return "ok"
        except ssl.SSLError as exc:
            return str(exc)
        finally:
            accepting.join(timeout=5)


def _accept(listener: socket.socket, context: ssl.SSLContext) -> None:
    conn, _ = listener.accept()
    with contextlib.suppress(OSError), context.wrap_socket(conn, server_side=True):
        pass
    conn.close()


def test_status_warns_a_month_before_the_certificate_ends(pair: tls.TlsFiles) -> None:
    end = tls.expires_at(pair.cert)
    assert 824 <= (end - datetime.now(UTC)).days <= 825
    assert tls.expiry_line(pair.cert, end - timedelta(days=90)) == (
        f"https     the console's certificate ends {end:%Y-%m-%d} (in 90 days)")
    assert tls.expiry_line(pair.cert, end - timedelta(days=10)).startswith(
        "WARNING   the console's certificate ends")
    assert tls.expiry_line(pair.cert, end + timedelta(days=1)).startswith(
        f"WARNING   the console's certificate {pair.cert} EXPIRED on")


def test_status_says_when_the_certificate_cannot_be_read(pair: tls.TlsFiles) -> None:
    assert tls.expiry_line(pair.key, datetime.now(UTC)).startswith(
        "WARNING   the console's certificate: [console] tls_cert = ")
