"""site/pjsip.conf's network part (issue 16): the transports (the LAN's for desk phones,
the carrier's when it is on another address), NAT, codecs, and each carrier trunk —
found by its address, or registering with a user name and password.

The templates (carrier-endpoint, media-defaults) are asterisk-conf/pjsip.conf's.
"""

from __future__ import annotations

from hotline.settings import ClusterSettings, PbxSettings, Settings
from hotline.trunks import Trunk, did_routes, legacy_trunk
from pbx.instance import PbxError

LAN_TRANSPORT = "transport-udp"
CARRIER_TRANSPORT = "transport-carrier"
# Asterisk's site dialplan context of the numbers (DIDs) with a route of their own.
DID_CONTEXT = "hotline-dids"
# How long a registration lasts, and how soon a failed one is tried again (seconds).
REGISTRATION_EXPIRY = 600
REGISTRATION_RETRY = 30
# asterisk-conf/pjsip.conf's media-defaults: G.711 A-law first, as China's network uses.
DEFAULT_CODECS = ("alaw", "ulaw")


# Behind the SIP proxy (a [cluster]), the header by which the proxy names the trunk a call
# came on (pbx/proxy.py), and the From user of its OPTIONS probes.
TRUNK_HEADER = "X-Hotline-Trunk"
PROXY_PROBE_USER = "hotline-proxy"


def render_network(pbx: PbxSettings, cluster: ClusterSettings | None = None) -> list[str]:
    """The transports and every trunk, as site/pjsip.conf lines; behind the proxy (cluster
    with nodes), the trunks are known by the proxy's header and reached through it."""
    behind = cluster if cluster is not None and cluster.enabled else None
    out = [*transports(pbx),
           *(line for trunk in trunks_of(pbx) for line in render_trunk(trunk, pbx, behind))]
    return out + (_proxy_probe(pbx) if behind else [])


def trunks_of(pbx: PbxSettings) -> tuple[Trunk, ...]:
    """The trunks as loaded; settings built in code (tests) without them: carrier_match's."""
    return pbx.trunks or (legacy_trunk(pbx.carrier_match),)


def transports(pbx: PbxSettings) -> list[str]:
    """The LAN's transport (sip_bind), and the carrier's (carrier_bind) when it differs.
    NAT's public addresses go on the one that faces the carrier."""
    lan = ["[transport-udp]", "type = transport", "protocol = udp",
           f"bind = {pbx.sip_bind}:{pbx.sip_port}"]
    if not pbx.carrier_bind:
        return [*lan, *_nat(pbx), ""]
    carrier = ["[transport-carrier]", "type = transport", "protocol = udp",
               f"bind = {_with_port(pbx.carrier_bind, pbx.sip_port)}", *_nat(pbx)]
    return [*lan, "", *carrier, ""]


def render_trunk(trunk: Trunk, pbx: PbxSettings,
                 cluster: ClusterSettings | None = None) -> list[str]:
    """One trunk: its endpoint, where calls to it go (aor), where its calls come from
    (identify) and, for a register trunk, its credentials and registration. Behind the
    proxy (cluster): found by the proxy's header, its calls sent through the proxy."""
    if cluster is not None:
        return _trunk_behind_proxy(trunk, pbx, cluster)
    transport = [f"transport = {CARRIER_TRANSPORT}"] if pbx.carrier_bind else []
    registering = trunk.kind == "register"
    target = f"{trunk.host}:{trunk.port}" if trunk.port else trunk.host
    endpoint = [f"[{trunk.name}](carrier-endpoint)", *transport, *_carrier_codecs(pbx)]
    if trunk.host:
        endpoint.append(f"aors = {trunk.name}")
    if registering:
        endpoint += [f"outbound_auth = {trunk.name}-auth", f"from_user = {trunk.number}"]
    out = [*endpoint, ""]
    if trunk.host:
        out += [f"[{trunk.name}]", "type = aor", f"contact = sip:{target}", ""]
    out += [f"[{trunk.name}]", "type = identify", f"endpoint = {trunk.name}",
            f"match = {trunk.sources}", ""]
    if registering:
        out += _registration(trunk, target, transport)
    return out


def _trunk_behind_proxy(trunk: Trunk, pbx: PbxSettings, cluster: ClusterSettings) -> list[str]:
    """Every request reaches a node from the proxy's address: the carrier's calls are
    known by the header the proxy adds (and removes from anyone else's), and calls to
    the carrier go out through the proxy (the carrier knows the proxy's address only)."""
    if trunk.kind == "register":
        raise PbxError(f"[[trunks]] {trunk.name}: a register trunk is not supported with "
                       "[cluster] nodes yet; use an IP trunk (the carrier sends calls to "
                       "the proxy's address)")
    host, port = cluster.proxy_host_port()
    endpoint = [f"[{trunk.name}](carrier-endpoint)", *_carrier_codecs(pbx),
                f"outbound_proxy = sip:{host}:{port}\\;lr"]
    target = f"{trunk.host}:{trunk.port}" if trunk.port else trunk.host
    out = [*endpoint, *([f"aors = {trunk.name}"] if trunk.host else []), ""]
    if trunk.host:
        out += [f"[{trunk.name}]", "type = aor", f"contact = sip:{target}", ""]
    return [*out, f"[{trunk.name}]", "type = identify", f"endpoint = {trunk.name}",
            f"match_header = {TRUNK_HEADER}: {trunk.name}", ""]


def _proxy_probe(pbx: PbxSettings) -> list[str]:
    """The proxy's OPTIONS probes come as this endpoint (by From user): answered 200,
    never challenged, so never counted as failed logins; it can place no call (no such
    context), and the proxy refuses the name from anyone else."""
    return [f"[{PROXY_PROBE_USER}]", "type = endpoint", "context = hotline-proxy-none",
            "allow = !all,alaw", ""]


def _registration(trunk: Trunk, target: str, transport: list[str]) -> list[str]:
    """The credentials (for the REGISTER and for the carrier's challenge of our calls)
    and the registration. line: calls on it are the trunk's even if they come from
    another address than the registrar's (the carrier's media gateways)."""
    return [f"[{trunk.name}-auth]", "type = auth", "auth_type = digest",
            f"username = {trunk.username}", f"password = {_escaped(trunk.password)}", "",
            f"[{trunk.name}-reg]", "type = registration", *transport,
            f"server_uri = sip:{target}", f"client_uri = sip:{trunk.username}@{target}",
            f"contact_user = {trunk.number}", f"outbound_auth = {trunk.name}-auth",
            f"expiration = {REGISTRATION_EXPIRY}", f"retry_interval = {REGISTRATION_RETRY}",
            f"forbidden_retry_interval = {REGISTRATION_RETRY * 10}",
            "auth_rejection_permanent = no", "max_retries = 100000",
            "line = yes", f"endpoint = {trunk.name}", ""]


def render_dids(pbx: PbxSettings) -> list[str]:
    """site/extensions.conf's [hotline-dids]: each number with a route of its own returns
    it ([from-carrier], dialplan/entry.conf); the outgoing trunk's name as a global."""
    out = ["; The numbers (DIDs) the trunks deliver and their routes ([[trunks]] dids).",
           f"[{DID_CONTEXT}]"]
    out += [f"exten => {did},1,Return({route})"
            for did, route in sorted(did_routes(trunks_of(pbx)).items())]
    return [*out, "exten => _X.,1,Return()", ""]


def outgoing_trunk(pbx: PbxSettings) -> str:
    """The trunk calls to the public network go out on: the first with a host."""
    trunks = trunks_of(pbx)
    return next((t.name for t in trunks if t.host), trunks[0].name)


def _nat(pbx: PbxSettings) -> list[str]:
    out = []
    if pbx.external_media_address:
        out.append(f"external_media_address = {pbx.external_media_address}")
    if pbx.external_signaling_address:
        out.append(f"external_signaling_address = {pbx.external_signaling_address}")
    return out + [f"local_net = {net}" for net in pbx.local_net]


def _carrier_codecs(pbx: PbxSettings) -> list[str]:
    """The codecs, unless they are the templates' own (media-defaults: alaw,ulaw)."""
    if pbx.codecs == DEFAULT_CODECS:
        return []
    return ["disallow = all", f"allow = {','.join(pbx.codecs)}"]


def seat_codecs(pbx: PbxSettings) -> list[str]:
    """A desk phone's codec lines: the carrier's codecs, G.722 first when seat_g722 is on
    (wide-band between seats; a call with a caller is transcoded to the caller's G.711);
    none when they are the templates' own."""
    allow = ("g722", *pbx.codecs) if pbx.seat_g722 else pbx.codecs
    if allow == DEFAULT_CODECS:
        return []
    return ["disallow = all", f"allow = {','.join(allow)}"]


def _with_port(bind: str, port: int) -> str:
    """"10.0.0.5" → "10.0.0.5:5060"; an address with its port is kept."""
    has_port = bind.count(":") == 1 or (bind.startswith("[") and "]:" in bind)
    return bind if has_port else f"{bind}:{port}"


def status_lines(settings: Settings) -> list[str]:
    """`hotline status`: each register trunk's registration; not Registered is a warning
    (no calls from that carrier), not a failure of the hotline."""
    from pbx.pjsip import trunk_registrations
    from pbx.process import running_pid

    names = [t.name for t in trunks_of(settings.pbx) if t.kind == "register"]
    if not names or running_pid(settings) is None:
        return []
    try:
        states = trunk_registrations(settings)  # AMI: `hotline status` may run as hotline
    except PbxError as exc:
        return [f"WARNING   trunks: Asterisk did not say ({exc})"]
    return [f"{'trunk' if states.get(n) == 'Registered' else 'WARNING':9} {n}: "
            f"{states.get(n, 'no registration')}" for n in names]


def _escaped(value: str) -> str:
    """A value as Asterisk's config reads it back: ";" would start a comment."""
    return value.replace(";", r"\;")
