"""Asterisk's configuration for one instance: the repo's asterisk-conf/ and dialplan/
copied in, and the few per-site files (site/) rendered from hotline.toml, the secrets and
the phones table."""

from __future__ import annotations

import hashlib
import hmac
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from hotline import waiting
from hotline.calendar import SEASONS, WEEKDAY_KEYS, season_month_range, weekday_spans
from hotline.secrets import Secrets
from hotline.settings import ClusterSettings, PbxSettings, Settings
from pbx.instance import CONF_DIR, DIALPLAN_DIR, PBX_USER, PbxInstance, ami_host
from pbx.names import AMI_USER, CONSOLE_AMI_USER, PJSIP_AMI_USER
from pbx.sip_security import endpoint_media, ensure_bans_file, install_tls, render_tls
from pbx.trunks import outgoing_trunk, render_dids, render_network, seat_codecs

# The database layer and the prompt builder (pypinyin) take ~0.5 s to import: only the
# functions that need them import them, so `hotline status` and `--help` start quickly.
if TYPE_CHECKING:
    from hotline.db.models import Phone

_MODULE_DIRS = ("usr/lib/x86_64-linux-gnu/asterisk/modules",
                "usr/lib/aarch64-linux-gnu/asterisk/modules",
                "usr/lib/asterisk/modules", "usr/lib64/asterisk/modules")
_DATA_DIRS = ("usr/share/asterisk", "var/lib/asterisk")


def render_config(settings: Settings, inst: PbxInstance, secrets: Secrets,
                  phones: Sequence[Phone] | None = None) -> None:
    """Copy the repo's asterisk-conf/ and dialplan/ into the instance and render site/
    (the phones from the phones table; without them, hotline.toml's seeds)."""
    etc = inst.dir("etc")
    for sub in ("etc/site", "etc/dialplan", "run", "log/cdr-custom", "spool", "lib", "cache",
                "recordings", "sounds"):
        (inst.host_root / sub).mkdir(parents=True, exist_ok=True)
    for conf in CONF_DIR.glob("*.conf"):
        shutil.copy2(conf, etc / conf.name)
    for stale in (etc / "dialplan").glob("*.conf"):
        stale.unlink()
    for conf in DIALPLAN_DIR.glob("*.conf"):
        shutil.copy2(conf, etc / "dialplan" / conf.name)
    (etc / "asterisk.conf").write_text(_asterisk_conf(inst, settings.cluster.node))
    _link_data_dir(inst)
    for name, text in site_files(settings, inst, secrets, phones).items():
        write_atomic(etc / "site" / name, text)
    install_tls(settings, inst)
    ensure_bans_file(inst)


def install_sounds(settings: Settings, inst: PbxInstance) -> None:
    """Mandarin prompts and hold music, where the dialplan and the bridge expect them."""
    from hotline import prompts

    prompts.build(settings.data_dir / "prompt-cache", settings.data_dir / "prompts" / "zh",
                  inst.sounds_dir / "zh")
    prompts.build_tones(inst.sounds_dir / "tones")
    prompts.build_hold_music(inst.sounds_dir / "moh")
    # What app_queue says to waiting callers names these files by path: rendered here.
    waiting.write_site_files(settings, inst.dir("etc") / "site", inst.pbx_root / "sounds" / "zh")


def _system_data_dir(inst: PbxInstance) -> str:
    host_base = inst.chroot or Path("/")
    return "/" + next((d for d in _DATA_DIRS if (host_base / d).is_dir()), _DATA_DIRS[0])


def _link_data_dir(inst: PbxInstance) -> None:
    """The instance's own Asterisk data folder: the system's, except sounds/, which is
    ours. Asterisk finds a few sounds only by name in sounds/<language>/ (the attended
    transfer's "pbx-transfer"), and no core sounds are installed; ours are in Mandarin."""
    data, system = inst.dir("astdata"), _system_data_dir(inst)
    data.mkdir(parents=True, exist_ok=True)
    wanted = {"sounds": inst.pbx_root / "sounds"}
    host_system = inst.to_host(system)
    if host_system.is_dir():
        wanted |= {e.name: Path(system) / e.name for e in host_system.iterdir()
                   if e.name != "sounds"}
    for name, target in wanted.items():
        link = data / name
        if link.is_symlink() and Path(os.readlink(link)) == target:
            continue
        if link.is_symlink():
            link.unlink()
        link.symlink_to(target)  # resolved by Asterisk, inside the sandbox when there is one


def _asterisk_conf(inst: PbxInstance, node: str = "") -> str:
    host_base = inst.chroot or Path("/")
    moddir = next((d for d in _MODULE_DIRS if (host_base / d).is_dir()), _MODULE_DIRS[0])
    root = inst.pbx_root
    values = {"ETC": root / "etc", "MODDIR": "/" + moddir, "DATADIR": _system_data_dir(inst),
              "OWNDATA": root / "astdata",
              "LIB": root / "lib", "SPOOL": root / "spool", "RUN": root / "run",
              "LOG": root / "log", "CACHE": root / "cache",
              "RUNUSER": PBX_USER, "RUNGROUP": PBX_USER}
    text = (CONF_DIR / "asterisk.conf.in").read_text()
    for key, value in values.items():
        text = text.replace(f"@{key}@", str(value))
    if node:
        # Every channel's uniqueid (and so a call's id, its linkedid) starts with the
        # node's name: two nodes writing to one database never give two calls one id.
        text = text.replace("[options]\n", f"[options]\n; A cluster's node ([cluster] node).\n"
                            f"systemname = {node}\n", 1)
    return text


def site_files(settings: Settings, inst: PbxInstance, secrets: Secrets,
               phones: Sequence[Phone] | None = None) -> dict[str, str]:
    """The few lines of Asterisk configuration that differ per site, from hotline.toml
    and the phones table (None: the phones hotline.toml seeds, with secrets' passwords)."""
    if phones is None:
        from hotline.db import phones as phones_db

        phones = phones_db.seed_rows(settings.pbx, secrets.phone_passwords)
    return {
        "pjsip.conf": render_pjsip(settings.pbx, phones, settings.cluster),
        "manager.conf": _site_manager(settings, secrets),
        "extensions.conf": _site_extensions(settings, inst),
        "musiconhold.conf": _site_moh(inst),
        "rtp.conf": f"rtpstart = {settings.pbx.rtp_start}\nrtpend = {settings.pbx.rtp_end}\n",
        "pjsip-tls.conf": render_tls(settings, inst),
    }


def _site_moh(inst: PbxInstance) -> str:
    return f"[default]\nmode = files\ndirectory = {inst.pbx_root / 'sounds' / 'moh'}\n"


def render_pjsip(pbx: PbxSettings, phones: Sequence[Phone],
                 cluster: ClusterSettings | None = None) -> str:
    """site/pjsip.conf: the transport, the carrier, and each enabled phone of the table.
    Behind the SIP proxy (cluster with nodes), each phone is reached at the proxy, which
    knows where it registered (pbx/proxy.py)."""
    out = ["; Rendered from hotline.toml and the phones table by `hotline pbx up` and on",
           "; every change of a phone (console, `hotline phones`). Do not edit.",
           *render_network(pbx, cluster)]
    for phone in sorted((p for p in phones if p.enabled), key=lambda p: p.extension):
        ext = phone.extension
        out += [f"[{ext}](staff-endpoint)", f"auth = {ext}", f"aors = {ext}",
                f"callerid = <{ext}>", *endpoint_media(pbx), *seat_codecs(pbx), "",
                f"[{ext}](staff-aor)", *_at_proxy(ext, cluster), "",
                f"[{ext}](staff-auth)", f"username = {ext}",
                f"password = {phone.password}", ""]
    return "\n".join(out)


def _at_proxy(extension: str, cluster: ClusterSettings | None) -> list[str]:
    """Behind the proxy, a phone's one contact: itself at the proxy, asked OPTIONS often
    (the proxy answers only for a registered phone, so the queue skips the others)."""
    if cluster is None or not cluster.enabled:
        return []
    host, port = cluster.proxy_host_port()
    return [f"contact = sip:{extension}@{host}:{port}",
            f"qualify_frequency = {seat_qualify_seconds(cluster)}"]


def seat_qualify_seconds(cluster: ClusterSettings) -> int:
    """How often a node asks the proxy whether a phone is registered: a phone switched on
    is offered queue calls within this (plus Asterisk's 3 s qualify timeout)."""
    return max(5, cluster.probe_seconds)


def write_atomic(path: Path, text: str, mode: int = 0o640) -> None:
    """Replace path's content in one step: a reload never reads a half-written file.

    Site files hold the AMI and SIP secrets: root's, 0640, in the folder's group (the
    PBX's, see grant_pbx), so Asterisk reads them and cannot change its own configuration.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as handle:
        os.fchmod(fd, mode)  # O_CREAT's mode is cut by the umask; a left-over keeps its own
        group = path.parent.stat().st_gid
        if os.fstat(fd).st_gid != group:
            os.fchown(fd, -1, group)
        handle.write(text)
    tmp.replace(path)


def _site_manager(settings: Settings, secrets: Secrets) -> str:
    own, console = _cluster_ami_permits(settings)
    return "\n".join(["; Rendered from hotline.toml by `hotline pbx up`. Do not edit.",
                      "[general](+)", f"port = {settings.pbx.ami_port}",
                      *_cluster_ami_bind(settings), "",
                      f"[{AMI_USER}](bridge-user)", f"secret = {secrets.ami_secret}", *own, "",
                      f"[{CONSOLE_AMI_USER}](console-user)",
                      f"secret = {console_ami_secret(secrets)}", *console, "",
                      f"[{PJSIP_AMI_USER}](pjsip-user)",
                      f"secret = {pjsip_ami_secret(secrets)}", *own, ""])


def _cluster_ami_bind(settings: Settings) -> list[str]:
    """On a node of a cluster AMI listens on the node's own address (one address only: the
    consoles of the other nodes reach it there, and this node's parts too), never on every
    interface: the carrier's side and the court's office network cannot even knock."""
    if not settings.cluster.enabled or not settings.cluster.node:
        return []
    return ["; a node of a cluster: the node's own address ([cluster] nodes)",
            f"bindaddr = {ami_host(settings)}"]


def _cluster_ami_permits(settings: Settings) -> tuple[list[str], list[str]]:
    """The permit lines a cluster adds: (the node's own parts, the console). The bridge and
    the PJSIP user come from this host only, now over the node's address. The console may
    run on any node or on the proxy's host, so it is let in from exactly those addresses
    (each a single host, /32: no subnet, so a PC on the same network is still refused);
    nothing else changes (its classes and event filter are the template's)."""
    cluster = settings.cluster
    if not cluster.enabled or not cluster.node:
        return [], []
    hosts = [*cluster.addresses().values(), cluster.proxy_host_port()[0]]
    return ([_permit_host(ami_host(settings))],
            [_permit_host(host) for host in dict.fromkeys(hosts)])


def _permit_host(address: str) -> str:
    return f"permit = {address}/{'128' if ':' in address else '255.255.255.255'}"


def console_ami_secret(secrets: Secrets) -> str:
    """The console's AMI password, derived from the site's secret (nothing more to keep)."""
    return hmac.new(secrets.ami_secret.encode(), b"console-ami", hashlib.sha256).hexdigest()[:32]


def pjsip_ami_secret(secrets: Secrets) -> str:
    """The PJSIP user's AMI password (pbx/pjsip.py), derived the same way."""
    return hmac.new(secrets.ami_secret.encode(), b"pjsip-ami", hashlib.sha256).hexdigest()[:32]


def _site_extensions(settings: Settings, inst: PbxInstance) -> str:
    pbx, calls = settings.pbx, settings.calls
    lines = ["; Rendered from hotline.toml by `hotline pbx up`. Do not edit.", "[globals]",
             f"HOTLINE_AGI={pbx.agi_host}:{pbx.agi_port}",
             f"HOTLINE_RECORDINGS={inst.pbx_recordings_dir}",
             f"HOTLINE_SOUNDS={inst.pbx_root / 'sounds' / 'zh'}",
             f"HOTLINE_QUEUE_MAX_WAIT={calls.queue_max_wait}",
             f"HOTLINE_TRANSFER_RING={calls.transfer_ring_seconds}",
             f"HOTLINE_TWO_CHANNEL={'yes' if settings.recordings.two_channel else 'no'}",
             f"HOTLINE_MESSAGE_MAX_SECONDS={calls.message_max_seconds}",
             f"HOTLINE_TRUNK={outgoing_trunk(pbx)}", ""]
    return "\n".join(lines + office_hours_context(settings) + render_dids(pbx))


def office_hours_context(settings: Settings) -> list[str]:
    """[hotline-office-hours]: returns "open" inside office hours, for the fallback path."""
    tz = settings.hours.timezone
    out = ["; Office hours for the fallback path (no holidays: the bridge knows those).",
           "[hotline-office-hours]", "exten => s,1,NoOp()"]
    for season in SEASONS:
        months = season_month_range(season)
        for days, spans in _weekday_runs(settings, season):
            out += [f" same => n,GotoIfTime({_last_minute(span)},{days},*,{months},{tz}?open)"
                    for span in spans]
    out += [" same => n,Return(closed)", " same => n(open),Return(open)", ""]
    return out


def _weekday_runs(settings: Settings, season: str) -> list[tuple[str, tuple[str, ...]]]:
    """Monday to Friday grouped into runs of days with the same spans ("mon-thu", "fri").
    Weekends stay closed here: only the bridge knows which ones are make-up working days."""
    runs: list[tuple[list[str], tuple[str, ...]]] = []
    for weekday in range(5):
        spans = weekday_spans(settings.hours, season, weekday)
        if runs and runs[-1][1] == spans:
            runs[-1][0].append(WEEKDAY_KEYS[weekday])
        else:
            runs.append(([WEEKDAY_KEYS[weekday]], spans))
    return [(days[0] if len(days) == 1 else f"{days[0]}-{days[-1]}", spans)
            for days, spans in runs]


def _last_minute(span: str) -> str:
    # GotoIfTime ranges include their last minute: 08:00-12:00 would match 12:00:59.
    start, end = span.split("-")
    hours, minutes = (int(x) for x in end.split(":"))
    total = hours * 60 + minutes - 1
    return f"{start}-{total // 60:02d}:{total % 60:02d}"

