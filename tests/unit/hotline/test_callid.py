"""hotline.callid: one call, one id, one caller and one time, whichever way Asterisk tells
of it — AGI variables, AMI events (the recorded fixtures, parsed as panoramisk parses them)
and CDR rows."""

from __future__ import annotations

import doctest
from datetime import UTC, datetime, timedelta

import pytest
from panoramisk.message import Message

from hotline import callid
from hotline.callid import epoch_utc, event_time, from_agi, from_ami, from_cdr
from tests.unit.ivr.test_calltracker import load_events

CALL = "1795747054.0"
CALLER = "13812345678"
AGENT_CHANNEL = "1795747056.1"


def _utc(stamp: str) -> datetime:
    return datetime.fromtimestamp(float(stamp), UTC)


def _is_now(value: datetime) -> bool:
    return value.utcoffset() == timedelta(0) and abs(datetime.now(UTC) - value) < timedelta(
        seconds=5)


def cdr(**overrides: object) -> dict[str, object]:
    """The caller's leg of a queued call, as asterisk-conf/cdr_custom.conf writes it."""
    return {"linkedid": CALL, "uniqueid": CALL, "src": CALLER, "channel": "PJSIP/carrier-1",
            "start": 1795747054.917697, "answer": 1795747054.91786, "end": 1795747070.4,
            **overrides}


def test_the_module_example_runs() -> None:
    assert doctest.testmod(callid).failed == 0


# --- the same call from each source --------------------------------------------------------

def test_agi_ami_and_cdr_name_the_same_call_and_caller() -> None:
    agi = from_agi({"uniqueid": CALL, "callerid": CALLER, "channel": "PJSIP/carrier-1"}, CALL)
    ami = from_ami(load_events("queue_call.txt")[0])
    row = from_cdr(cdr())

    assert {(c.call_id, c.caller_number, c.primary) for c in (agi, ami, row)} == {
        (CALL, CALLER, True)}


def test_every_event_of_a_recorded_call_names_the_call() -> None:
    events = load_events("queue_call.txt")

    assert {from_ami(e).call_id for e in events} == {CALL}
    # The seat's channel belongs to the call but is not the caller's.
    assert [from_ami(e).primary for e in events] == [
        e.Uniqueid != AGENT_CHANNEL for e in events]
    assert [from_ami(e).at for e in events] == [_utc(e.Timestamp) for e in events]


def test_a_staff_call_is_named_by_the_calling_staff_phone() -> None:
    assert {from_ami(e).call_id for e in load_events("staff_call.txt")} == {"1795748000.5"}


# --- AMI ---------------------------------------------------------------------------------

def test_ami_linkedid_wins_over_the_channels_own_uniqueid() -> None:
    seat = from_ami(Message({"Uniqueid": AGENT_CHANNEL, "Linkedid": CALL,
                             "CallerIDNum": "8001"}))

    assert (seat.call_id, seat.caller_number, seat.primary) == (CALL, "8001", False)


def test_ami_without_linkedid_the_channel_is_its_own_call() -> None:
    # The screen pop's and the voice menu's rule, kept for the tracker too (which read ""
    # before): Asterisk's linkedid of a channel linked to nothing is its own uniqueid.
    alone = from_ami(Message({"Event": "UserEvent", "Uniqueid": CALL}))

    assert (alone.call_id, alone.primary) == (CALL, True)


def test_ami_transfer_named_by_the_transferee_first() -> None:
    [blind] = load_events("blind_transfer.txt")
    assert from_ami(blind).call_id == CALL
    assert from_ami(blind).caller_number == CALLER  # the transferee's: the caller

    roles = {"OrigTransfererLinkedid": "b", "TransfererLinkedid": "c"}
    assert from_ami(Message({"Event": "AttendedTransfer", **roles})).call_id == "b"
    assert from_ami(Message({"Event": "AttendedTransfer", "TransfererLinkedid": "c"})
                    ).call_id == "c"


def test_ami_event_naming_no_call() -> None:
    nothing = from_ami(Message({"Event": "QueueMemberStatus", "Interface": "PJSIP/8001"}))

    assert (nothing.call_id, nothing.caller_number, nothing.primary) == ("", "", False)
    assert _is_now(nothing.at)


def test_ami_reads_a_plain_mapping_too() -> None:
    event = {"Uniqueid": CALL, "Linkedid": CALL, "CallerIDNum": CALLER,
             "Timestamp": "1795747054.5"}

    assert from_ami(event) == callid.CallIdentity(CALL, CALLER, _utc("1795747054.5"), True)


# --- event time --------------------------------------------------------------------------

def test_event_time_is_asterisks_timestamp_in_utc() -> None:
    at = event_time(Message({"Timestamp": "1795747054.917697"}))

    assert at == datetime(2026, 11, 27, 2, 37, 34, 917697, tzinfo=UTC)
    assert at.timestamp() == 1795747054.917697  # the console's ami_time, to the microsecond


@pytest.mark.parametrize("stamp", [None, "", "garbage", "nan", "0", "-5", "1e400", "inf"])
def test_event_time_without_a_usable_timestamp_is_now_and_aware(stamp: str | None) -> None:
    event = Message({} if stamp is None else {"Timestamp": stamp})

    assert _is_now(event_time(event))


@pytest.mark.parametrize("value", [None, "", "x", 0, "0", -1.0, 1e400, float("nan"), [1]])
def test_epoch_utc_no_time(value: object) -> None:
    assert epoch_utc(value) is None


def test_epoch_utc_text_and_numbers() -> None:
    assert epoch_utc("1795747054.5") == epoch_utc(1795747054.5) == _utc("1795747054.5")
    assert epoch_utc(1795747054) == _utc("1795747054")


# --- AGI ---------------------------------------------------------------------------------

def test_agi_linkedid_read_on_the_channel_names_the_call() -> None:
    headers = {"uniqueid": "1795747060.3", "callerid": CALLER}

    call = from_agi(headers, CALL)

    assert (call.call_id, call.caller_number, call.primary) == (CALL, CALLER, False)
    assert _is_now(call.at)


@pytest.mark.parametrize("linkedid", [None, ""])
def test_agi_without_linkedid_the_sessions_uniqueid(linkedid: str | None) -> None:
    call = from_agi({"uniqueid": CALL, "callerid": CALLER}, linkedid)

    assert (call.call_id, call.primary) == (CALL, True)


def test_agi_without_headers() -> None:
    assert (from_agi({}, None).call_id, from_agi({}, None).caller_number) == ("", "")


# --- CDR ---------------------------------------------------------------------------------

def test_cdr_caller_leg() -> None:
    row = from_cdr(cdr())

    assert row == callid.CallIdentity(CALL, CALLER, _utc("1795747054.917697"), True)


def test_cdr_seat_leg_belongs_to_the_call_but_is_not_the_caller() -> None:
    seat = from_cdr(cdr(uniqueid=AGENT_CHANNEL, src="8001"))

    assert (seat.call_id, seat.caller_number, seat.primary) == (CALL, "8001", False)


def test_cdr_row_without_linkedid_names_no_call() -> None:
    # Unlike AMI, no fallback to the uniqueid: the reconciler skips such a row (a damaged
    # line is not a call of its own).
    row = from_cdr(cdr(linkedid="", uniqueid="1795747300.1"))

    assert (row.call_id, row.primary) == ("", False)


@pytest.mark.parametrize("start", [None, "", 0, "not-a-number", 1e400])
def test_cdr_without_a_usable_start_has_no_time(start: object) -> None:
    # Read after the fact: now would be wrong, so the reconciler leaves the time unknown.
    assert from_cdr(cdr(start=start)).at is None


def test_cdr_null_source_is_no_number() -> None:
    assert from_cdr(cdr(src=None)).caller_number == ""


# --- the caller number is passed on as the source spells it --------------------------------

def test_a_withheld_number_is_kept_as_each_source_spells_it() -> None:
    """Asterisk writes a missing number as "unknown" (AGI), "<unknown>" (AMI) and ""
    (CDR); every copy this module replaced kept them unchanged, and so does it."""
    assert from_agi({"uniqueid": CALL, "callerid": "unknown"}, CALL).caller_number == "unknown"
    assert from_ami(Message({"Linkedid": CALL, "CallerIDNum": "<unknown>"})
                    ).caller_number == "<unknown>"
    assert from_cdr(cdr(src="")).caller_number == ""


def test_a_carriers_number_form_is_read_into_one_form_from_every_source() -> None:
    """One caller through two carriers (issue 16): +86 from one, 0086 and spaces from
    another; the bridge, the call tracker and the reconciler all keep 13812345678."""
    agi = from_agi({"uniqueid": CALL, "callerid": "+8613812345678"}, CALL)
    ami = from_ami(Message({"Linkedid": CALL, "CallerIDNum": "0086 138 1234 5678"}))
    row = from_cdr(cdr(src="8613812345678"))
    assert {agi.caller_number, ami.caller_number, row.caller_number} == {"13812345678"}
