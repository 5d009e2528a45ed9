"""SIP security for a real network (issue 16): the phones' TLS transport with optional
SRTP, and fail-to-ban of addresses that fail SIP authentication again and again.

Fail-to-ban runs in the bridge, which already reads AMI: Asterisk's security events
(InvalidAccountID, ChallengeResponseFailed, InvalidPassword) are counted per source address
within `[pbx] ban_window_seconds`; at `ban_failures` the address gets a row in sip_bans, and
the PBX's own ACL (a PJSIP `acl` object, res_pjsip_acl, rendered into etc/bans/pjsip.conf and
reloaded through the control socket) answers its every request with 403 until the ban
expires or is lifted (`hotline sip unban ADDR`). Asterisk itself, not the firewall: it needs
no root (the services run as an unprivileged user), works the same in the sandbox and with
an installed Asterisk, and keeps the ban beside the SIP configuration it protects.
The carrier's addresses and `[pbx] ban_never` are never banned: a banned carrier is every
caller cut off.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
import shutil
import ssl
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, TypeAlias
from zoneinfo import ZoneInfo

from hotline.settings import PbxSettings, Settings
from hotline.trunks import trunk_hosts
from pbx.instance import PbxError, PbxInstance, instance_for
from pbx.trunks import trunks_of

if TYPE_CHECKING:  # panoramisk and SQLAlchemy: not for `hotline status`, which renders nothing
    from panoramisk.message import Message
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

log = logging.getLogger(__name__)

# The security events (AMI class `security`) that are a failed authentication. FailedACL
# is not one: it is what a banned address gets, and counting it would ban it again.
FAILURE_EVENTS = ("InvalidAccountID", "ChallengeResponseFailed", "InvalidPassword")
SIP_SERVICES = ("PJSIP", "SIP")  # InvalidPassword is also AMI's own (Service: AMI)
SRTP_MODES = ("off", "optional", "required")
BAN_ACL = "hotline-bans"
BANS_FILE = Path("bans") / "pjsip.conf"  # under the instance's etc/, #included by pjsip.conf
TLS_DIR = "tls"  # under the instance's etc/: the copies Asterisk's user can read
_RELOAD_LOCK = threading.Lock()
_unapplied: set[Path] = set()  # ban files written here that Asterisk has not taken yet
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


# --- settings ------------------------------------------------------------------------

def check_settings(pbx: PbxSettings) -> None:
    """Refuse what cannot work, naming the setting (at `hotline pbx up`)."""
    if pbx.srtp not in SRTP_MODES:
        raise PbxError(f"[pbx] srtp: {pbx.srtp!r} is not one of {', '.join(SRTP_MODES)}")
    if bool(pbx.tls_cert) != bool(pbx.tls_key):
        given, missing = ("tls_cert", "tls_key") if pbx.tls_cert else ("tls_key", "tls_cert")
        raise PbxError(f"[pbx] {given} is set but {missing} is not: SIP over TLS needs both "
                       "the certificate and its key")
    if pbx.srtp != "off" and not pbx.tls_cert:
        raise PbxError("[pbx] srtp: SDES sends the media keys in the SIP message, so it "
                       "needs SIP over TLS (tls_cert, tls_key)")
    for name in ("ban_failures", "ban_window_seconds", "ban_seconds"):
        if getattr(pbx, name) < 1:
            raise PbxError(f"[pbx] {name}: must be 1 or more")
    exempt_networks(pbx)


def exempt_networks(pbx: PbxSettings) -> list[Network]:
    """The networks never banned: every trunk's addresses (carrier_match or [[trunks]]
    match/host, ports dropped; a host given by name is not resolved here, so list its
    addresses in match) and ban_never."""
    carriers = [host for host in map(_host, trunk_hosts(trunks_of(pbx)))
                if ":" in host or not any(c.isalpha() for c in host)]
    out = []
    for setting, value in [*(("carrier_match", c) for c in carriers),
                           *(("ban_never", n) for n in pbx.ban_never)]:
        try:
            out.append(ipaddress.ip_network(value, strict=False))
        except ValueError:
            raise PbxError(f"[pbx] {setting}: {value!r} is not an address or a "
                           "network") from None
    return out


def proxy_networks(settings: Settings) -> list[Network]:
    """A cluster's node: the SIP proxy's address, never banned. Every request reaches the
    node from it (a phone's wrong password too), and banning it cuts off every caller and
    phone; the proxy checks the phones' REGISTER itself (docs/cluster.md)."""
    if not settings.cluster.enabled or not settings.cluster.proxy:
        return []
    host, _port = settings.cluster.proxy_host_port()
    return [ipaddress.ip_network(host, strict=False)]


def _host(match: str) -> str:
    """"1.2.3.4:5060" → "1.2.3.4"; "[::1]:5060" → "::1"; a network stays as it is."""
    if match.startswith("["):
        return match[1:].split("]", 1)[0]
    return match.rsplit(":", 1)[0] if match.count(":") == 1 else match


# --- TLS and SRTP ----------------------------------------------------------------------

@dataclass(frozen=True)
class TlsFiles:
    cert: Path
    key: Path
    ca: Path | None


def tls_files(settings: Settings) -> TlsFiles | None:
    """The configured certificate, key and CA list (relative paths in the data folder);
    None without TLS."""
    pbx = settings.pbx
    if not pbx.tls_cert:
        return None

    def where(name: str) -> Path:
        path = Path(name)
        return path if path.is_absolute() else settings.data_dir / path
    return TlsFiles(where(pbx.tls_cert), where(pbx.tls_key),
                    where(pbx.tls_ca) if pbx.tls_ca else None)


def check_tls(files: TlsFiles) -> None:
    """Refuse a file Asterisk could not serve TLS with, naming the setting: Asterisk
    itself would only log it and start without the transport."""
    named = [("tls_cert", files.cert), ("tls_key", files.key)]
    for setting, path in [*named, *([("tls_ca", files.ca)] if files.ca else [])]:
        try:
            path.read_bytes()
        except OSError as exc:
            raise PbxError(f"[pbx] {setting} = {path}: cannot be read ({exc.strerror})") from exc
    for setting, path in [("tls_cert", files.cert), *([("tls_ca", files.ca)] if files.ca
                                                       else [])]:
        try:
            ssl.create_default_context(cafile=str(path))
        except ssl.SSLError as exc:
            raise PbxError(f"[pbx] {setting} = {path}: not a PEM certificate "
                           f"({exc.reason or exc})") from exc
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(
            files.cert, files.key, password=lambda: b"")  # an encrypted key: refused, no prompt
    except ssl.SSLError as exc:
        raise PbxError(f"[pbx] tls_key = {files.key}: not the unencrypted PEM private key "
                       f"of {files.cert} ({exc.reason or exc})") from exc


def install_tls(settings: Settings, inst: PbxInstance) -> None:
    """Check the TLS files and copy them into the instance's etc/tls/ (root's, group
    asterisk, 0640): Asterisk reads them as its own user, from inside the sandbox too."""
    check_settings(settings.pbx)
    files = tls_files(settings)
    folder = inst.dir("etc") / TLS_DIR
    if files is None:
        shutil.rmtree(folder, ignore_errors=True)
        return
    check_tls(files)
    from pbx.config import write_atomic  # config imports this module

    folder.mkdir(parents=True, exist_ok=True)
    for name, path in _tls_copies(files).items():
        write_atomic(folder / name, path.read_text())


def _tls_copies(files: TlsFiles) -> dict[str, Path]:
    return {"cert.pem": files.cert, "key.pem": files.key,
            **({"ca.pem": files.ca} if files.ca else {})}


def render_tls(settings: Settings, inst: PbxInstance) -> str:
    """site/pjsip-tls.conf: the phones' TLS transport, or nothing but a comment."""
    out = ["; Rendered from hotline.toml ([pbx] tls_*) by `hotline pbx up`. Do not edit."]
    files = tls_files(settings)
    if files is None:
        return "\n".join([*out, "; no tls_cert: no TLS transport", ""])
    pbx, folder = settings.pbx, inst.pbx_root / "etc" / TLS_DIR
    out += ["[transport-tls]", "type = transport", "protocol = tls",
            f"bind = {pbx.sip_bind}:{pbx.tls_port}",
            f"cert_file = {folder / 'cert.pem'}", f"priv_key_file = {folder / 'key.pem'}",
            *([f"ca_list_file = {folder / 'ca.pem'}"] if files.ca else []),
            "method = tlsv1_2", "verify_client = no", "verify_server = no", ""]
    return "\n".join(out)


def endpoint_media(pbx: PbxSettings) -> list[str]:
    """The SRTP lines of a staff endpoint: SDES keys, required or when the phone offers."""
    if pbx.srtp == "off":
        return []
    optimistic = "yes" if pbx.srtp == "optional" else "no"
    return ["media_encryption = sdes", f"media_encryption_optimistic = {optimistic}"]


# --- fail-to-ban ------------------------------------------------------------------------

def remote_host(address: str) -> str | None:
    """The host of a security event's RemoteAddress ("IPV4/UDP/192.0.2.7/5060")."""
    parts = address.split("/")
    if len(parts) < 4:
        return None
    try:
        return str(ipaddress.ip_address(parts[2]))
    except ValueError:
        return None


class FailureCounter:
    """Failures per address within a sliding window of `window` seconds."""

    def __init__(self, window: float) -> None:
        self.window = window
        self._seen: dict[str, deque[float]] = {}

    def add(self, address: str, now: float) -> int:
        """Count one failure at `now`; how many there are within the window."""
        times = self._seen.setdefault(address, deque())
        times.append(now)
        while times and times[0] <= now - self.window:
            times.popleft()
        return len(times)

    def forget(self, address: str) -> None:
        self._seen.pop(address, None)

    def prune(self, now: float) -> None:
        """Drop addresses with no failure in the window (a scan of many addresses must
        not grow the table for ever)."""
        for address in [a for a, t in self._seen.items() if t[-1] <= now - self.window]:
            del self._seen[address]


class Ban(NamedTuple):
    address: str
    until: datetime  # UTC


def render_bans(bans: Sequence[Ban]) -> str:
    """etc/bans/pjsip.conf: one PJSIP ACL denying every banned address; each line says
    until when (read back by listed_bans, for `hotline status`)."""
    out = ["; Rendered by the hotline's fail-to-ban (pbx/sip_security.py) from the sip_bans",
           "; table. Do not edit: `hotline sip bans`, `hotline sip unban ADDR`."]
    if not bans:
        return "\n".join([*out, "; no address is banned", ""])
    out += [f"[{BAN_ACL}]", "type = acl"]
    for ban in bans:
        ip = ipaddress.ip_address(ban.address)
        until = ban.until.astimezone(UTC).isoformat(timespec="seconds")
        out.append(f"deny = {ip}/{ip.max_prefixlen} ; until {until}")
    return "\n".join([*out, ""])


_DENY = re.compile(r"^deny = ([^/\s]+)/\d+ ; until (\S+)$", re.M)


def listed_bans(settings: Settings) -> list[Ban]:
    """The bans Asterisk was last given, from the ACL file (no database: status is quick)."""
    try:
        text = bans_path(settings).read_text()
    except OSError:
        return []
    return [Ban(address, datetime.fromisoformat(until)) for address, until in _DENY.findall(text)]


def status_lines(settings: Settings, now: datetime) -> list[str]:
    """`hotline status`: the banned addresses and until when, in the court's time."""
    bans = [ban for ban in listed_bans(settings) if ban.until > now]
    if not bans:
        return [f"{'sip bans':9} none"]
    zone = ZoneInfo(settings.hours.timezone)
    return [f"{'sip bans':9} {len(bans)} (hotline sip unban ADDR)",
            *(f"  {ban.address} until {ban.until.astimezone(zone):%Y-%m-%d %H:%M:%S}"
              for ban in bans)]


def bans_path(settings: Settings) -> Path:
    return instance_for(settings).dir("etc") / BANS_FILE


def ensure_bans_file(inst: PbxInstance) -> None:
    """pjsip.conf #includes the ban file: it exists from the first start on (empty)."""
    path = inst.dir("etc") / BANS_FILE
    if not path.exists():
        from pbx.config import write_atomic

        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, render_bans(()))


def apply_bans(settings: Settings, bans: Sequence[Ban]) -> bool:
    """Write the ban ACL and have Asterisk, if it runs, reload PJSIP (calls stay up);
    False when the file says that already (Asterisk read it at its start or reload).
    Raises PbxError when Asterisk does not take it: the next call tries again."""
    from pbx.config import write_atomic
    from pbx.pjsip import reload_pjsip
    from pbx.process import running_pid

    path, text = bans_path(settings), render_bans(bans)
    with _RELOAD_LOCK:
        if path not in _unapplied and path.exists() and path.read_text() == text:
            return False
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, text)
        _unapplied.add(path)
        if running_pid(settings) is not None:  # else Asterisk reads the file when it starts
            reload_pjsip(settings)  # through AMI: the bridge runs as `hotline`
        _unapplied.discard(path)
    return True


async def banned_now(session: AsyncSession, now: datetime) -> list[Ban]:
    from hotline.db import sip_bans

    return [Ban(ban.address, ban.expires_at) for ban in await sip_bans.active_bans(session, now)]


# Unchanged bans are compared with the ACL file (and Asterisk's) this often all the same:
# a file lost or edited by hand is put right within a minute.
RECHECK_SECONDS = 60.0

Handler: TypeAlias = "Callable[[Message], Awaitable[None]]"


class SipGuard:
    """The bridge's fail-to-ban: counts failed SIP authentications from AMI's security
    events, bans an address at `ban_failures`, and keeps Asterisk's ACL equal to the
    table's active bans (refresh(), run every second: expiries and `hotline sip unban`
    take effect there)."""

    def __init__(self, settings: Settings, sessions: async_sessionmaker[AsyncSession],
                 clock: Callable[[], float] = time.monotonic,
                 apply: Callable[[Settings, Sequence[Ban]], bool] = apply_bans) -> None:
        self.settings, self.sessions = settings, sessions
        self.clock, self.apply = clock, apply
        self.counter = FailureCounter(settings.pbx.ban_window_seconds)
        self.exempt = [*exempt_networks(settings.pbx), *proxy_networks(settings)]
        self.banned: set[str] = set()  # as Asterisk's ACL has it since the last refresh
        self._failing = ""  # the last refresh's error, logged once, not every second
        # the table as the ACL was last made from it: its stamp, and the first expiry
        self._stamp: tuple[Any, ...] | None = None
        self._next_expiry: datetime | None = None
        self._checked = -RECHECK_SECONDS  # when the ACL file was last compared
        self._pending: set[str] = set()  # crossed the limit, row not written yet
        self._tasks: set[asyncio.Task[None]] = set()

    def subscriptions(self) -> dict[str, Handler]:
        """Every AMI event the guard handles, and its handler."""
        return dict.fromkeys(FAILURE_EVENTS, self.on_failure)

    async def on_failure(self, event: Message) -> None:
        if event.get("Service") not in SIP_SERVICES:
            return
        host = remote_host(str(event.get("RemoteAddress", "")))
        if (host is None or host in self.banned or host in self._pending
                or self.is_exempt(host)):
            return
        now = self.clock()
        self.counter.prune(now)
        failures = self.counter.add(host, now)
        if failures < self.settings.pbx.ban_failures:
            return
        self.counter.forget(host)
        self._pending.add(host)
        task = asyncio.create_task(self.ban(host, failures, str(event.get("Event", ""))))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def is_exempt(self, host: str) -> bool:
        ip = ipaddress.ip_address(host)
        return any(ip in network for network in self.exempt)

    async def ban(self, host: str, failures: int, reason: str) -> None:
        """A row in sip_bans, logged, then Asterisk's ACL (the caller's audio never waits
        on this: it runs as its own task)."""
        from hotline.db import sip_bans
        from hotline.db.base import session_scope, utcnow

        try:
            async with session_scope(self.sessions) as session:
                row = await sip_bans.add_ban(session, host, failures=failures, reason=reason,
                                             now=utcnow(), seconds=self.settings.pbx.ban_seconds)
                until = row.expires_at
            log.warning("SIP address %s banned until %s: %d failed authentications within "
                        "%d s (last: %s)", host, until.isoformat(timespec="seconds"), failures,
                        self.settings.pbx.ban_window_seconds, reason)
        except Exception:
            log.exception("could not record the ban of SIP address %s", host)
        await self.refresh()
        self._pending.discard(host)

    async def refresh(self, found: tuple[Any, ...] | None = None) -> None:
        """Make Asterisk's ACL the table's active bans; log the bans that ended. found:
        hotline.db.sip_bans.STAMP's values, when the bridge read them with its routing
        books' (one statement a second, issue 12); None reads them here. The bans are read
        again only when the stamp moved or the first of them has expired."""
        from sqlalchemy import select

        from hotline.db import sip_bans
        from hotline.db.base import session_scope, utcnow

        try:
            now = utcnow()
            if found is None:
                async with session_scope(self.sessions) as session:
                    found = tuple((await session.execute(select(*sip_bans.STAMP))).one())
            if (found == self._stamp and (self._next_expiry is None or now < self._next_expiry)
                    and self.clock() < self._checked + RECHECK_SECONDS):
                return
            async with session_scope(self.sessions) as session:
                active = await banned_now(session, now)
            await asyncio.to_thread(self.apply, self.settings, active)
            addresses = {ban.address for ban in active}
            for host in sorted(self.banned - addresses):
                log.info("SIP address %s no longer banned (expired or lifted)", host)
            self.banned = addresses
            self._stamp, self._checked = found, self.clock()
            self._next_expiry = min((ban.until for ban in active), default=None)
            self._failing = ""
        except Exception as exc:
            if str(exc) != self._failing:
                log.warning("could not bring the SIP ban list to Asterisk; will retry "
                            "every second", exc_info=True)
            self._failing = str(exc)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
