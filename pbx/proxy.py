"""The SIP proxy in front of the PBX nodes (issue 17, docs/cluster.md): Kamailio, Debian's
package, configured from hotline.toml's [cluster], [pbx] trunks and [database].

What the rendered kamailio.cfg does:

- the carrier's calls (from a trunk's addresses) get the header X-Hotline-Trunk with the
  trunk's name, by which the nodes know them (every request reaches a node from the
  proxy's address, so the address says nothing there); the header is removed from every
  other request, so nobody else can pass for the carrier;
- new calls, from the carrier or from a desk phone, go to a node chosen by a hash of the
  Call-ID (the phone's INVITE and the one it sends again with its digest, after the node's
  401, reach the same node); a node that answers 5xx or nothing is marked down and the
  call goes to the next one; the dispatcher asks every node OPTIONS every
  probe_seconds, and a node that does not answer gets no new calls until it does;
- the phones register here (registrar, usrloc in memory: a restarted proxy knows no phone
  until each registers again, within its registration interval), their digest checked
  against the hotline's phones table in PostgreSQL (extension, password, enabled);
- a node's requests to a seat (sip:8001@proxy, the static contact each node gives every
  phone) go to where that phone registered; a node's OPTIONS for a seat that is not
  registered gets no answer at all, since Asterisk counts any answer as reachable;
- a node's calls to the carrier (outbound_proxy) are relayed to the carrier.

`hotline proxy up|down|status` runs it (cli/proxy.py).
"""

from __future__ import annotations

import ipaddress
import os
import pwd
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from hotline.settings import Settings
from hotline.trunks import Trunk
from pbx.instance import PbxError
from pbx.process import live_pid, terminate
from pbx.trunks import PROXY_PROBE_USER as PROBE_USER
from pbx.trunks import TRUNK_HEADER, trunks_of

# PROBE_USER: the From user of the proxy's OPTIONS probes. The nodes know it as an
# endpoint without authentication, so a probe is answered 200 and never counts as a
# failed login (fail-to-ban); the proxy refuses it from anyone else.
DISPATCHER_SET = 1
# The phones' registrations: the longest a phone may ask for, and the default.
MAX_EXPIRES = 3600
# How long the proxy waits for any answer before it gives up on a node or a phone (ms):
# a node that does not answer a new call within it gets the call's next try.
REPLY_TIMEOUT_MS = 2000
# A node's OPTIONS relayed to a registered phone waits longer than Asterisk's own
# qualify_timeout (3 s): a dead phone must time out at Asterisk, not be answered 408.
SEAT_QUALIFY_WAIT_MS = 10000
KAMAILIO_USER = "kamailio"
_MODULE_DIRS = ("/usr/lib/x86_64-linux-gnu/kamailio/modules",
                "/usr/lib/aarch64-linux-gnu/kamailio/modules", "/usr/lib/kamailio/modules",
                "/usr/lib64/kamailio/modules")
MODULES = ("tm", "sl", "rr", "pv", "maxfwd", "textops", "siputils", "xlog", "sanity",
           "usrloc", "registrar", "auth", "db_postgres", "sqlops", "dispatcher", "ipops",
           "kex", "corex", "ctl")


@dataclass(frozen=True)
class ProxyPaths:
    """The proxy's folder in the data folder: its configuration, node list, pid, socket."""

    root: Path

    @property
    def config(self) -> Path:
        return self.root / "kamailio.cfg"

    @property
    def nodes(self) -> Path:
        return self.root / "dispatcher.list"

    @property
    def pid(self) -> Path:
        return self.root / "kamailio.pid"

    @property
    def control(self) -> Path:
        return self.root / "kamailio.ctl"

    @property
    def log(self) -> Path:
        return self.root / "kamailio.log"


def paths(settings: Settings) -> ProxyPaths:
    return ProxyPaths(settings.data_dir / "proxy")


# --- what the proxy is told ---------------------------------------------------------------

def check(settings: Settings) -> None:
    """Refuse what the proxy cannot do, naming the setting."""
    cluster = settings.cluster
    if not cluster.enabled or not cluster.proxy:
        raise PbxError("[cluster] nodes and proxy must be set to run the SIP proxy")
    check_trunks(settings)
    for trunk in trunks_of(settings.pbx):
        for source in trunk_sources(trunk):
            try:
                ipaddress.ip_network(source, strict=False)
            except ValueError:
                raise PbxError(f"trunk {trunk.name}: the proxy knows the carrier by its "
                               f"addresses; {source!r} is not one (list them in match)"
                               ) from None
    database_url(settings)


def check_trunks(settings: Settings) -> None:
    """A register trunk's calls come to the address the node registered from: behind the
    proxy, that is not supported yet."""
    registering = [t.name for t in trunks_of(settings.pbx) if t.kind == "register"]
    if settings.cluster.enabled and registering:
        raise PbxError(f"[[trunks]] {', '.join(registering)}: a register trunk is not "
                       "supported with [cluster] nodes yet; use an IP trunk (the carrier "
                       "sends calls to the proxy's address)")


def trunk_sources(trunk: Trunk) -> list[str]:
    """A trunk's source addresses and networks, ports dropped ("10.0.0.1:5060" → 10.0.0.1)."""
    out = []
    for item in (i.strip() for i in trunk.sources.split(",")):
        if not item:
            continue
        if item.startswith("["):
            item = item[1:].split("]", 1)[0]
        elif item.count(":") == 1:
            item = item.rsplit(":", 1)[0]
        out.append(item)
    return out


def node_uris(settings: Settings) -> dict[str, str]:
    """Node name → its SIP URI ([pbx] sip_port unless the address has a port)."""
    out = {}
    for name, address in settings.cluster.addresses().items():
        has_port = address.count(":") == 1 or "]:" in address
        out[name] = f"sip:{address if has_port else f'{address}:{settings.pbx.sip_port}'}"
    return out


def database_url(settings: Settings) -> str:
    """[database] url as Kamailio's db_postgres takes it: postgres://user:pw@host:port/db.
    Kamailio reaches PostgreSQL over TCP only (no unix socket)."""
    from sqlalchemy.engine import make_url

    url = make_url(settings.database_url)
    if url.get_backend_name() != "postgresql":
        raise PbxError("[database] url: the SIP proxy reads the phones from PostgreSQL")
    if not url.host or url.query.get("host"):
        raise PbxError("[database] url: the SIP proxy reaches PostgreSQL over TCP; give "
                       "the server's address (postgresql+psycopg://user@10.1.1.5/hotline)")
    auth = url.username or "postgres"
    if url.password:
        auth += f":{url.password}"
    return f"postgres://{auth}@{url.host}:{url.port or 5432}/{url.database}"


# --- rendering -----------------------------------------------------------------------------

def render_nodes(settings: Settings) -> str:
    """dispatcher.list: one set, every node (set, URI, flags, priority, attributes)."""
    lines = ["# Rendered from hotline.toml [cluster] nodes by `hotline proxy up`. Do not edit."]
    lines += [f"{DISPATCHER_SET} {uri} 0 0 duid={name}"
              for name, uri in node_uris(settings).items()]
    return "\n".join(lines) + "\n"


def render_config(settings: Settings, where: ProxyPaths, module_dir: str = "") -> str:
    """kamailio.cfg (see the module's docstring for what it does)."""
    cluster = settings.cluster
    host, port = cluster.proxy_host_port()
    carriers = [(t.name, ",".join(_as_networks(trunk_sources(t))))
                for t in trunks_of(settings.pbx)]
    modules = "\n".join(f'loadmodule "{m}.so"' for m in MODULES)
    carrier_checks = "\n".join(
        f'    if (is_in_subnet("$si", "{nets}")) {{ $var(trunk) = "{name}"; return 1; }}'
        for name, nets in carriers)
    return _CONFIG.format(
        host=host, port=port, module_dir=module_dir or _module_dir(), modules=modules,
        db_url=database_url(settings), nodes=where.nodes, control=where.control,
        probe=cluster.probe_seconds, probe_user=PROBE_USER, header=TRUNK_HEADER,
        set=DISPATCHER_SET, max_expires=MAX_EXPIRES, reply_ms=REPLY_TIMEOUT_MS,
        seat_wait_ms=SEAT_QUALIFY_WAIT_MS, carrier_checks=carrier_checks)


def _as_networks(sources: list[str]) -> list[str]:
    return [s if "/" in s else f"{s}/{32 if ':' not in s else 128}" for s in sources]


def _module_dir() -> str:
    return next((d for d in _MODULE_DIRS if Path(d).is_dir()), _MODULE_DIRS[0])


def write(settings: Settings) -> ProxyPaths:
    """Render kamailio.cfg and dispatcher.list into the data folder's proxy/."""
    check(settings)
    where = paths(settings)
    where.root.mkdir(parents=True, exist_ok=True)
    where.nodes.write_text(render_nodes(settings))
    # It holds the database password: readable by its owner (and Kamailio's group) only.
    fd = os.open(where.config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
    with os.fdopen(fd, "w") as out:
        out.write(render_config(settings, where))
    return where


# --- running -------------------------------------------------------------------------------

def kamailio_binary() -> str:
    binary = shutil.which("kamailio") or ("/usr/sbin/kamailio"
                                          if Path("/usr/sbin/kamailio").exists() else "")
    if not binary:
        raise PbxError("Kamailio is not installed: apt-get install kamailio "
                       "kamailio-postgres-modules (docs/cluster.md)")
    return binary


def check_config(config: Path) -> subprocess.CompletedProcess[str]:
    """`kamailio -c`: the file parsed and every module loaded, nothing started."""
    return subprocess.run([kamailio_binary(), "-c", "-f", str(config)], capture_output=True,
                          text=True, timeout=60, check=False)


def running_pid(settings: Settings) -> int | None:
    return live_pid(paths(settings).pid, "kamailio")


def start(settings: Settings, timeout: float = 15.0) -> int:
    """Render and start Kamailio (as its own user when there is one); its pid."""
    where = write(settings)
    if (pid := running_pid(settings)) is not None:
        raise PbxError(f"the SIP proxy already runs (pid {pid}): hotline proxy down first")
    checked = check_config(where.config)
    if checked.returncode != 0:
        raise PbxError(f"kamailio -c refused {where.config}:\n{checked.stderr[-2000:]}")
    argv = [kamailio_binary(), "-f", str(where.config), "-P", str(where.pid), "-E"]
    if os.geteuid() == 0 and _user_exists(KAMAILIO_USER):
        _give(where.root, KAMAILIO_USER)
        argv += ["-u", KAMAILIO_USER, "-g", KAMAILIO_USER]
    where.pid.unlink(missing_ok=True)
    with open(where.log, "ab") as log:
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                              timeout=timeout, check=False)
    if done.returncode != 0:
        raise PbxError(f"kamailio did not start (exit {done.returncode}); see {where.log}")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (pid := running_pid(settings)) is not None:
            return pid
        time.sleep(0.1)
    raise PbxError(f"kamailio wrote no pid within {timeout:.0f} s; see {where.log}")


def stop(settings: Settings, timeout: float = 10.0) -> bool:
    """Stop Kamailio; True when it was running."""
    return terminate(paths(settings).pid, "kamailio", timeout)


def node_states(settings: Settings) -> dict[str, str]:
    """Node URI → the dispatcher's flags for it ("AP": active and probed, "IP": inactive),
    through Kamailio's control socket."""
    done = subprocess.run(["kamcmd", "-s", f"unix:{paths(settings).control}",
                           "dispatcher.list"], capture_output=True, text=True, timeout=10,
                          check=False)
    if done.returncode != 0:
        raise PbxError(f"kamcmd dispatcher.list failed: {done.stderr.strip() or done.stdout}")
    states: dict[str, str] = {}
    uri = ""
    for line in done.stdout.splitlines():
        key, _, value = line.strip().partition(":")
        if key == "URI":
            uri = value.strip()
        elif key == "FLAGS" and uri:
            states[uri] = value.strip()
    return states


def status_lines(settings: Settings) -> list[str]:
    """`hotline proxy status`: whether Kamailio runs and each node as it sees it."""
    pid = running_pid(settings)
    if pid is None:
        return ["proxy     UNHEALTHY: Kamailio is not running"]
    lines = [f"proxy     running (pid {pid}) on {settings.cluster.proxy}"]
    try:
        states = node_states(settings)
    except (PbxError, OSError, subprocess.TimeoutExpired) as exc:
        return [*lines, f"WARNING   nodes: Kamailio did not say ({exc})"]
    for name, uri in node_uris(settings).items():
        flags = states.get(uri, "?")
        up = flags.startswith("A")
        lines.append(f"{'node' if up else 'WARNING':9} {name} {uri}: "
                     f"{'takes calls' if up else 'no new calls (probe failed)'} [{flags}]")
    return lines


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _give(folder: Path, user: str) -> None:
    entry = pwd.getpwnam(user)
    for path in (folder, *folder.iterdir()):
        os.chown(path, entry.pw_uid, entry.pw_gid)


_CONFIG = """#!KAMAILIO
# The hotline's SIP proxy (pbx/proxy.py, docs/cluster.md). Rendered from hotline.toml
# by `hotline proxy up`. Do not edit.

debug=2
log_stderror=yes
fork=yes
children=4
auto_aliases=no
listen=udp:{host}:{port}
alias="{host}:{port}"
mpath="{module_dir}"

{modules}

modparam("ctl", "binrpc", "unix:{control}")
modparam("tm", "fr_timer", {reply_ms})
modparam("rr", "enable_full_lr", 1)
# Registrations in memory only (no database table of our own for them).
modparam("usrloc", "db_mode", 0)
modparam("registrar", "max_expires", {max_expires})
modparam("sqlops", "sqlcon", "hotline=>{db_url}")
modparam("dispatcher", "list_file", "{nodes}")
modparam("dispatcher", "flags", 2)
modparam("dispatcher", "ds_ping_interval", {probe})
modparam("dispatcher", "ds_probing_mode", 1)
modparam("dispatcher", "ds_probing_threshold", 1)
modparam("dispatcher", "ds_inactive_threshold", 1)
modparam("dispatcher", "ds_ping_from", "sip:{probe_user}@{host}:{port}")

request_route {{
    if (!mf_process_maxfwd_header("10")) {{
        sl_send_reply("483", "Too Many Hops");
        exit;
    }}
    if (!sanity_check()) {{
        exit;
    }}
    # Only the proxy's own probes are the probe user, and they never pass here.
    if ($fU == "{probe_user}") {{
        sl_send_reply("403", "Forbidden");
        exit;
    }}
    $var(trunk) = "";
    route(CARRIER);
    if ($var(trunk) == "") {{
        remove_hf("{header}");
    }}
    if (is_method("CANCEL")) {{
        if (t_check_trans()) {{
            t_relay();
        }}
        exit;
    }}
    if (has_totag()) {{
        route(IN_DIALOG);
        exit;
    }}
    t_check_trans();
    remove_hf("Route");
    if (is_method("OPTIONS") && uri == myself && $rU == $null) {{
        sl_send_reply("200", "OK");
        exit;
    }}
    if ($var(trunk) != "") {{
        remove_hf("{header}");
        append_hf("{header}: $var(trunk)\\r\\n");
        route(TO_NODE);
    }}
    if (ds_is_from_list("{set}")) {{
        route(FROM_NODE);
    }}
    if (is_method("REGISTER")) {{
        route(REGISTRAR);
    }}
    # A desk phone's call: to a node, which asks the phone for its digest itself.
    route(TO_NODE);
}}

# Sets $var(trunk) to the trunk whose addresses the request comes from.
route[CARRIER] {{
{carrier_checks}
    return -1;
}}

route[IN_DIALOG] {{
    if (loose_route()) {{
        if (!t_relay()) {{
            sl_reply_error();
        }}
        exit;
    }}
    if (is_method("ACK")) {{
        if (t_check_trans()) {{
            t_relay();
        }}
        exit;
    }}
    sl_send_reply("404", "Not here");
    exit;
}}

route[TO_NODE] {{
    if (!ds_select_dst("{set}", "0")) {{
        sl_send_reply("503", "No PBX node available");
        exit;
    }}
    record_route();
    t_on_failure("NODE_FAILED");
    if (!t_relay()) {{
        sl_reply_error();
    }}
    exit;
}}

# A node that answers 5xx, or nothing at all, is marked down until it answers a probe;
# the call goes to the next node.
failure_route[NODE_FAILED] {{
    if (t_is_canceled()) {{
        exit;
    }}
    if (t_check_status("5[0-9][0-9]") || (t_branch_timeout() && !t_branch_replied())) {{
        ds_mark_dst("ip");
        if (ds_next_dst()) {{
            t_on_failure("NODE_FAILED");
            t_relay();
            exit;
        }}
    }}
}}

route[FROM_NODE] {{
    if (uri != myself) {{
        # To the carrier (the node's outbound proxy).
        record_route();
        if (!t_relay()) {{
            sl_reply_error();
        }}
        exit;
    }}
    if (!lookup("location")) {{
        if (is_method("OPTIONS")) {{
            # Not registered: no answer, or Asterisk would count the seat reachable.
            exit;
        }}
        sl_send_reply("404", "Not registered");
        exit;
    }}
    if (is_method("OPTIONS")) {{
        t_set_fr(0, {seat_wait_ms});
    }}
    record_route();
    if (!t_relay()) {{
        sl_reply_error();
    }}
    exit;
}}

route[REGISTRAR] {{
    if (!($au =~ "^[0-9]{{2,12}}$")) {{
        www_challenge("$td", "0");
        exit;
    }}
    if ($au != $tU) {{
        sl_send_reply("403", "Forbidden");
        exit;
    }}
    sql_query("hotline",
              "SELECT password FROM phones WHERE extension = '$au' AND enabled", "phone");
    if ($dbr(phone=>rows) < 1) {{
        sql_result_free("phone");
        www_challenge("$td", "0");
        exit;
    }}
    $var(password) = $dbr(phone=>[0,0]);
    sql_result_free("phone");
    if (!pv_www_authenticate("$td", "$var(password)", "0")) {{
        www_challenge("$td", "0");
        exit;
    }}
    consume_credentials();
    if (!save("location")) {{
        sl_reply_error();
    }}
    exit;
}}
"""
