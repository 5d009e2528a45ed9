"""pbx/pjsip.py: PJSIP's reload and registrations as AMI answers them, from recorded
traffic (tests/fixtures/ami_events/pjsip_*.txt: Asterisk 22, the pjsip AMI user)."""

from __future__ import annotations

from pathlib import Path

import pytest
from panoramisk.message import Message

import pbx
from pbx.pjsip import contact_statuses, registration_states, reloaded_or_refused

FIXTURES = Path(__file__).parents[2] / "fixtures" / "ami_events"


def recorded(name: str) -> list[Message]:
    text = (FIXTURES / name).read_text(encoding="utf-8")
    return [Message.from_line(block.strip("\n").replace("\n", "\r\n"))
            for block in text.split("\n\n") if block.strip()]


def test_registrations_are_the_aors_of_the_listed_contacts() -> None:
    # A phone 8377 registered by SIPp: the contact is "8377;@<hash>", with no AOR field.
    assert contact_statuses(recorded("pjsip_contacts.txt")) == {"8377": "Reachable"}


def test_the_list_s_opening_and_closing_messages_name_no_phone() -> None:
    opening, _contact, complete = recorded("pjsip_contacts.txt")

    assert contact_statuses([opening, complete]) == {}


def test_a_status_asterisk_does_not_give_is_unknown() -> None:
    [contact] = [m for m in recorded("pjsip_contacts.txt") if m.get("Event") == "ContactList"]
    without = {k: v for k, v in contact.items() if k != "Status"}

    assert contact_statuses([without]) == {"8377": "Unknown"}


def test_a_reload_done_is_accepted_and_any_other_answer_refused() -> None:
    done, not_found = recorded("pjsip_reload.txt")

    reloaded_or_refused(done)
    with pytest.raises(pbx.PbxError, match=r"did not reload PJSIP: Module not found\."):
        reloaded_or_refused(not_found)
    queued = Message({"Response": "Success", "Message": "Module reload queued."})
    with pytest.raises(pbx.PbxError, match="reload queued"):
        reloaded_or_refused(queued)


def test_trunk_registrations_are_named_by_their_trunk() -> None:
    # A register trunk "unicom" whose registrar does not answer; the auth section listed
    # beside it (with its password: class system shows it) is no registration.
    assert registration_states(recorded("pjsip_registrations.txt")) == {
        "unicom": "Unregistered"}
