"""The carrier trunks (issue 16): how the public network reaches the hotline, read from
hotline.toml's [[trunks]] tables.

Two kinds, as Chinese carriers offer them:

- ip: the carrier sends calls from known addresses and takes ours there (no password);
- register: the hotline registers to the carrier's server with a user name and password
  (digest), presents its number (12368) and receives calls on that registration.

Without [[trunks]], [pbx] carrier_match is the one IP trunk, named "carrier", as before.
Each trunk may list the numbers (DIDs) it delivers and where a call to each goes: the
12368 welcome ("hotline", the default), straight to the seats ("queue"), the voice menu
("menu") or the message ("closed"). A register trunk's password is best kept out of
hotline.toml: the variable HOTLINE_TRUNK_<NAME>_PASSWORD, or data/secrets.toml's
[trunk_passwords] table, are read first.

>>> [t] = read_trunks([{"name": "unicom", "kind": "register", "host": "10.1.1.1",
...                     "username": "037912368", "password": "pw",
...                     "dids": ["037965110000 = queue"]}], "", Path("/nonexistent"), {})
>>> t.name, t.kind, t.port, t.number, t.dids
('unicom', 'register', 5060, '12368', (('037965110000', 'queue'),))
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

KINDS = ("ip", "register")
# The codecs the hotline's Asterisk loads (asterisk-conf/modules.conf).
CODECS = ("alaw", "ulaw", "g722")
# Where a call to a trunk's number goes ([from-carrier], dialplan/route.conf).
DID_ROUTES = ("hotline", "queue", "menu", "closed")
LEGACY_NAME = "carrier"

_NAME = re.compile(r"[a-z][a-z0-9-]{0,30}")
_HOST = re.compile(r"[A-Za-z0-9.:\-\[\]]+")  # an address or a DNS name (no spaces, ; or =)
_MATCH = re.compile(r"[0-9A-Fa-f.:/\[\]]+")  # addresses and networks, "10.0.0.0/8"
_DIGITS = re.compile(r"\+?\d{3,20}")
_RESERVED = ("transport", "staff-", "carrier-endpoint", "media-defaults")
_KEYS = ("name", "kind", "host", "port", "match", "username", "password", "number", "dids")


@dataclass(frozen=True)
class Trunk:
    """One trunk. host: where calls to the carrier go (and, for register, its
    registrar); match: the addresses or networks its calls come from (default: host);
    number: what the hotline presents (From and Contact user); dids: (number, route)."""

    name: str
    kind: str
    host: str = ""
    port: int = 5060
    match: str = ""
    username: str = ""
    password: str = field(default="", repr=False)
    number: str = "12368"
    dids: tuple[tuple[str, str], ...] = ()

    @property
    def sources(self) -> str:
        """What the identify section matches: the given addresses, else the host."""
        return self.match or self.host


class TrunkError(ValueError):
    """A [[trunks]] entry is wrong: index (0-based) and key say where."""

    def __init__(self, index: int, key: str, message: str) -> None:
        super().__init__(message)
        self.index, self.key = index, key

    def located(self, config_path: Path | None) -> str:
        """The message with the file and line, as settings errors name them."""
        line = trunk_line(config_path, self.index, self.key)
        where = f"{config_path} line {line}: " if line else ""
        return f"{where}[[trunks]] #{self.index + 1} {self.key}: {self}"


def read_trunks(tables: Sequence[Any], carrier_match: str, data_dir: Path,
                env: Mapping[str, str]) -> tuple[Trunk, ...]:
    """The [[trunks]] tables checked, with their passwords; none: carrier_match's one IP
    trunk. TrunkError names the first wrong entry."""
    if not isinstance(tables, list):
        raise TrunkError(0, "trunks", "write each trunk as a [[trunks]] table")
    if not tables:
        return (legacy_trunk(carrier_match),)
    stored = _stored_passwords(data_dir)
    trunks = tuple(_read_one(i, table, stored, env) for i, table in enumerate(tables))
    _check_unique(trunks)
    return trunks


def check_network(carrier_bind: str, local_net: Sequence[str], codecs: Sequence[str],
                  external: Sequence[str]) -> None:
    """[pbx]'s network keys: ValueError naming the key and the wrong value."""
    if carrier_bind and not _HOST.fullmatch(carrier_bind):
        raise ValueError(f"carrier_bind: {carrier_bind!r} is not an address (10.1.1.5 or "
                         "10.1.1.5:5060)")
    for net in local_net:
        try:
            ipaddress.ip_network(net, strict=False)
        except ValueError:
            raise ValueError(f"local_net: {net!r} is not a network like 192.168.0.0/16"
                             ) from None
    for address in external:
        if address and not _HOST.fullmatch(address):
            raise ValueError(f"external address {address!r} is not an address or host name")
    unknown = [c for c in codecs if c not in CODECS]
    if unknown or not codecs:
        raise ValueError(f"codecs: {unknown or codecs!r} — use some of {', '.join(CODECS)}")


def legacy_trunk(carrier_match: str) -> Trunk:
    """[pbx] carrier_match as the one IP trunk "carrier" (sites set up before [[trunks]]):
    one host (with its port) is also where calls go; a network or a list only matches."""
    single_host = "/" not in carrier_match and "," not in carrier_match
    return Trunk(LEGACY_NAME, "ip", host=carrier_match if single_host else "", port=0,
                 match=carrier_match)


def did_routes(trunks: Sequence[Trunk]) -> dict[str, str]:
    """Every trunk's numbers and their routes, "hotline" ones left out (the default)."""
    return {did: route for trunk in trunks for did, route in trunk.dids if route != "hotline"}


def trunk_hosts(trunks: Sequence[Trunk]) -> list[str]:
    """The addresses and networks calls from carriers come from (never to be banned)."""
    return [item.strip() for t in trunks for item in t.sources.split(",") if item.strip()]


def trunk_line(config_path: Path | None, index: int, key: str) -> int | None:
    """The line of `key` inside the index-th [[trunks]] table (its header line when the
    key is not written there), for error messages."""
    if config_path is None or not config_path.is_file():
        return None
    lines = config_path.read_text(encoding="utf-8").splitlines()
    headers = [n for n, text in enumerate(lines) if text.strip() == "[[trunks]]"]
    if index >= len(headers):
        return None
    start = headers[index]
    for n in range(start + 1, len(lines)):
        text = lines[n].strip()
        if text.startswith("["):
            break
        if re.match(rf"{re.escape(key)}\s*=", text):
            return n + 1
    return start + 1


# --- the steps ----------------------------------------------------------------------------

def _read_one(index: int, table: Any, stored: Mapping[str, str],
              env: Mapping[str, str]) -> Trunk:
    if not isinstance(table, dict):
        raise TrunkError(index, "trunks", "write each trunk as a [[trunks]] table")
    unknown = sorted(set(table) - set(_KEYS))
    if unknown:
        raise TrunkError(index, unknown[0], f"unknown key (known: {', '.join(_KEYS)})")
    name = _text(index, table, "name")
    if not _NAME.fullmatch(name) or name.startswith(_RESERVED):
        raise TrunkError(index, "name", f"{name!r} is not a name like \"unicom\" (lower-case "
                                        "letters, digits and -, starting with a letter)")
    kind = _text(index, table, "kind") or "ip"
    if kind not in KINDS:
        raise TrunkError(index, "kind", f"{kind!r} is not one of {', '.join(KINDS)}")
    trunk = Trunk(name, kind, host=_text(index, table, "host"), port=_port(index, table),
                  match=_text(index, table, "match"),
                  username=_text(index, table, "username"),
                  password=_password(name, table, stored, env),
                  number=_text(index, table, "number") or "12368",
                  dids=_dids(index, table.get("dids", [])))
    _check_trunk(index, trunk)
    return trunk


def _check_trunk(index: int, trunk: Trunk) -> None:
    if trunk.host and not _HOST.fullmatch(trunk.host):
        raise TrunkError(index, "host", f"{trunk.host!r} is not an address or host name")
    if trunk.match and not all(_MATCH.fullmatch(m.strip()) for m in trunk.match.split(",")):
        raise TrunkError(index, "match", f"{trunk.match!r} is not addresses or networks "
                                         "(10.0.0.1, 10.0.0.0/24), separated by commas")
    if not trunk.sources:
        raise TrunkError(index, "host", "a trunk needs the carrier's host (or match)")
    if not _DIGITS.fullmatch(trunk.number):
        raise TrunkError(index, "number", f"{trunk.number!r} is not a phone number")
    if trunk.kind == "register":
        _check_register(index, trunk)


def _check_register(index: int, trunk: Trunk) -> None:
    if not trunk.host:
        raise TrunkError(index, "host", "a register trunk needs the carrier's registrar host")
    if not trunk.username or not _HOST.fullmatch(trunk.username):
        raise TrunkError(index, "username", "a register trunk needs the user name the "
                                            "carrier gave (letters, digits, . - only)")
    if not trunk.password or any(c in trunk.password for c in "\n\r"):
        raise TrunkError(index, "password",
                         f"no password: set HOTLINE_TRUNK_{_env_name(trunk.name)}_PASSWORD, "
                         f"or {trunk.name} under [trunk_passwords] in data/secrets.toml "
                         "(a password has no line break)")


def _check_unique(trunks: Sequence[Trunk]) -> None:
    names: set[str] = set()
    dids: dict[str, str] = {}
    for index, trunk in enumerate(trunks):
        if trunk.name in names:
            raise TrunkError(index, "name", f"{trunk.name!r} names two trunks")
        names.add(trunk.name)
        for did, _route in trunk.dids:
            if did in dids:
                raise TrunkError(index, "dids", f"{did} is delivered by {dids[did]} too")
            dids[did] = trunk.name


def _text(index: int, table: Mapping[str, Any], key: str) -> str:
    value = table.get(key, "")
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise TrunkError(index, key, f"{value!r} is not text")
    return str(value).strip()


def _port(index: int, table: Mapping[str, Any]) -> int:
    value = table.get("port", 5060)
    try:
        port = int(value)
    except (TypeError, ValueError):
        port = 0
    if isinstance(value, bool) or not 1 <= port <= 65535:
        raise TrunkError(index, "port", f"{value!r} is not a port (1-65535)")
    return port


def _dids(index: int, value: Any) -> tuple[tuple[str, str], ...]:
    """["037965110000 = queue", "12368"]: each number and its route (default hotline)."""
    if not isinstance(value, list):
        raise TrunkError(index, "dids", "write the numbers as a list: [\"12368\"]")
    found = []
    for item in value:
        number, _, route = str(item).partition("=")
        number, route = number.strip(), route.strip() or "hotline"
        if not _DIGITS.fullmatch(number):
            raise TrunkError(index, "dids", f"{number!r} is not a number as the carrier "
                                            "sends it (digits)")
        if route not in DID_ROUTES:
            raise TrunkError(index, "dids", f"{number}: route {route!r} is not one of "
                                            f"{', '.join(DID_ROUTES)}")
        found.append((number, route))
    return tuple(found)


def _password(name: str, table: Mapping[str, Any], stored: Mapping[str, str],
              env: Mapping[str, str]) -> str:
    return str(env.get(f"HOTLINE_TRUNK_{_env_name(name)}_PASSWORD")
               or stored.get(name) or table.get("password") or "")


def _env_name(name: str) -> str:
    return name.upper().replace("-", "_")


def _stored_passwords(data_dir: Path) -> dict[str, str]:
    """data/secrets.toml's [trunk_passwords]: name = password, written by the court."""
    try:
        data = tomllib.loads((data_dir / "secrets.toml").read_text())
    except (OSError, tomllib.TOMLDecodeError):
        return {}
    table = data.get("trunk_passwords", {})
    return {str(k): str(v) for k, v in table.items()} if isinstance(table, dict) else {}
