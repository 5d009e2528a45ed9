"""Which call, from which number, and when — read the same way from each thing Asterisk
tells us about a call.

A call's id is Asterisk's linkedid: the uniqueid of the caller's channel, carried by every
channel the call touches (the seats the queue rings, the judge it is transferred to). The
bridge (AGI variables), the call tracker and the console's screen pop (AMI events) and the
reconciler (CDR rows) all learn it here, so one call has one id in every room.

>>> ring = from_ami({"Event": "AgentCalled", "Uniqueid": "1795747054.0",
...                  "Linkedid": "1795747054.0", "CallerIDNum": "13812345678",
...                  "Timestamp": "1795747054.917697"})
>>> ring.call_id, ring.caller_number, ring.primary
('1795747054.0', '13812345678', True)
>>> ring.at.isoformat()
'2026-11-27T02:37:34.917697+00:00'

The caller number is read here into the one form every record keeps
(hotline.phonenumbers.caller_number): +86 13812345678 from one carrier and 013812345678
from another are one caller. A withheld number stays as Asterisk spells it in each
source: "unknown" in AGI, "<unknown>" in AMI and "" in a CDR row. Such a number is
everybody's, so it never links one caller to another (known_number).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Generic, NamedTuple, TypeVar

from hotline.db.base import utcnow
from hotline.phonenumbers import caller_number

# Transfer events have no channel of their own: each party's fields come under its role.
# The caller's side (the transferee) names the call first.
TRANSFER_ROLES = ("Transferee", "OrigTransferer", "Transferer")

When = TypeVar("When", bound=datetime | None)

# How a withheld or absent caller number reaches us (Asterisk, carriers).
_WITHHELD = frozenset({"", "unknown", "<unknown>", "anonymous", "restricted", "private"})


def known_number(number: str) -> bool:
    """Whether a caller number names one caller. A withheld number is shared by every
    anonymous caller: their earlier calls and matters must not be shown to each other.

    >>> known_number("13812345678"), known_number("<unknown>"), known_number("anonymous")
    (True, False, False)
    """
    return number.strip().lower() not in _WITHHELD and any(c.isdigit() for c in number)


class CallIdentity(NamedTuple, Generic[When]):
    """One source's word on a call.

    call_id is "" when the source names no call. primary: this is the caller's own channel
    (or CDR leg), the one whose uniqueid names the call. at is aware UTC. A tuple: the call
    tracker makes one for each AMI event on the bridge's loop, and a frozen dataclass's
    __init__ set each field through object.__setattr__.
    """

    call_id: str
    caller_number: str
    at: When
    primary: bool


def from_agi(headers: Mapping[str, str], linkedid: str | None) -> CallIdentity[datetime]:
    """The call a FastAGI session runs in. headers: the agi_ variables without the prefix;
    linkedid: CHANNEL(linkedid) as read on the channel, None if it could not be read — the
    session's own uniqueid names the call then. AGI carries no time: at is now."""
    uniqueid = headers.get("uniqueid", "")
    return _identity(linkedid or uniqueid, uniqueid, headers.get("callerid", ""), utcnow())


def from_ami(event: Mapping[str, str]) -> CallIdentity[datetime]:
    """The call an AMI event is about: its channel's Linkedid, else its Uniqueid (a channel
    linked to no other is its own call); for a transfer, the Linkedid of the first of
    TRANSFER_ROLES that has one. at is event_time(event)."""
    prefix = _ami_prefix(event)
    uniqueid = _text(event.get(prefix + "Uniqueid"))
    return _identity(_text(event.get(prefix + "Linkedid")) or uniqueid, uniqueid,
                     _text(event.get(prefix + "CallerIDNum")), event_time(event))


def from_cdr(row: Mapping[str, Any]) -> CallIdentity[datetime | None]:
    """The call one CDR row (a leg, asterisk-conf/cdr_custom.conf) belongs to: its linkedid
    only — a row without one names no call. at is the leg's start, None without a usable
    one: the row is read after the fact, so now would be a wrong time, not a late one."""
    return _identity(_text(row.get("linkedid")), _text(row.get("uniqueid")),
                     _text(row.get("src")), epoch_utc(row.get("start")))


def event_time(event: Mapping[str, str]) -> datetime:
    """When Asterisk says the event happened (its Timestamp, manager.conf
    timestampevents=yes). Without a usable Timestamp the event is taken to have happened
    as we read it: now, aware UTC (AMI events arrive as they happen)."""
    return epoch_utc(event.get("Timestamp")) or utcnow()


def epoch_utc(value: object) -> datetime | None:
    """Seconds since the epoch, as Asterisk writes them ("1795747054.917697", or a number in
    a CDR row), as aware UTC. None for no time: missing, not a number, out of range, or
    at or before the epoch (Asterisk's 0 is a moment that never came, e.g. a CDR's answer
    when nobody answered)."""
    try:
        stamp = float(str(value))
        return datetime.fromtimestamp(stamp, UTC) if stamp > 0 else None
    except (ValueError, OverflowError, OSError):
        return None


# Every AMI event of a call names its caller: the number is put in normal form once.
_caller_number = functools.lru_cache(maxsize=4096)(caller_number)


def _identity(call_id: str, uniqueid: str, caller: str, at: When) -> CallIdentity[When]:
    return CallIdentity(call_id, _caller_number(caller), at,
                        bool(uniqueid) and uniqueid == call_id)


def _ami_prefix(event: Mapping[str, str]) -> str:
    if event.get("Linkedid") or event.get("Uniqueid"):
        return ""
    return next((role for role in TRANSFER_ROLES if event.get(f"{role}Linkedid")), "")


def _text(value: object) -> str:
    return str(value) if value else ""
