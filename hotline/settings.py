"""Layered settings: typed defaults here → hotline.toml → HOTLINE_<SECTION>_<KEY> variables.

>>> s = load_settings(env={"HOTLINE_PBX_SIP_PORT": "15060"}, config_path=None)
>>> s.pbx.sip_port
15060
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hotline.trunks import Trunk, TrunkError, check_network, read_trunks

# [recordings] format → the container file's extension.
RECORDING_FORMATS = {"opus": "ogg", "mp3": "mp3"}
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = REPO_ROOT / "hotline.toml"


class SettingsError(ValueError):
    """A setting is wrong; the message names the file, line or key."""


@dataclass(frozen=True)
class PathsSettings:
    data_dir: Path = Path("data")


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = ""


@dataclass(frozen=True)
class CourtSettings:
    # The court's name as reports and texts to callers print it (e.g. 洛阳市中级人民法院).
    name: str = ""
    # The signature in front of every SMS to a caller, as registered with the SMS provider
    # (e.g. 洛阳中院, written with or without 【】); empty: the court's name.
    sms_signature: str = ""
    # The department that receives complaints about the court's staff (issue 15); only its
    # people and administrators see them (hotline.confidential).
    discipline_department: str = "纪检监察"


@dataclass(frozen=True)
class PbxSettings:
    mode: str = "auto"
    sandbox_dir: Path = Path("/var/cache/hotline/asterisk-sid")
    sip_bind: str = "127.0.0.1"
    sip_port: int = 5060
    carrier_match: str = "127.0.0.1:5070"
    # The network (issue 16, docs/network.md): the carrier's side on its own address
    # ("10.1.1.5" or "10.1.1.5:5060"; empty: sip_bind serves both); NAT on that side; the
    # codecs offered to carriers, in order; G.722 first for desk phones. The trunks are
    # hotline.toml's [[trunks]] (hotline.trunks), else carrier_match's one IP trunk.
    carrier_bind: str = ""
    external_media_address: str = ""
    external_signaling_address: str = ""
    local_net: tuple[str, ...] = ()
    codecs: tuple[str, ...] = ("alaw", "ulaw")
    seat_g722: bool = False
    trunks: tuple[Trunk, ...] = ()
    ami_port: int = 5038
    agi_host: str = "127.0.0.1"
    agi_port: int = 4573
    # Asterisk's addresses or networks that may connect to FastAGI; empty: loopback only,
    # and the bridge refuses to listen anywhere but loopback (ivr/fastagi.py).
    agi_allow: tuple[str, ...] = ()
    rtp_start: int = 10000
    rtp_end: int = 20000
    seats: tuple[str, ...] = ("8001", "8002", "8003", "8004")
    judges: tuple[str, ...] = ("8101",)
    # SIP over TLS for the phones (pbx/sip_security.py): the certificate (PEM, intermediates
    # after it), its unencrypted key and optionally the CA list, relative paths in the data
    # folder; all empty: no TLS transport. srtp: "off", "optional" or "required" (SDES
    # keys in the SDP, so only with TLS).
    tls_port: int = 5061
    tls_cert: str = ""
    tls_key: str = ""
    tls_ca: str = ""
    srtp: str = "off"
    # Fail-to-ban: this many failed SIP authentications from one address within
    # ban_window_seconds block it for ban_seconds (the carrier's address and ban_never
    # networks never).
    ban_failures: int = 5
    ban_window_seconds: int = 600
    ban_seconds: int = 3600
    ban_never: tuple[str, ...] = ()


@dataclass(frozen=True)
class HoursSettings:
    timezone: str = "Asia/Shanghai"
    summer: tuple[str, ...] = ("08:00-12:00", "15:00-18:00")
    winter: tuple[str, ...] = ("08:00-12:00", "14:30-17:30")
    # Per-weekday exceptions: {"fri": ["08:00-12:00"]} (both seasons) or
    # {"summer-fri": [...], "winter-fri": [...]}; an empty list closes that weekday.
    weekday: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class CasesSettings:
    # "local": the cases table, filled by `hotline cases import`; "http": the court's
    # case-flow API at http_url.
    source: str = "local"
    http_url: str = ""
    http_timeout: float = 3.0
    # Brute-force protection of case queries: this many wrong codes from one number within
    # the window lock that number out of queries for lock_minutes.
    lockout_failures: int = 5
    lockout_window_minutes: int = 30
    lockout_minutes: int = 30
    # Failed queries from all numbers together within an hour that raise an alert: one
    # person trying codes from many phones is never locked out (0 turns the alert off).
    alert_failures_per_hour: int = 30


@dataclass(frozen=True)
class CallsSettings:
    queue_max_wait: int = 300
    message_max_seconds: int = 120
    # How long a transfer rings the duty judge before the caller comes back to the agent.
    transfer_ring_seconds: int = 25
    # Callers waiting in the seats queue hear their position this often, in seconds (and
    # once on joining); Asterisk's min-announce-frequency keeps it at 15 or more.
    queue_announce_seconds: int = 45
    # How often the bridge checks whether office hours ended, to hand callers still
    # waiting in the queue over to the message/callback path.
    closing_check_seconds: int = 20


@dataclass(frozen=True)
class ConsoleSettings:
    host: str = "127.0.0.1"
    port: int = 8368
    # A console session left alone this long ends; every request starts the count again.
    session_idle_minutes: int = 480
    # However busy, a session or API token ends this long after its login (hours).
    session_max_hours: int = 12
    # This many wrong passwords for one username within login_lock_minutes lock that name
    # for login_lock_minutes after the last of them; from one address (any usernames),
    # login_address_max_failures do the same for that address.
    login_max_failures: int = 5
    login_address_max_failures: int = 20
    login_lock_minutes: int = 15
    # Administrators read the log of logins (/admin/logins) this many days back.
    login_log_days: int = 365
    # The reverse proxy's addresses: their X-Forwarded-For names the browser (for the login
    # lock-out and log). Empty: every request is from the connection's own address.
    trusted_proxies: tuple[str, ...] = ()
    # Mark the session cookie Secure even on plain HTTP (a TLS proxy not listed in
    # trusted_proxies). Over HTTPS, its own or a trusted proxy's, it is Secure anyway.
    secure_cookies: bool = False
    # HTTPS served by the console itself (issue 16): the certificate (PEM, with any
    # intermediates) and its unencrypted private key, relative paths in the data folder.
    # Both empty: plain HTTP (loopback, or behind a TLS reverse proxy).
    tls_cert: str = ""
    tls_key: str = ""
    # With tls_cert: a plain-HTTP port that only redirects browsers to HTTPS (0: none).
    http_redirect_port: int = 0
    # 话后处理 (wrap-up): after the caller hangs up the seat stays paused until the agent saves
    # the call's log or ends wrap-up on the desk; left open, it returns to the queue after
    # this many seconds (0: at once, no wrap-up).
    wrap_up_seconds: int = 120


@dataclass(frozen=True)
class RecordingsSettings:
    # The compact copy kept after a call: "opus" (Ogg Opus) or "mp3"; mono, this bitrate.
    format: str = "opus"
    bitrate: str = "16k"
    # Court archive rule: recordings are kept this many days, then deleted by the retention
    # job unless held (linked to a ticket or a case).
    retention_days: int = 3650
    # A recording whose loudest moment is below this level is flagged silent.
    silent_below_dbfs: float = -50.0
    # A recording whose post-processing failed is tried this many times in all.
    max_attempts: int = 3
    # Alert when the recordings folder's filesystem has less than this share free (percent).
    disk_warn_percent: float = 15.0
    # Also record the caller and what the caller heard as separate legs, kept as one stereo
    # copy (caller left, staff right) for quality review; about twice the storage.
    two_channel: bool = False
    # The periodic reconciler looks at calls and day folders this many days back
    # (`hotline recordings check --all` looks at everything).
    reconcile_days: int = 3


@dataclass(frozen=True)
class SmsSettings:
    # "outbox": nothing is sent, messages wait in the console (the embedded default);
    # "smpp": an SMSC over SMPP 3.4; "http": a cloud SMS provider's HTTP API.
    driver: str = "outbox"
    # How often the sender job runs (sends what is due; with smpp, reads receipts/inbound).
    poll_seconds: float = 2.0
    # A failed send is tried again after backoff_seconds, doubling each time up to
    # backoff_max_seconds; after max_attempts tries the message is "failed" and alerted.
    backoff_seconds: float = 30.0
    backoff_max_seconds: float = 1800.0
    max_attempts: int = 8
    # --- smpp: one transceiver session kept open by the scheduler
    smpp_host: str = "127.0.0.1"
    smpp_port: int = 2775
    smpp_system_id: str = ""
    # Set through HOTLINE_SMS_SMPP_PASSWORD, never in the repository.
    smpp_password: str = field(default="", repr=False)
    smpp_system_type: str = ""
    # The number callers see as the sender (the court's SMS service number).
    source_addr: str = "12368"
    smpp_timeout: float = 10.0
    # --- http: one request per message, built from these templates. {to} {text} {id} and
    # {secret} are replaced (escaped for body_format: json, form or raw; URL-quoted in url).
    http_url: str = ""
    http_method: str = "POST"
    # "Name: value" lines, e.g. "Authorization: Bearer {secret}"
    http_headers: tuple[str, ...] = ()
    http_body: str = ""
    http_body_format: str = "json"
    # Set through HOTLINE_SMS_HTTP_SECRET, never in the repository.
    http_secret: str = field(default="", repr=False)
    # A 2xx answer whose body matches this regular expression is a success ("" = any 2xx).
    http_success: str = ""
    # The provider's message id: a dotted JSON path (data.messageId, result.0.sid) or,
    # if that is empty, the first group of a regular expression on the body.
    http_id_path: str = ""
    http_id_regex: str = ""
    http_timeout: float = 10.0
    # --- http templates (issue 19): providers in China send only approved templates.
    # kind = [template id, value, ...]: the kind's values in the template's order, each
    # "name" or "provider_name=name"; the request then has {template}, {params} (a JSON
    # list of the values), {param_map} (a JSON object) and {sign} (the signature without
    # 【】). With http_templates_required every kind the hotline sends needs one (checked
    # at start) and staff cannot send free text unless "reply" has one.
    http_templates: dict[str, tuple[str, ...]] = field(default_factory=dict)
    http_templates_required: bool = False
    # --- http receipts and inbound SMS, pushed to the console's /api/sms/http/receipts and
    # /api/sms/http/inbound (checked: "hmac" of timestamp.body, or "token", with the
    # sms_hook_secret of data_dir/secrets.toml) or pulled from these URLs every
    # http_poll_seconds. Fields are dotted JSON paths into each event; http_events_path
    # is where the list of events is ("" = the body is the list, or one event).
    http_hook_auth: str = "hmac"
    http_hook_signature_header: str = "X-Signature"
    http_hook_timestamp_header: str = "X-Timestamp"
    http_hook_answer: str = '{"code": 0, "msg": "ok"}'
    http_poll_receipts_url: str = ""
    http_poll_inbound_url: str = ""
    http_poll_seconds: float = 30.0
    http_events_path: str = ""
    http_receipt_id_path: str = "msgId"
    http_receipt_status_path: str = "status"
    # a status matching this is delivered; any other is not deliverable
    http_receipt_delivered: str = r"^(DELIVRD|DELIVERED|SUCCESS|success|0|true|True)$"
    http_inbound_id_path: str = "msgId"
    http_inbound_from_path: str = "mobile"
    http_inbound_text_path: str = "content"
    http_inbound_to_path: str = ""

    def __post_init__(self) -> None:
        # Checked at start-up: a typo here would otherwise only show when an SMS is sent.
        if self.driver not in SMS_DRIVERS:
            raise SettingsError(f"[sms] driver: {self.driver!r} is not one of "
                                f"{', '.join(SMS_DRIVERS)}")
        if self.http_body_format not in ("json", "form", "raw"):
            raise SettingsError(f"[sms] http_body_format: {self.http_body_format!r} is not "
                                "json, form or raw")
        if self.driver == "http" and not self.http_url:
            raise SettingsError("[sms] http_url: needed when driver = \"http\"")
        if self.http_hook_auth not in ("hmac", "token"):
            raise SettingsError(f"[sms] http_hook_auth: {self.http_hook_auth!r} is not hmac "
                                "or token")
        for kind, template in self.http_templates.items():
            if not template or not template[0]:
                raise SettingsError(f"[sms] http_templates: {kind} needs [template id, "
                                    "value, ...]")


SMS_DRIVERS = ("outbox", "smpp", "http")


@dataclass(frozen=True)
class IntegrationsSettings:
    # The court's systems told of every change of a matter (issue 19,
    # docs/integrations.md): one "name = URL" a line, e.g.
    # ["case-system = http://10.0.0.5:8080/12368/events"]. Each endpoint's signing secret
    # is generated into data/endpoint_secrets.toml (`hotline integrations secret NAME`).
    endpoints: tuple[str, ...] = ()
    # How often the scheduler delivers; a failing endpoint waits 5 s, then twice as long
    # each time, up to max_backoff_seconds.
    poll_seconds: float = 2.0
    max_backoff_seconds: float = 3600.0
    timeout_seconds: float = 10.0
    # An endpoint failing this long raises an alert in the console (resolved on success).
    alert_minutes: int = 10


@dataclass(frozen=True)
class BackupSettings:
    # Where `hotline backup` and the nightly job write (e.g. a mounted NAS); a relative
    # path is in the data folder. Keep it on another disk than the data folder.
    dir: Path = Path("backups")
    # The nightly backup: at this court time, when the scheduler runs; off with false.
    nightly: bool = True
    time: str = "02:30"
    # The newest this many backups are kept (and the older ones whose recordings they
    # still name); older ones are deleted after each backup.
    keep: int = 14

    def __post_init__(self) -> None:
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", self.time):
            raise SettingsError(f"[backup] time: {self.time!r} is not HH:MM")
        if self.keep < 1:
            raise SettingsError(f"[backup] keep: {self.keep} must be 1 or more")


@dataclass(frozen=True)
class ClusterSettings:
    """Two or more PBX nodes behind one SIP proxy (docs/cluster.md); no nodes: one server."""

    # This server's name among the nodes ("pbx1"); empty on the proxy-only or console host.
    node: str = ""
    # The PBX nodes, each "name=address": the address its Asterisk listens on for SIP (and
    # AMI, on [pbx] ami_port, for the console). Every node runs the same asterisk-conf/ and
    # dialplan/; each has its own bridge. A cluster needs PostgreSQL ([database] url).
    nodes: tuple[str, ...] = ()
    # The SIP proxy (Kamailio) the carrier and the phones talk to: "10.1.1.10" or
    # "10.1.1.10:5060".
    proxy: str = ""
    # The proxy asks every node OPTIONS this often (seconds); a node that does not answer
    # gets no new calls until it answers again. About the longest a failover takes.
    probe_seconds: int = 2
    # The folder every node writes its recordings to (a mounted share), absolute; empty:
    # each node's own instance folder.
    recordings_dir: str = ""
    # The scheduler runs on one node at a time (a lock in PostgreSQL); the others try to
    # take the lock this often (seconds).
    lock_seconds: int = 5

    @property
    def enabled(self) -> bool:
        return bool(self.nodes)

    def addresses(self) -> dict[str, str]:
        """Node name → address, in the order given."""
        return dict(entry.split("=", 1) for entry in self.nodes)

    def proxy_host_port(self) -> tuple[str, int]:
        host, _, port = self.proxy.partition(":")
        return host, int(port or 5060)


@dataclass(frozen=True)
class Settings:
    paths: PathsSettings = field(default_factory=PathsSettings)
    court: CourtSettings = field(default_factory=CourtSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    pbx: PbxSettings = field(default_factory=PbxSettings)
    hours: HoursSettings = field(default_factory=HoursSettings)
    calls: CallsSettings = field(default_factory=CallsSettings)
    cases: CasesSettings = field(default_factory=CasesSettings)
    console: ConsoleSettings = field(default_factory=ConsoleSettings)
    recordings: RecordingsSettings = field(default_factory=RecordingsSettings)
    sms: SmsSettings = field(default_factory=SmsSettings)
    integrations: IntegrationsSettings = field(default_factory=IntegrationsSettings)
    backup: BackupSettings = field(default_factory=BackupSettings)
    cluster: ClusterSettings = field(default_factory=ClusterSettings)

    @property
    def data_dir(self) -> Path:
        return self.paths.data_dir

    @property
    def database_url(self) -> str:
        """The SQLAlchemy URL; the embedded default is SQLite in the data folder."""
        return self.database.url or f"sqlite:///{self.data_dir / 'hotline.db'}"

    @property
    def run_dir(self) -> Path:
        return self.data_dir / "run"

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "log"

    @property
    def bridge_pid_file(self) -> Path:
        """Written by the bridge itself while it runs (ivr/main.py)."""
        return self.run_dir / "bridge.pid"

    @property
    def console_pid_file(self) -> Path:
        """Written by the console itself while it runs (agent_console/cli.py)."""
        return self.run_dir / "console.pid"

    @property
    def scheduler_pid_file(self) -> Path:
        """Written by the scheduler itself while it runs (scheduler/main.py)."""
        return self.run_dir / "scheduler.pid"

    @property
    def scheduler_heartbeat_file(self) -> Path:
        """The scheduler's heartbeat and its jobs' last runs, which `hotline status` reads."""
        return self.run_dir / "scheduler.json"

    @property
    def bridge_heartbeat_file(self) -> Path:
        """The bridge's heartbeat, which `hotline status` reads."""
        return self.run_dir / "bridge.json"


_SECTIONS = {f.name: f.type for f in dataclasses.fields(Settings)}


def load_settings(
    env: Mapping[str, str] | None = None, config_path: Path | None = DEFAULT_CONFIG
) -> Settings:
    """Defaults, then the config file (HOTLINE_CONFIG overrides the path), then env vars."""
    env = os.environ if env is None else env
    if "HOTLINE_CONFIG" in env:
        config_path = Path(env["HOTLINE_CONFIG"])
    raw = _read_file(config_path) if config_path else {}
    base = config_path.parent if config_path else Path.cwd()
    trunk_tables = raw.pop("trunks", [])  # [[trunks]]: read by _with_trunks
    _merge_env(raw, env)
    settings = _build(raw)
    _check_hours(settings.hours)
    _check_recordings(settings.recordings)
    _check_console(settings.console)
    _check_cluster(settings)
    settings = _absolute_paths(settings, base)
    settings = _with_trunks(settings, trunk_tables, config_path, env)
    _check_integrations(settings, config_path)
    _check_caller_texts(settings)
    _check_sms_templates(settings)
    return settings


def _check_caller_texts(settings: Settings) -> None:
    """The SMS texts to callers are sent long after start: a wrong one must stop it."""
    from hotline import caller_sms  # it needs this module's Settings

    caller_sms.load(settings)


def _check_sms_templates(settings: Settings) -> None:
    """A provider that sends only templates refuses a kind without one: say so at start,
    naming the kind, not when its first SMS fails (issue 19)."""
    from hotline.sms import templates  # it needs this module's Settings

    templates.check(settings)


def _check_integrations(settings: Settings, config_path: Path | None) -> None:
    """A wrong endpoint would only show when a matter changes: it stops the start, naming
    its line of the config file."""
    from hotline.endpoints import EndpointError, parse_endpoints

    try:
        parse_endpoints(settings.integrations.endpoints)
    except EndpointError as exc:
        line = _line_of(config_path, exc.entry)
        where = f"{config_path} line {line}: " if line else ""
        raise SettingsError(f"{where}[integrations] endpoints: {exc}") from exc


def _with_trunks(settings: Settings, tables: Any, config_path: Path | None,
                 env: Mapping[str, str]) -> Settings:
    """The carrier trunks: a wrong [[trunks]] entry stops the start, naming its line."""
    pbx = settings.pbx
    try:
        if pbx.trunks:
            raise TrunkError(0, "trunks", "write each trunk as a [[trunks]] table, not [pbx]")
        trunks = read_trunks(tables, pbx.carrier_match, settings.data_dir, env)
        check_network(pbx.carrier_bind, pbx.local_net, pbx.codecs,
                      (pbx.external_media_address, pbx.external_signaling_address))
    except TrunkError as exc:
        raise SettingsError(exc.located(config_path)) from exc
    except ValueError as exc:
        raise SettingsError(f"[pbx] {exc}") from exc
    return dataclasses.replace(settings, pbx=dataclasses.replace(pbx, trunks=trunks))


def _line_of(path: Path | None, text: str) -> int | None:
    if path is None or not text or not path.is_file():
        return None
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if text in line:
            return number
    return None


_NODE_NAME = re.compile(r"[a-z][a-z0-9-]{0,30}")


def _check_cluster(settings: Settings) -> None:
    """A wrong [cluster] would split calls between nodes that cannot see each other."""
    cluster = settings.cluster
    if not cluster.enabled:
        if cluster.node:
            raise SettingsError(f"[cluster] node: {cluster.node!r} is set but no nodes are")
        return
    names: list[str] = []
    for entry in cluster.nodes:
        name, sep, address = entry.partition("=")
        if not sep or not _NODE_NAME.fullmatch(name.strip()) or not address.strip():
            raise SettingsError(f"[cluster] nodes: {entry!r} is not name=address "
                                "(e.g. \"pbx1=10.1.1.11\"; names in lower case)")
        if name in names:
            raise SettingsError(f"[cluster] nodes: {name!r} is given twice")
        names.append(name)
    if cluster.node and cluster.node not in names:
        raise SettingsError(f"[cluster] node: {cluster.node!r} is not one of the nodes "
                            f"({', '.join(names)})")
    host, _, port = cluster.proxy.partition(":")
    if not host or (port and not port.isdigit()):
        raise SettingsError(f"[cluster] proxy: {cluster.proxy!r} must be an address or "
                            "address:port (the SIP proxy in front of the nodes)")
    if not settings.database_url.startswith("postgresql"):
        raise SettingsError("[cluster] the nodes share one database: set [database] url to "
                            "PostgreSQL (SQLite is one server's)")
    if cluster.recordings_dir and not Path(cluster.recordings_dir).is_absolute():
        raise SettingsError(f"[cluster] recordings_dir: {cluster.recordings_dir!r} must be "
                            "an absolute path (a share mounted on every node)")
    if cluster.probe_seconds < 1 or cluster.lock_seconds < 1:
        raise SettingsError("[cluster] probe_seconds and lock_seconds must be 1 or more")


_SPAN = re.compile(r"([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d")
_WEEKDAY_KEY = re.compile(r"((summer|winter)-)?(mon|tue|wed|thu|fri|sat|sun)")


def _check_hours(hours: HoursSettings) -> None:
    """Office hours are used in the middle of calls; a typo must stop the start instead."""
    for season in ("summer", "winter"):
        _check_spans(season, getattr(hours, season))
    for key, spans in hours.weekday.items():
        if not _WEEKDAY_KEY.fullmatch(key):
            raise SettingsError(f"[hours] weekday: unknown key {key!r} (use mon..sun, or "
                                "summer-fri / winter-fri for one season)")
        _check_spans(f"weekday.{key}", spans)
    try:
        ZoneInfo(hours.timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise SettingsError(f"[hours] timezone: unknown time zone {hours.timezone!r}") from exc


def _check_recordings(rec: RecordingsSettings) -> None:
    if rec.format not in RECORDING_FORMATS:
        raise SettingsError(f"[recordings] format: {rec.format!r} is not one of "
                            f"{', '.join(RECORDING_FORMATS)}")
    if not re.fullmatch(r"[1-9]\d{0,2}k", rec.bitrate):
        raise SettingsError(f"[recordings] bitrate: {rec.bitrate!r} is not like 16k")
    if rec.retention_days < 1 or rec.max_attempts < 1 or rec.reconcile_days < 1:
        raise SettingsError("[recordings] retention_days, max_attempts and reconcile_days "
                            "must be 1 or more")
    if not 0 <= rec.disk_warn_percent < 100:
        raise SettingsError(f"[recordings] disk_warn_percent: {rec.disk_warn_percent} is not "
                            "between 0 and 100")


def _check_console(console: ConsoleSettings) -> None:
    """HTTPS needs both files (read at the console's start, hotline.tls); the redirect
    port is HTTPS's companion."""
    if bool(console.tls_cert) != bool(console.tls_key):
        given, missing = (("tls_cert", "tls_key") if console.tls_cert
                          else ("tls_key", "tls_cert"))
        raise SettingsError(f"[console] {given} is set but {missing} is not: HTTPS needs "
                            "both the certificate and its key")
    if console.http_redirect_port and not console.tls_cert:
        raise SettingsError("[console] http_redirect_port redirects to HTTPS: set tls_cert "
                            "and tls_key too, or 0")
    if console.http_redirect_port == console.port:
        raise SettingsError(f"[console] http_redirect_port: {console.port} is the console's "
                            "own port")


def _check_spans(where: str, spans: tuple[str, ...]) -> None:
    for span in spans:
        # "HH:MM" strings compare like times, so a backwards span is caught as text.
        if not _SPAN.fullmatch(span) or span[:5] >= span[6:]:
            raise SettingsError(f"[hours] {where}: {span!r} is not HH:MM-HH:MM "
                                "with the end after the start")


def _read_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError as exc:
        raise SettingsError(f"{path}: no such config file") from exc
    except tomllib.TOMLDecodeError as exc:
        # tomllib's message already says "(at line N, column M)".
        raise SettingsError(f"{path}: {exc}") from exc


def _merge_env(raw: dict[str, Any], env: Mapping[str, str]) -> None:
    for name, value in env.items():
        match = re.fullmatch(r"HOTLINE_([A-Z]+)_([A-Z0-9_]+)", name)
        if not match or match.group(1).lower() not in _SECTIONS:
            continue
        section, key = match.group(1).lower(), match.group(2).lower()
        raw.setdefault(section, {})[key] = value


def _build(raw: dict[str, Any]) -> Settings:
    sections: dict[str, Any] = {}
    for section, values in raw.items():
        if section not in _SECTIONS:
            raise SettingsError(f"unknown section [{section}]")
        if not isinstance(values, dict):
            raise SettingsError(f"[{section}] must be a table")
        cls = type(getattr(Settings(), section))
        sections[section] = _build_section(cls, section, values)
    return Settings(**sections)


def _build_section(cls: type[Any], section: str, values: dict[str, Any]) -> Any:
    defaults = cls()
    known = {f.name for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in values.items():
        if key not in known:
            raise SettingsError(f"[{section}] unknown key {key!r}")
        kwargs[key] = _coerce(getattr(defaults, key), value, f"[{section}] {key}")
    return cls(**kwargs)


def _coerce(default: Any, value: Any, where: str) -> Any:
    """Give a file or environment value the type of its default, or say what is wrong."""
    try:
        if isinstance(default, bool):
            return _to_bool(value)
        if isinstance(default, int) and not isinstance(value, bool | float):
            return int(value)
        if isinstance(default, float) and not isinstance(value, bool):
            return float(value)
        if isinstance(default, dict):
            return _coerce_spans_table(value)
        if isinstance(default, Path):
            return Path(value)
        if isinstance(default, tuple):
            items = value.split(",") if isinstance(value, str) else value
            return tuple(str(item).strip() for item in items if str(item).strip())
        if isinstance(value, str):
            return value
    except (TypeError, ValueError):
        pass
    raise SettingsError(f"{where}: {value!r} is not a valid {type(default).__name__}")


def _coerce_spans_table(value: Any) -> dict[str, tuple[str, ...]]:
    """A TOML table of span lists, or (from the environment) JSON of the same shape."""
    if isinstance(value, str):
        value = json.loads(value)
    if not isinstance(value, dict):
        raise ValueError(value)
    return {str(key): tuple(str(span) for span in spans) for key, spans in value.items()}


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if str(value).lower() in {"1", "true", "yes", "on"}:
        return True
    if str(value).lower() in {"0", "false", "no", "off"}:
        return False
    raise ValueError(value)


def _absolute_paths(settings: Settings, base: Path) -> Settings:
    data_dir = settings.paths.data_dir
    if not data_dir.is_absolute():
        data_dir = (base / data_dir).resolve()
    return dataclasses.replace(settings, paths=PathsSettings(data_dir=data_dir))
