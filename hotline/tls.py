"""The console's HTTPS (issue 16): the certificate and key of `[console] tls_cert`/`tls_key`
checked before the console serves, the header that keeps browsers on HTTPS, and a
self-signed pair for a court without its own certificate authority (a stop-gap)."""

from __future__ import annotations

import hashlib
import ipaddress
import shutil
import ssl
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from hotline.settings import ConsoleSettings, Settings, SettingsError

# A year; no includeSubDomains: other hosts of the court's domain may still be plain HTTP.
HSTS_VALUE = "max-age=31536000"
SELF_SIGNED_DAYS = 825  # the longest validity browsers accept for a server certificate
EXPIRY_WARN_DAYS = 30  # `hotline status` warns this long before the certificate ends
OPENSSL = "openssl"  # Debian's openssl, which ca-certificates already pulls in


@dataclass(frozen=True)
class TlsFiles:
    cert: Path
    key: Path


def enabled(console: ConsoleSettings) -> bool:
    return bool(console.tls_cert)


def files(settings: Settings) -> TlsFiles | None:
    """The console's certificate and key, relative paths taken in the data folder; None
    when the console serves plain HTTP."""
    c = settings.console
    if not enabled(c):
        return None
    return TlsFiles(_in_data(settings, c.tls_cert), _in_data(settings, c.tls_key))


def _in_data(settings: Settings, name: str) -> Path:
    path = Path(name)
    return path if path.is_absolute() else settings.data_dir / path


def check_pair(pair: TlsFiles) -> None:
    """Refuse a certificate or key the console could not serve with, naming the setting:
    at start, not at a browser's first visit."""
    for setting, path in (("tls_cert", pair.cert), ("tls_key", pair.key)):
        try:
            path.read_bytes()
        except OSError as exc:
            raise SettingsError(f"[console] {setting} = {path}: cannot be read "
                                f"({exc.strerror})") from exc
    try:
        ssl.create_default_context(cafile=str(pair.cert))
    except ssl.SSLError as exc:
        raise SettingsError(f"[console] tls_cert = {pair.cert}: not a PEM certificate "
                            f"({exc.reason or exc})") from exc
    try:
        # The callback answers a passphrase prompt, which would otherwise wait on the tty.
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(
            pair.cert, pair.key, password=lambda: b"")
    except ssl.SSLError as exc:
        raise SettingsError(f"[console] tls_key = {pair.key}: not the unencrypted PEM "
                            f"private key of {pair.cert} ({exc.reason or exc})") from exc


def client_context(pair: TlsFiles) -> ssl.SSLContext:
    """For the health check: the console must present exactly the configured certificate
    (trusted as it is, self-signed or not); the name is not checked, as the check dials
    the listening address, which the certificate need not name."""
    context = ssl.create_default_context(cafile=str(pair.cert))
    context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    context.check_hostname = False
    return context


def make_self_signed(cert: Path, key: Path, names: list[str],
                     days: int = SELF_SIGNED_DAYS) -> str:
    """Write a self-signed certificate for these host names and IP addresses (the first
    is its subject) and its key (0600); the certificate's SHA-256 fingerprint back, for
    people to compare with what their browser shows."""
    if not names:
        raise SettingsError("a certificate needs at least one host name or address")
    if shutil.which(OPENSSL) is None:
        raise SettingsError("openssl is not installed (apt-get install openssl)")
    cert.parent.mkdir(parents=True, exist_ok=True)
    key.parent.mkdir(parents=True, exist_ok=True)
    key.touch(mode=0o600)
    key.chmod(0o600)
    command = [OPENSSL, "req", "-x509", "-newkey", "ec", "-pkeyopt",
               "ec_paramgen_curve:prime256v1", "-noenc", "-keyout", str(key), "-out",
               str(cert), "-days", str(days), "-subj", f"/CN={names[0]}",
               "-addext", f"subjectAltName={subject_alt_names(names)}",
               "-addext", "basicConstraints=critical,CA:FALSE",
               "-addext", "extendedKeyUsage=serverAuth"]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SettingsError(f"openssl failed: {done.stderr.strip()}")
    return fingerprint(cert)


def subject_alt_names(names: list[str]) -> str:
    """"court.example,10.1.2.3" → "DNS:court.example,IP:10.1.2.3": browsers match only
    these, never the subject's CN."""
    out = []
    for name in names:
        try:
            out.append(f"IP:{ipaddress.ip_address(name)}")
        except ValueError:
            out.append(f"DNS:{name}")
    return ",".join(out)


def fingerprint(cert: Path) -> str:
    der = ssl.PEM_cert_to_DER_cert(cert.read_text())
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def expires_at(cert: Path) -> datetime:
    """When the certificate ends (its notAfter), read by openssl; SettingsError when it
    cannot be read."""
    done = subprocess.run([OPENSSL, "x509", "-in", str(cert), "-noout", "-enddate"],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0 or not done.stdout.startswith("notAfter="):
        said = (done.stderr or done.stdout).strip().splitlines() or [""]
        raise SettingsError(f"[console] tls_cert = {cert}: cannot read its end date "
                            f"({said[-1]})")
    # "notAfter=Mar  5 04:01:17 2029 GMT", the form ssl reads
    return datetime.fromtimestamp(ssl.cert_time_to_seconds(done.stdout.strip()[9:]), UTC)


def expiry_line(cert: Path, now: datetime) -> str:
    """`hotline status`'s line on the console's certificate: a WARNING a month ahead."""
    try:
        end = expires_at(cert)
    except (SettingsError, OSError, ValueError) as exc:
        return f"WARNING   the console's certificate: {exc}"
    days = (end - now).days
    if end <= now:
        return f"WARNING   the console's certificate {cert} EXPIRED on {end:%Y-%m-%d}"
    label = "WARNING  " if days < EXPIRY_WARN_DAYS else "https    "
    return f"{label} the console's certificate ends {end:%Y-%m-%d} (in {days} days)"
