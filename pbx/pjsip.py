"""PJSIP asked through AMI: the reload after the phones or the ban list change, and who is
registered. The parts that do it (console, bridge, `hotline status`) run as the unprivileged
user `hotline` once installed as services; Asterisk's control socket (pbx.cli) is root's and
the PBX user's only, AMI is a login any user with the site's secret has.

These actions are AMI's write class `system`, which also allows an Originate of System().
So they have an AMI user of their own, `pjsip` (asterisk-conf/manager.conf), with `system`
and no `originate` class: it cannot originate at all, and the console's user, which
originates, has no `system`. No user of ours holds both.

    pbx.reload_pjsip(settings)              # after site/pjsip.conf or the ban list changed
    pbx.registered_phones(settings)         # {"8001": "Reachable", ...}
    pbx.trunk_registrations(settings)       # {"unicom": "Registered", ...}

The class also lists what PJSIP holds, SIP passwords included (PJSIPShowEndpoint and
PJSIPShowRegistrationsOutbound send the auth sections): nothing the parts using it do not
hold already (the phones table, data/secrets.toml).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from hotline.secrets import load_or_create
from hotline.settings import Settings
from pbx.instance import PbxError, ami_host
from pbx.names import PJSIP_AMI_USER

if TYPE_CHECKING:
    from pbx.ami import AmiClient, Reply

PJSIP_MODULE = "res_pjsip.so"


def pjsip_client(settings: Settings) -> AmiClient:
    from pbx.ami import AmiClient
    from pbx.config import pjsip_ami_secret

    return AmiClient(ami_host(settings), settings.pbx.ami_port, PJSIP_AMI_USER,
                     pjsip_ami_secret(load_or_create(settings)),
                     logger=logging.getLogger("pbx.pjsip"))


def ask(settings: Settings, fields: Mapping[str, str], timeout: float = 10.0,
        none_found: str = "") -> Reply:
    """One action as the PJSIP user, from synchronous code (a worker thread of the console,
    the CLI): log in, ask, log off. PbxError says why when AMI does not let us in or
    Asterisk refuses. Asterisk answers a list with nothing in it by an error: the one
    whose message holds `none_found` is an empty list here."""
    from pbx.ami import AmiError

    async def once() -> Reply:
        await _answers(ami_host(settings), settings.pbx.ami_port)
        ami = pjsip_client(settings)
        try:
            await ami.connect(wait=timeout)
        except AmiError as exc:
            raise PbxError(f"AMI on port {settings.pbx.ami_port} does not let "
                           f"{PJSIP_AMI_USER!r} in: {exc}") from None
        try:
            return await ami.action(dict(fields), timeout=timeout)
        except AmiError as exc:
            if none_found and none_found.lower() in str(exc).lower():
                return []
            raise PbxError(f"Asterisk refused {fields['Action']}: {exc}") from None
        finally:
            await ami.close()
    return asyncio.run(once())


async def _answers(host: str, port: int) -> None:
    """Refused at once when nothing listens (the PBX is not running): the client would
    retry until its timeout, and a console page waits on this."""
    try:
        _reader, writer = await asyncio.open_connection(host, port)
    except OSError as exc:
        raise PbxError(f"AMI on port {port} does not answer ({exc.strerror or exc}): "
                       "is the PBX running?") from None
    writer.close()
    await writer.wait_closed()


def reload_pjsip(settings: Settings) -> None:
    """Have the running Asterisk read PJSIP's files again (calls in progress stay up)."""
    try:
        reply = ask(settings, {"Action": "ModuleLoad", "Module": PJSIP_MODULE,
                               "LoadType": "reload"})
    except PbxError as exc:
        raise PbxError(f"Asterisk did not reload PJSIP: {exc}") from None
    reloaded_or_refused(reply)


def reloaded_or_refused(reply: Reply) -> None:
    """Asterisk answers a reload it did with Success "Module reloaded."; anything else
    (queued behind a reload in progress, not loaded) is not a reload done now."""
    head = reply[0] if isinstance(reply, list) else reply
    message = str(head.get("Message", ""))
    if str(head.get("Response", "")).lower() != "success" or "reloaded" not in message.lower():
        raise PbxError(f"Asterisk did not reload PJSIP: {message or head}")


def registered_phones(settings: Settings) -> dict[str, str]:
    """Phones with a registered contact, and its status (Reachable, Unknown, ...)."""
    reply = ask(settings, {"Action": "PJSIPShowContacts"}, none_found="No Contacts found")
    return contact_statuses(reply if isinstance(reply, list) else [reply])


def contact_statuses(messages: Iterable[Mapping[str, object]]) -> dict[str, str]:
    """AOR → status, from PJSIPShowContacts' ContactList events; a phone's AOR is its
    extension. The event names the contact "<aor>;@<hash>" (ObjectName) and has no AOR
    field of its own; the Success that opens the list and ContactListComplete carry none."""
    found: dict[str, str] = {}
    for message in messages:
        aor = str(message.get("ObjectName") or "").partition(";@")[0]
        if message.get("Event") == "ContactList" and aor:
            found[aor] = str(message.get("Status") or "Unknown")
    return found


def trunk_registrations(settings: Settings) -> dict[str, str]:
    """Each register trunk's registration as Asterisk has it now (Registered, Rejected ...)."""
    reply = ask(settings, {"Action": "PJSIPShowRegistrationsOutbound"})
    return registration_states(reply if isinstance(reply, list) else [reply])


def registration_states(messages: Iterable[Mapping[str, object]]) -> dict[str, str]:
    """Trunk name → state, from OutboundRegistrationDetail events: a trunk's registration
    is the section "<trunk>-reg" of site/pjsip.conf (pbx/trunks.py); the auth sections
    listed beside them carry no state."""
    return {str(m["ObjectName"]).removesuffix("-reg"): str(m.get("Status") or "Unknown")
            for m in messages
            if m.get("Event") == "OutboundRegistrationDetail" and m.get("ObjectName")}
