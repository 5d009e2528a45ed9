"""ivr.calltracker: recorded AMI traffic through the handlers, into a real database.

The events are kept as AMI text in tests/fixtures/ami_events/ and parsed the way panoramisk
parses what Asterisk sends.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

from panoramisk.message import Message
from sqlalchemy import func, select

from hotline.callid import event_time
from hotline.db import calls
from hotline.db.base import session_scope
from hotline.db.models import Call, CallEvent, Recording
from ivr.calltracker import CallTracker
from ivr.reconcile import Reconciler
from ivr.services import Services
from pbx import AmiNotConnected, PbxControl
from pbx import names as v
from tests.conftest import WavWriter

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "ami_events"
CALL = "1795747054.0"
RECORDING = f"2026/11/27/{CALL}.wav"


def load_events(name: str) -> list[Message]:
    """The events of one fixture file, blocks separated by a blank line."""
    text = (FIXTURES / name).read_text(encoding="utf-8")
    blocks = [block for block in text.split("\n\n") if block.strip()]
    messages = [Message.from_line(block.strip("\n").replace("\n", "\r\n")) for block in blocks]
    assert all(m is not None for m in messages)
    return messages


def event(**headers: str) -> Message:
    return Message(headers)


def _utc(stamp: str) -> datetime:
    return datetime.fromtimestamp(float(stamp), UTC)


async def feed(tracker: CallTracker, *events: Message) -> None:
    """Dispatch like the AMI client: by event name, through subscriptions(), in order."""
    handlers = tracker.subscriptions()
    for message in events:
        await handlers[message["Event"]](message)
    await tracker.services.writer.flush()  # what they wrote is behind them, committed now


async def settle(tracker: CallTracker) -> None:
    """Wait for the recordings being finished in the background after a Hangup."""
    await asyncio.wait_for(asyncio.gather(*list(tracker._finishing)), timeout=10)
    await tracker.services.writer.flush()


async def _call(services: Services, call_id: str = CALL) -> Call:
    async with session_scope(services.sessions) as session:
        call = await calls.get_call(session, call_id)
    assert call is not None, f"no call {call_id}"
    return call


async def _rows(services: Services) -> tuple[int, int, int]:
    async with session_scope(services.sessions) as session:
        counts = [(await session.execute(select(func.count()).select_from(m))).scalar_one()
                  for m in (Call, CallEvent, Recording)]
    return counts[0], counts[1], counts[2]


def test_fixture_parses_like_asterisk_sends_it() -> None:
    events = load_events("queue_call.txt")

    assert [e["Event"] for e in events] == [
        "Newchannel", "Newstate", "UserEvent", "QueueCallerJoin", "Newchannel", "Newstate",
        "AgentConnect", "Hangup", "Hangup"]
    assert events[2]["UserEvent"] == v.EVENT_RECORDING
    assert events[2].Recording == RECORDING
    assert events[0].accountcode == ""


async def test_a_queued_call_from_first_event_to_hangup(services: Services,
                                                        make_wav: WavWriter) -> None:
    events = load_events("queue_call.txt")
    newchannel, newstate, hangup = events[0], events[1], events[-1]
    tracker = CallTracker(services, recording_timeout=3.0)

    await feed(tracker, *events[:-1])
    wav = make_wav(services.recording_file(RECORDING), 15.0)  # MixMonitor's file
    await feed(tracker, hangup)
    await settle(tracker)

    call = await _call(services)
    assert (call.caller_number, call.channel) == ("13812345678", "PJSIP/carrier-00000000")
    assert call.started_at == _utc(newchannel.Timestamp)
    assert call.answered_at == _utc(newstate.Timestamp)
    assert call.ended_at == _utc(hangup.Timestamp)
    assert (call.disposition, call.hangup_cause, call.agent) == ("answered", 16, "8001")
    assert [(e.kind, e.detail) for e in call.events] == [
        ("recording", {"path": RECORDING, "kind": "call"}),
        ("queue", {"queue": "seats", "position": "1"}),
        ("agent", {"agent": "8001", "extension": "8001"}),
        ("hangup", {"cause": "16"}),
    ]
    assert [e.at for e in call.events] == [_utc(events[i].Timestamp) for i in (2, 3, 6, 8)]
    [recording] = call.recordings
    assert (recording.path, recording.kind, recording.status) == (RECORDING, "call", "complete")
    assert (recording.duration_seconds, recording.size_bytes) == (15.0, wav.stat().st_size)
    assert tracker._channels == {}
    assert await _rows(services) == (1, 4, 1)


async def test_the_call_ends_when_the_caller_hangs_up_not_when_its_channel_is_done(
        services: Services) -> None:
    """The caller's BYE raises HangupRequest; the channel's Hangup follows only after its
    hangup handlers and the voice menu's FastAGI session have finished, seconds later on a
    busy machine. The seat's own HangupRequest is not the end of the call. (Without a
    HangupRequest, the dialplan hung up: the Hangup is the end, as in the test above.)"""
    events = load_events("queue_call.txt")
    seat_hangup, hangup = events[7], events[8]
    tracker = CallTracker(services, recording_timeout=0.1)
    left = "1795747068.100000"

    def request(of: Message, at: str) -> Message:
        return Message({**of, "Event": "HangupRequest", "Timestamp": at})

    await feed(tracker, *events[:7], request(seat_hangup, "1795747060.0"),
               request(hangup, left), request(hangup, "1795747069.0"), seat_hangup, hangup)
    await settle(tracker)

    call = await _call(services)
    assert call.ended_at == _utc(left) != _utc(hangup.Timestamp)
    assert [e.at for e in call.events if e.kind == "hangup"] == [_utc(left)]
    assert tracker._channels == {}


async def test_events_of_a_staff_call_are_ignored(services: Services) -> None:
    tracker = CallTracker(services, recording_timeout=0.1)

    await feed(tracker, *load_events("staff_call.txt"))
    await feed(tracker, event(Event="QueueCallerJoin", Uniqueid="1795748000.5",
                              Linkedid="1795748000.5", Queue="seats", Position="1"),
               event(Event="AgentConnect", Uniqueid="1795748000.5", Linkedid="1795748000.5",
                     MemberName="8002"),
               event(Event="UserEvent", UserEvent=v.EVENT_QUEUE_LEFT, Uniqueid="1795748000.5",
                     Linkedid="1795748000.5", Status="TIMEOUT"))

    assert await _rows(services) == (0, 0, 0)
    assert tracker._channels == {}
    assert tracker._finishing == set()


async def test_channel_state_is_dropped_on_hangup(services: Services) -> None:
    tracker = CallTracker(services, recording_timeout=0.1)
    events = load_events("queue_call.txt")
    newchannel, agent_newchannel = events[0], events[4]

    await feed(tracker, newchannel, agent_newchannel)
    assert set(tracker._channels) == {CALL, "1795747056.1"}
    await feed(tracker, events[7])  # the seat hangs up first
    assert set(tracker._channels) == {CALL}
    await feed(tracker, events[8])
    assert tracker._channels == {}


async def test_unanswered_call_without_recording_file(services: Services) -> None:
    events = load_events("queue_call.txt")
    tracker = CallTracker(services, recording_timeout=0.2)

    # Newchannel, the recording starts, the caller hangs up; no Newstate Up, no file.
    await feed(tracker, events[0], events[2], events[-1])
    await settle(tracker)

    call = await _call(services)
    assert (call.answered_at, call.disposition) == (None, "unanswered")
    assert [r.status for r in call.recordings] == ["missing"]


async def test_fallback_and_message(services: Services, make_wav: WavWriter) -> None:
    events = load_events("queue_call.txt")
    message = f"2026/11/27/{CALL}-message.wav"
    common = {"Uniqueid": CALL, "Linkedid": CALL, "Channel": "PJSIP/carrier-00000000"}
    tracker = CallTracker(services, recording_timeout=2.0)

    await feed(tracker, events[0], events[1], events[2],
               event(Event="UserEvent", UserEvent=v.EVENT_FALLBACK, AgiStatus="FAILURE",
                     Timestamp="1795747055.0", **common),
               event(Event="UserEvent", UserEvent=v.EVENT_MESSAGE, Recording=message,
                     Timestamp="1795747060.0", **common))
    make_wav(services.recording_file(RECORDING), 2.0)
    make_wav(services.recording_file(message), 1.0)
    await feed(tracker, events[-1])
    await settle(tracker)

    call = await _call(services)
    assert call.route == v.CALL_ROUTE_FALLBACK
    assert [e.kind for e in call.events] == ["recording", "fallback", "recording", "hangup"]
    assert call.events[1].detail == {"agi_status": "FAILURE"}
    assert {r.path: (r.kind, r.status, r.duration_seconds) for r in call.recordings} == {
        RECORDING: ("call", "complete", 2.0), message: ("message", "complete", 1.0)}


async def test_blind_transfer_of_a_hotline_call_is_recorded(services: Services) -> None:
    events = load_events("queue_call.txt")
    [transfer] = load_events("blind_transfer.txt")
    tracker = CallTracker(services, recording_timeout=0.1)
    await feed(tracker, *events[:7])

    await feed(tracker, transfer)

    call = await _call(services)
    assert [e.kind for e in call.events][-1] == "transfer"
    assert call.events[-1].detail == {"kind": "BlindTransfer", "result": "Success"}
    assert call.events[-1].at == _utc(transfer.Timestamp)


async def test_queue_abandon_and_queue_left(services: Services) -> None:
    events = load_events("queue_call.txt")
    tracker = CallTracker(services, recording_timeout=0.1)
    await feed(tracker, *events[:4])

    await feed(tracker,
               event(Event="QueueCallerAbandon", Uniqueid=CALL, Linkedid=CALL, Queue="seats",
                     Position="1", OriginalPosition="1", HoldTime="30"),
               event(Event="UserEvent", UserEvent=v.EVENT_QUEUE_LEFT, Uniqueid=CALL,
                     Linkedid=CALL, Status="TIMEOUT"))

    call = await _call(services)
    assert [(e.kind, e.detail) for e in call.events][-2:] == [
        ("abandon", {"queue": "seats"}), ("queue-left", {"status": "TIMEOUT"})]


async def test_an_event_without_linkedid_names_its_own_channels_call(
        services: Services) -> None:
    """hotline.callid's one rule, as the voice menu and the screen pop read it: a channel
    that gives no Linkedid is its own call (not a call with an empty id)."""
    tracker = CallTracker(services, recording_timeout=0.1)

    await feed(tracker, event(Event="UserEvent", UserEvent=v.EVENT_RECORDING, Uniqueid=CALL,
                              Channel="PJSIP/carrier-1", CallerIDNum="13812345678",
                              Recording=RECORDING, Timestamp="1795747054.9"))

    call = await _call(services)
    assert (call.caller_number, call.started_at) == ("13812345678", _utc("1795747054.9"))
    assert await _rows(services) == (1, 1, 1)


def test_event_time_from_timestamp_else_now() -> None:
    assert event_time(event(Timestamp="1795747054.917697")) == _utc("1795747054.917697")
    before = datetime.now(UTC)
    assert before <= event_time(event(Timestamp="garbage")) <= datetime.now(UTC)
    assert before <= event_time(event()) <= datetime.now(UTC)


async def test_the_hangup_judges_a_recording_the_reconciler_judged_too_early(
        services: Services, make_wav: WavWriter) -> None:
    """After an attended transfer the agent's CDR ends while the call goes on; the
    reconciler reads it and finds the file half-written. The real hang-up re-checks it."""
    events = load_events("queue_call.txt")
    tracker = CallTracker(services, recording_timeout=3.0)
    await feed(tracker, *events[:-1])
    async with session_scope(services.sessions) as session:
        await calls.finish_recording(session, RECORDING, "invalid", None, 4096)
    wav = make_wav(services.recording_file(RECORDING), 15.0)
    await feed(tracker, events[-1])
    await settle(tracker)

    [recording] = (await _call(services)).recordings
    assert (recording.status, recording.duration_seconds) == ("complete", 15.0)
    assert recording.size_bytes == wav.stat().st_size


async def test_live_calls_are_those_with_a_channel_up(services: Services) -> None:
    tracker = CallTracker(services)
    await feed(tracker,
               event(Event="Newchannel", Uniqueid=CALL, Linkedid=CALL, Channel="PJSIP/carrier-1",
                     CallerIDNum="13812345678", Timestamp="1795747054.1"),
               event(Event="Newchannel", Uniqueid="1795747060.2", Linkedid=CALL,
                     Channel="PJSIP/8001-2", CallerIDNum="8001", Timestamp="1795747060.2"))
    assert tracker.live_calls() == {CALL}

    await feed(tracker, event(Event="Hangup", Uniqueid="1795747060.2", Linkedid=CALL,
                              Channel="PJSIP/8001-2", Cause="16", Timestamp="1795747070.0"))
    assert tracker.live_calls() == {CALL}, "the caller's channel is still up"

    await feed(tracker, event(Event="Hangup", Uniqueid=CALL, Linkedid=CALL,
                              Channel="PJSIP/carrier-1", Cause="16", Timestamp="1795747080.0"))
    await settle(tracker)
    assert tracker.live_calls() == set()


# --- AMI back after a cut: the channels Asterisk no longer has are forgotten -------------

class StatusAmi:
    """The AMI client as PbxControl sees it, answering Status with a fixture reply."""

    def __init__(self, reply: list[Message] | None) -> None:
        self.reply, self.asked = reply, 0

    async def action(self, fields: dict[str, str], timeout: float | None = None) -> object:
        assert fields == {"Action": "Status"}
        self.asked += 1
        if self.reply is None:
            raise AmiNotConnected("AMI link lost before the Status reply")
        return self.reply


def control(reply: list[Message] | None) -> PbxControl:
    return PbxControl(StatusAmi(reply))  # type: ignore[arg-type]


async def test_status_reply_names_the_channels_up() -> None:
    up = await control(load_events("status_reply.txt")).channels()

    assert {u: (c.name, c.linkedid) for u, c in up.items()} == {
        "1795747099.7": ("PJSIP/carrier-00000007", "1795747099.7")}


async def test_a_call_whose_hangup_was_lost_is_ended_from_the_cdr_once_ami_is_back(
        services: Services, make_wav: WavWriter) -> None:
    """The AMI-cut fault (bench/README.md): the caller hung up while AMI was away."""
    events = load_events("queue_call.txt")
    tracker = CallTracker(services, recording_timeout=3.0)
    reconciler = Reconciler(services, tracker.live_calls)
    await feed(tracker, *events[:-2])  # the call is up with the seat; then AMI is cut
    make_wav(services.recording_file(RECORDING), 12.0)
    hangup = events[-1]
    write_cdr_line(services, hangup)  # Asterisk wrote the CDR at the hang-up nobody saw
    assert await reconciler.run() == [], "live as far as the bridge knows: left alone"

    gone = await tracker.catch_up(control(load_events("status_reply.txt")))

    assert sorted(gone) == [CALL, "1795747056.1"]
    assert tracker.live_calls() == set() and tracker._recording == {}
    assert await reconciler.run() == [CALL]  # the legs it read before, looked at again
    call = await _call(services)
    assert (call.ended_at, call.disposition) == (_utc(hangup.Timestamp), "answered")
    assert [(r.status, r.duration_seconds) for r in call.recordings] == [("complete", 12.0)]
    assert tracker._finishing == set()


async def test_catch_up_keeps_the_channels_still_up(services: Services) -> None:
    tracker = CallTracker(services)
    still = event(Event="Newchannel", Uniqueid="1795747099.7", Linkedid="1795747099.7",
                  Channel="PJSIP/carrier-00000007", CallerIDNum="13900000007",
                  Timestamp="1795747099.7")
    await feed(tracker, still, event(Event="UserEvent", UserEvent=v.EVENT_RECORDING,
                                     Uniqueid="1795747099.7", Linkedid="1795747099.7",
                                     Recording="2026/11/27/1795747099.7.wav"))

    assert await tracker.catch_up(control(load_events("status_reply.txt"))) == []
    assert tracker.live_calls() == {"1795747099.7"}
    assert set(tracker._recording) == {"1795747099.7"}


async def test_catch_up_without_an_answer_forgets_nothing(services: Services) -> None:
    tracker = CallTracker(services)
    await feed(tracker, load_events("queue_call.txt")[0])

    assert await tracker.catch_up(control(None)) == []
    assert tracker.live_calls() == {CALL}


def write_cdr_line(services: Services, hangup: Message) -> None:
    """The caller's CDR leg of queue_call.txt's call, as cdr_custom.conf writes it."""
    path = services.pbx.cdr_file
    path.parent.mkdir(parents=True, exist_ok=True)
    leg = {"linkedid": CALL, "uniqueid": CALL, "src": "13812345678", "dst": "s",
           "dcontext": "hotline-queue", "channel": "PJSIP/carrier-00000000",
           "dstchannel": "PJSIP/8001-00000001", "lastapp": "Queue",
           "start": 1795747054.917001, "answer": 1795747054.917860,
           "end": float(hangup.Timestamp), "disposition": "ANSWERED",
           "hotline_route": "queue", "hotline_recording": RECORDING, "hotline_message": ""}
    with path.open("a") as handle:
        handle.write(json.dumps(leg) + "\n")
