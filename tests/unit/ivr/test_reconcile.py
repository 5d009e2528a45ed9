"""ivr.reconcile: reading Asterisk's CDR file and rebuilding calls the bridge missed."""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from hotline.db import calls
from hotline.db.base import session_scope
from hotline.db.models import Call
from hotline.phonenumbers import caller_number
from ivr.reconcile import SOURCE, CallFacts, Reconciler, group_legs, read_new_lines
from ivr.services import Services
from tests.conftest import WavWriter

CALL = "1795747054.0"
RECORDING = f"2026/11/27/{CALL}.wav"
MESSAGE = f"2026/11/27/{CALL}-message.wav"


def _utc(stamp: float) -> datetime:
    return datetime.fromtimestamp(stamp, UTC)


def leg(**overrides: Any) -> dict[str, Any]:
    """One CDR line as cdr_custom.conf writes it: the caller's leg of a fallback call."""
    values: dict[str, Any] = {
        "linkedid": CALL, "uniqueid": CALL, "src": "13812345678", "dst": "s",
        "dcontext": "hotline-closed", "channel": "PJSIP/carrier-00000000", "dstchannel": "",
        "lastapp": "Playback", "start": 1795747054.917697, "answer": 1795747054.917860,
        "end": 1795747070.434875, "duration": 15, "billsec": 15, "disposition": "ANSWERED",
        "hotline_route": "fallback", "hotline_recording": RECORDING, "hotline_message": ""}
    values.update(overrides)
    return values


def line(**overrides: Any) -> str:
    return json.dumps(leg(**overrides))


# --- read_new_lines ----------------------------------------------------------------------

def test_read_new_lines_missing_file(tmp_path: Path) -> None:
    assert read_new_lines(tmp_path / "absent.json", 120, "1:2") == ([], 0, "")


def test_read_new_lines_only_complete_lines_then_resumes(tmp_path: Path) -> None:
    path = tmp_path / "cdr.json"
    path.write_bytes(b'{"a": 1}\n{"b": 2}\n{"c": ')

    lines, position, fingerprint = read_new_lines(path, 0, "")
    assert lines == ['{"a": 1}', '{"b": 2}']
    assert position == len(b'{"a": 1}\n{"b": 2}\n')
    stat = path.stat()
    assert fingerprint == f"{stat.st_dev}:{stat.st_ino}"

    with path.open("ab") as handle:
        handle.write(b'3}\n{"d": 4}\n')
    lines, position2, fingerprint2 = read_new_lines(path, position, fingerprint)
    assert lines == ['{"c": 3}', '{"d": 4}']
    assert position2 == path.stat().st_size
    assert fingerprint2 == fingerprint

    assert read_new_lines(path, position2, fingerprint2) == ([], position2, fingerprint)


def test_read_new_lines_starts_over_when_the_file_is_replaced(tmp_path: Path) -> None:
    path = tmp_path / "cdr.json"
    path.write_text("old-1\nold-2\n")
    _, position, fingerprint = read_new_lines(path, 0, "")

    rotated = tmp_path / "cdr.json.new"
    rotated.write_text("new-1\nnew-2\nnew-3\n")  # longer than what was read
    os.replace(rotated, path)
    lines, new_position, new_fingerprint = read_new_lines(path, position, fingerprint)

    assert lines == ["new-1", "new-2", "new-3"]
    assert new_position == path.stat().st_size
    assert new_fingerprint != fingerprint


def test_read_new_lines_starts_over_when_truncated(tmp_path: Path) -> None:
    path = tmp_path / "cdr.json"
    path.write_text("one\ntwo\nthree\n")
    _, position, fingerprint = read_new_lines(path, 0, "")

    with path.open("r+") as handle:  # same file, cut short and rewritten
        handle.truncate(0)
        handle.write("four\n")
    lines, new_position, new_fingerprint = read_new_lines(path, position, fingerprint)

    assert lines == ["four"]
    assert (new_position, new_fingerprint) == (5, fingerprint)


def test_read_new_lines_survives_bad_bytes(tmp_path: Path) -> None:
    path = tmp_path / "cdr.json"
    path.write_bytes(b'{"src": "\xff"}\n')

    lines, position, _ = read_new_lines(path, 0, "")
    assert lines == ['{"src": "\ufffd"}'] and position == path.stat().st_size


def test_read_new_lines_splits_on_newlines_only(tmp_path: Path) -> None:
    # The caller's number comes from the carrier. JSON allows U+2028 and U+0085 unescaped
    # inside strings; a line is what cdr_custom ends with "\n", nothing else.
    path = tmp_path / "cdr.json"
    number = "138\u20281234\u00855678"
    path.write_text(json.dumps(leg(src=number), ensure_ascii=False) + "\n", encoding="utf-8")

    lines, _, _ = read_new_lines(path, 0, "")

    assert len(lines) == 1
    # the whole number reached the call, in the one form callers are kept in
    assert group_legs(lines)[CALL].caller_number == caller_number(number) == "13812345678"


# --- group_legs --------------------------------------------------------------------------

def test_group_legs_one_call_from_its_legs() -> None:
    caller = leg(hotline_route="", hotline_message=MESSAGE, end=1795747070.0)
    agent = leg(uniqueid="1795747060.1", src="8001", channel="PJSIP/8001-00000001",
                start=1795747060.0, answer=1795747061.0, end=1795747080.5,
                hotline_route="queue", hotline_recording="")

    facts = group_legs([json.dumps(agent), json.dumps(caller)])

    assert list(facts) == [CALL]
    fact = facts[CALL]
    assert (fact.caller_number, fact.channel) == ("13812345678", "PJSIP/carrier-00000000")
    assert fact.started_at == _utc(1795747054.917697)
    assert fact.answered_at == _utc(1795747054.917860)
    assert fact.ended_at == _utc(1795747080.5)  # the latest end of any leg
    assert fact.disposition == "answered"
    assert fact.route == "queue"  # from whichever leg carries it
    assert fact.recordings == {RECORDING: "call", MESSAGE: "message"}


def test_group_legs_first_route_wins() -> None:
    facts = group_legs([line(), line(uniqueid="1795747060.1", hotline_route="queue")])

    assert facts[CALL].route == "fallback"


def test_group_legs_unanswered_caller() -> None:
    facts = group_legs([line(answer=0, disposition="NO ANSWER", billsec=0)])

    assert facts[CALL].answered_at is None
    assert facts[CALL].disposition == "unanswered"


def test_group_legs_several_calls_and_staff_calls_dropped() -> None:
    other = "1795747100.5"
    staff = "1795747200.9"
    lines = [
        line(),
        line(linkedid=other, uniqueid=other, src="037965432178", hotline_route="",
             hotline_recording=f"2026/11/27/{other}.wav"),
        line(linkedid=staff, uniqueid=staff, src="8001", hotline_route="",
             hotline_recording="", dcontext="from-staff"),
        line(linkedid="", uniqueid="1795747300.1"),
    ]

    facts = group_legs(lines)

    assert sorted(facts) == [CALL, other]
    assert facts[other].route == ""
    assert facts[other].recordings == {f"2026/11/27/{other}.wav": "call"}
    assert facts[other].caller_number == "037965432178"


def test_group_legs_keeps_a_caller_who_hung_up_before_the_dialplan_marked_the_call() -> None:
    early = "1795747400.2"
    facts = group_legs([line(linkedid=early, uniqueid=early, hotline_route="",
                             hotline_recording="", dcontext="hotline-entry", lastapp="Answer",
                             billsec=0, duration=0)])

    assert list(facts) == [early]
    assert facts[early].recordings == {} and facts[early].caller_number == "13812345678"


def test_group_legs_skips_a_non_json_line(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="ivr.reconcile"):
        facts = group_legs(['{"linkedid": "1795747054.0", "src": "138', line()])

    assert list(facts) == [CALL]
    assert facts[CALL].caller_number == "13812345678"
    assert "CDR line 1 is not a JSON object" in caplog.text


@pytest.mark.parametrize("bad", ["42", '"text"', "[1, 2]", "null"])
def test_group_legs_skips_json_that_is_not_an_object(bad: str) -> None:
    # A damaged CDR line must not stop every later pass: the mark only moves after a pass.
    facts = group_legs([bad, line()])

    assert list(facts) == [CALL]


def test_group_legs_caller_with_several_records() -> None:
    # Asterisk writes a new CDR record for the caller's channel each time it dials someone
    # (the queue ringing a seat that does not answer, a transfer): same uniqueid, later
    # start, its own disposition. The call started with the first and was answered.
    first = leg(end=1795747090.0, lastapp="Queue")
    seat_no_answer = leg(start=1795747060.0, answer=0, end=1795747080.0, billsec=0,
                         dstchannel="PJSIP/8001-00000001", disposition="NO ANSWER")

    fact = group_legs([json.dumps(first), json.dumps(seat_no_answer)])[CALL]

    assert fact.started_at == _utc(1795747054.917697)
    assert fact.answered_at == _utc(1795747054.917860)
    assert fact.disposition == "answered"
    assert fact.ended_at == _utc(1795747090.0)


def test_call_facts_ignores_missing_times() -> None:
    fact = CallFacts(CALL)
    fact.add_leg(leg(start="", answer=None, end="not-a-number"))

    assert (fact.started_at, fact.answered_at, fact.ended_at) == (None, None, None)


def test_call_facts_a_time_beyond_any_date_is_no_time() -> None:
    # json.loads reads "Infinity" and 1e400 as inf; one such line must not stop every pass.
    facts = group_legs([line(start=float("inf"), end=1e400)])

    assert (facts[CALL].started_at, facts[CALL].ended_at) == (None, None)
    assert facts[CALL].caller_number == ""


# --- Reconciler against a real database --------------------------------------------------

def _write_cdr(services: Services, *lines: str) -> Path:
    path = services.pbx.cdr_file
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        handle.writelines(text + "\n" for text in lines)
    return path


async def _call(services: Services, call_id: str = CALL) -> Call:
    async with session_scope(services.sessions) as session:
        call = await calls.get_call(session, call_id)
    assert call is not None
    return call


async def test_unknown_call_is_created_from_the_cdr(services: Services,
                                                    make_wav: WavWriter) -> None:
    wav = make_wav(services.recording_file(RECORDING), 15.5)
    _write_cdr(services, line())

    changed = await Reconciler(services).run()

    assert changed == [CALL]
    call = await _call(services)
    assert (call.source, call.caller_number, call.channel, call.route, call.disposition) == (
        "reconciled", "13812345678", "PJSIP/carrier-00000000", "fallback", "answered")
    assert call.started_at == _utc(1795747054.917697)
    assert call.answered_at == _utc(1795747054.917860)
    assert call.ended_at == _utc(1795747070.434875)
    assert [(e.kind, e.detail) for e in call.events] == [("reconciled", {"from": SOURCE})]
    [recording] = call.recordings
    assert (recording.path, recording.kind, recording.status) == (RECORDING, "call", "complete")
    assert recording.duration_seconds == 15.5
    assert recording.size_bytes == wav.stat().st_size


async def test_second_run_changes_nothing(services: Services, make_wav: WavWriter) -> None:
    make_wav(services.recording_file(RECORDING), 1.0)
    _write_cdr(services, line())
    reconciler = Reconciler(services)
    await reconciler.run()
    before = await _call(services)

    assert await reconciler.run() == []
    assert await Reconciler(services).run() == []  # a restarted bridge resumes at the mark

    after = await _call(services)
    assert [(e.kind, e.at) for e in after.events] == [(e.kind, e.at) for e in before.events]
    assert [(r.path, r.status) for r in after.recordings] == [(RECORDING, "complete")]
    async with session_scope(services.sessions) as session:
        mark = await calls.get_mark(session, SOURCE)
    assert mark is not None and mark.position == services.pbx.cdr_file.stat().st_size


async def test_only_new_lines_are_read_on_the_next_pass(services: Services) -> None:
    later = "1795747100.5"
    _write_cdr(services, line(hotline_recording=""))
    reconciler = Reconciler(services)
    assert await reconciler.run() == [CALL]

    path = _write_cdr(services, line(linkedid=later, uniqueid=later, hotline_recording=""))
    with path.open("a") as handle:
        handle.write(line(linkedid="half-written")[:40])  # Asterisk still writing

    assert await reconciler.run() == [later]
    assert (await _call(services, later)).source == "reconciled"


async def test_missing_recording_is_marked_missing(services: Services) -> None:
    _write_cdr(services, line(hotline_message=MESSAGE))

    await Reconciler(services).run()

    call = await _call(services)
    assert {r.path: (r.kind, r.status) for r in call.recordings} == {
        RECORDING: ("call", "missing"), MESSAGE: ("message", "missing")}


async def test_known_call_not_ended_gets_ended(services: Services, make_wav: WavWriter) -> None:
    live_start = _utc(1795747055.0)
    async with session_scope(services.sessions) as session:
        await calls.ensure_call(session, CALL, caller_number="13812345678", started_at=live_start,
                                route="queue", agent="8001")
        await calls.add_recording(session, CALL, RECORDING)
    make_wav(services.recording_file(RECORDING), 3.0)
    _write_cdr(services, line(disposition="ANSWERED"))

    assert await Reconciler(services).run() == [CALL]

    call = await _call(services)
    assert call.ended_at == _utc(1795747070.434875)
    assert call.disposition == "answered"
    # What the bridge saw live is kept.
    assert (call.source, call.started_at, call.route, call.agent) == (
        "live", live_start, "queue", "8001")
    assert [(r.path, r.status, r.duration_seconds) for r in call.recordings] == [
        (RECORDING, "complete", 3.0)]


async def test_a_call_still_up_is_left_to_the_tracker(
        services: Services, make_wav: WavWriter) -> None:
    """A leg's CDR (the agent's, after an attended transfer) is written while the caller
    still talks to the judge: the call is not ended and its recording not judged yet."""
    async with session_scope(services.sessions) as session:
        await calls.ensure_call(session, CALL, caller_number="13812345678",
                                started_at=_utc(1795747055.0), route="queue")
        await calls.add_recording(session, CALL, RECORDING)
    make_wav(services.recording_file(RECORDING), 1.0)
    _write_cdr(services, line(disposition="ANSWERED"))

    assert await Reconciler(services, lambda: {CALL}).run() == []

    call = await _call(services)
    assert call.ended_at is None
    assert [(r.path, r.status) for r in call.recordings] == [(RECORDING, "recording")]


async def test_call_already_ended_is_untouched(services: Services) -> None:
    ended = _utc(1795747060.0)
    async with session_scope(services.sessions) as session:
        await calls.ensure_call(session, CALL, caller_number="13812345678",
                                started_at=_utc(1795747055.0), ended_at=ended,
                                disposition="unanswered", route="queue")
    _write_cdr(services, line(hotline_message=MESSAGE))

    assert await Reconciler(services).run() == []

    call = await _call(services)
    assert (call.ended_at, call.disposition, call.route, call.source) == (
        ended, "unanswered", "queue", "live")
    assert call.recordings == [] and call.events == []


async def test_damaged_line_does_not_block_later_calls(services: Services) -> None:
    _write_cdr(services, "12", line(hotline_recording=""))

    assert await Reconciler(services).run() == [CALL]
    assert (await _call(services)).source == "reconciled"


async def test_no_cdr_file_yet(services: Services) -> None:
    assert await Reconciler(services).run() == []

    async with session_scope(services.sessions) as session:
        assert await calls.recent_calls(session) == []
        mark = await calls.get_mark(session, SOURCE)
    assert mark is not None and (mark.position, mark.fingerprint) == (0, "")


async def test_a_call_left_to_the_tracker_is_looked_at_again_until_it_ends(
        services: Services) -> None:
    async with session_scope(services.sessions) as session:
        await calls.ensure_call(session, CALL, caller_number="13812345678",
                                started_at=_utc(1795747055.0), route="queue")
    _write_cdr(services, line(disposition="ANSWERED", hotline_recording=""))
    live = {CALL}
    reconciler = Reconciler(services, lambda: live)
    assert await reconciler.run() == []
    assert await reconciler.run() == [], "still live: still left alone"

    live.clear()  # its Hangup never came (AMI was cut); the tracker forgot it
    assert await reconciler.run() == [CALL]
    assert (await _call(services)).ended_at == _utc(1795747070.434875)
    assert await reconciler.run() == []
    assert reconciler._waiting == {}


# --- a cluster's node (issue 17) -----------------------------------------------------------

def _on_node(services: Services, node: str) -> Services:
    import dataclasses

    from hotline.settings import ClusterSettings

    cluster_settings = ClusterSettings(node=node, nodes=("pbx1=10.1.1.11", "pbx2=10.1.1.12"),
                                       proxy="10.1.1.10")
    return dataclasses.replace(services, settings=dataclasses.replace(
        services.settings, cluster=cluster_settings))


async def test_a_call_ended_for_its_nodes_silence_gets_asterisks_own_end(
        services: Services, make_wav: WavWriter) -> None:
    """The active scheduler ended the call when pbx1's bridge fell silent (hotline.cluster.
    close_lost_calls); pbx1's bridge, back, reads its Asterisk's CDR: the real end wins and
    the recording is judged. A call is stamped with its node when created from the CDR."""
    from hotline.cluster import NODE_LOST

    node = _on_node(services, "pbx1")
    async with session_scope(node.sessions) as session:
        await calls.ensure_call(session, CALL, caller_number="13812345678", node="pbx1",
                                started_at=_utc(1795747055.0), ended_at=_utc(1795747058.0),
                                ended_by=NODE_LOST, disposition="unanswered", route="queue")
        await calls.add_recording(session, CALL, RECORDING)
    make_wav(node.recording_file(RECORDING), 2.0)
    later = "1795747100.5"
    _write_cdr(node, line(disposition="ANSWERED"), line(linkedid=later, uniqueid=later))

    assert sorted(await Reconciler(node).run()) == sorted([CALL, later])

    call = await _call(node)
    assert (call.ended_at, call.ended_by, call.disposition) == (
        _utc(1795747070.434875), "", "answered")
    assert [(r.path, r.status) for r in call.recordings] == [(RECORDING, "complete")]
    assert (await _call(node, later)).node == "pbx1"
    async with session_scope(node.sessions) as session:
        assert await calls.get_mark(session, SOURCE) is None, "each node reads its own CDR"
        mark = await calls.get_mark(session, f"{SOURCE}@pbx1")
    assert mark is not None and mark.position == node.pbx.cdr_file.stat().st_size


async def test_a_bridge_leaves_another_nodes_recordings_to_that_node(
        services: Services) -> None:
    """pbx2's bridge does not judge pbx1's recording (on pbx1's disk, or still being
    closed by pbx1's Asterisk): it would call it missing."""
    async with session_scope(services.sessions) as session:
        await calls.ensure_call(session, CALL, node="pbx1", started_at=_utc(1795747055.0),
                                ended_at=_utc(1795747070.0))
        await calls.add_recording(session, CALL, RECORDING)
    await Reconciler(_on_node(services, "pbx2")).run()
    assert [(r.path, r.status) for r in (await _call(services)).recordings] == [
        (RECORDING, "recording")]
    await Reconciler(_on_node(services, "pbx1")).run()
    assert [(r.path, r.status) for r in (await _call(services)).recordings] == [
        (RECORDING, "missing")]


async def test_calls_a_killed_asterisk_left_open_are_ended_when_ami_is_back(
        services: Services) -> None:
    """Node pbx1's Asterisk was killed mid-call and restarted (its bridge kept writing its
    heartbeat, so the scheduler closed nothing): at the AMI connection the bridge ends its
    open calls that Asterisk does not have up and whose CDR never came, as node-lost at
    their last known step; a call still up, one ended by its CDR line, and another node's
    are left to what they are."""
    from hotline.cluster import NODE_LOST
    from tests.unit.ivr.test_calltracker import control, load_events

    node = _on_node(services, "pbx1")
    up = "1795747099.7"  # in the recorded Status reply
    async with session_scope(node.sessions) as session:
        for call_id, on in ((up, "pbx1"), ("lost.1", "pbx1"), (CALL, "pbx1"),
                            ("elsewhere.1", "pbx2")):
            await calls.ensure_call(session, call_id, node=on, started_at=_utc(1795747050.0))
        await calls.add_event(session, "lost.1", "menu", {}, at=_utc(1795747065.0))
    _write_cdr(node, line(disposition="ANSWERED"))  # CALL ended, its CDR written

    closed = await Reconciler(node).close_left_open(control(load_events("status_reply.txt")))

    assert closed == ["lost.1"]
    lost = await _call(node, "lost.1")
    assert (lost.ended_at, lost.ended_by) == (_utc(1795747065.0), NODE_LOST)
    assert [e.kind for e in lost.events] == ["menu", NODE_LOST]
    ended = await _call(node, CALL)
    assert (ended.ended_at, ended.ended_by) == (_utc(1795747070.434875), "")
    assert (await _call(node, up)).ended_at is None
    assert (await _call(node, "elsewhere.1")).ended_at is None
    assert await Reconciler(services).close_left_open(
        control(load_events("status_reply.txt"))) == [], "a single server: nothing"
