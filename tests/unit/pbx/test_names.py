"""pbx.names and the Asterisk configuration spell the same names.

A name typed differently on one side fails silently in production (a route that falls to
the fallback, an event nobody hears), so the two sides are compared here.
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy.ext.asyncio import async_sessionmaker

from agent_console.live import LiveDesk
from hotline.settings import Settings
from ivr.calltracker import CallTracker
from ivr.services import Services
from pbx import CONF_DIR, DIALPLAN_DIR, PbxInstance
from pbx import names as v
from pbx.sip_security import SipGuard


def _code(text: str) -> str:
    """Configuration text without ; comments."""
    return "\n".join(line.split(";", 1)[0] for line in text.splitlines())


def _dialplan() -> str:
    return "\n".join(_code(p.read_text()) for p in sorted(DIALPLAN_DIR.glob("*.conf")))


def _context(text: str, name: str) -> str:
    match = re.search(rf"^\[{re.escape(name)}\][^\n]*\n(.*?)(?=^\[|\Z)", text, re.M | re.S)
    assert match, f"no [{name}] context"
    return match.group(1)


def _extensions(context: str) -> set[str]:
    return set(re.findall(r"^\s*exten\s*=>\s*([^,\s]+)\s*,", context, re.M))


def test_every_route_has_an_extension_in_hotline_route() -> None:
    route = _context(_code((DIALPLAN_DIR / "route.conf").read_text()), "hotline-route")
    extensions = _extensions(route)

    assert set(v.ROUTES) <= extensions
    # Anything else the bridge might leave (nothing, a typo) has a way out too.
    assert {"none", "i"} <= extensions


def test_entry_branches_on_the_route_variable() -> None:
    entry = _context(_dialplan(), "hotline-entry")

    assert f"${{{v.ROUTE_VAR}}}" in entry
    assert "Goto(hotline-route," in entry


def test_user_events_match_the_dialplan_both_ways() -> None:
    emitted = set(re.findall(r"UserEvent\(\s*([A-Za-z0-9_]+)", _dialplan()))

    assert emitted == set(v.USER_EVENTS)


def test_cdr_variables_are_set_in_the_dialplan_and_written_by_cdr_custom() -> None:
    dialplan = _dialplan()
    fields = re.search(r"^fields\s*=\s*(.*)$", _code((CONF_DIR / "cdr_custom.conf").read_text()),
                       re.M)
    assert fields is not None
    uservars = set(re.findall(r"(\w+)\(uservar\)", fields.group(1)))

    assert {"hotline_route", "hotline_recording", "hotline_message"} <= uservars
    for name in uservars:
        assert f"Set(CDR({name})=" in dialplan, name
    # the route the bridge sets is the one the hangup handler writes to the CDR
    assert f"Set(CDR(hotline_route)=${{{v.CALL_ROUTE}}})" in dialplan
    # The reconciler groups legs by these; they must be in every line.
    assert {"linkedid", "uniqueid", "src", "start(double)", "answer(double)", "end(double)",
            "disposition"} <= {f.strip() for f in fields.group(1).split(",")}


def test_manager_event_filter_is_exactly_what_the_tracker_handles(tmp_path: Path) -> None:
    services = Services(Settings(), async_sessionmaker(), PbxInstance(None, tmp_path))
    handled = set(CallTracker(services).subscriptions())
    handled |= set(SipGuard(Settings(), async_sessionmaker()).subscriptions())
    manager = _code((CONF_DIR / "manager.conf").read_text())
    filters = re.findall(r"^\s*eventfilter\s*=\s*(.*?)\s*$", _context(manager, "bridge-user"),
                         re.M)

    assert all(f.startswith("Event: ") for f in filters), filters
    filtered = [f.removeprefix("Event: ") for f in filters]
    assert len(filtered) == len(set(filtered)), "an event is filtered in twice"
    # FullyBooted is not a call event: the client waits for it after logging in.
    assert set(filtered) == handled | {"FullyBooted"}
    assert "UserEvent" in handled


def test_manager_user_reads_the_classes_of_every_handled_event() -> None:
    manager = _code((CONF_DIR / "manager.conf").read_text())
    user = _context(manager, "bridge-user")
    read = re.search(r"^\s*read\s*=\s*(.*?)\s*$", user, re.M)

    assert read is not None
    # call: channels and transfers; agent: queue events; user: UserEvent; system: FullyBooted;
    # security: the failed SIP authentications of fail-to-ban.
    assert set(read.group(1).split(",")) == {"system", "call", "agent", "user", "security"}


def test_console_event_filter_is_exactly_what_the_live_desk_handles() -> None:
    handled = set(LiveDesk(None, async_sessionmaker()).subscriptions())
    user = _context(_code((CONF_DIR / "manager.conf").read_text()), "console-user")
    filtered = [f.removeprefix("Event: ") for f in
                re.findall(r"^\s*eventfilter\s*=\s*(.*?)\s*$", user, re.M)]

    assert len(filtered) == len(set(filtered)), "an event is filtered in twice"
    assert set(filtered) == handled | {"FullyBooted"}
    # The console acts on queues and calls and originates handlers' replies; PJSIP reloads
    # go through the pjsip user (system, no originate: tests/unit/pbx/test_pbx_security).
    write = re.search(r"^\s*write\s*=\s*(.*?)\s*$", user, re.M)
    assert write is not None and set(write.group(1).split(",")) == {"call", "agent", "originate"}
