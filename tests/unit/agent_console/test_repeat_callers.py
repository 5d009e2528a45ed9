"""The desk's repeat-caller flag (issue 15): 3 calls or more in 7 days, this one included,
is flagged on the pop with the count; fewer is not. A flag only: nothing blocks."""

from __future__ import annotations

from agent_console.live import SeatCall


def _pop(recent: int) -> dict[str, object]:
    call = SeatCall(call_id="1764000000.1", caller_number="13700150004", caller_channel="",
                    agent_channel="", state="ringing", ami_time=0.0, recent_calls=recent)
    return call.view("agent")


def test_a_third_call_in_seven_days_is_flagged() -> None:
    assert _pop(2)["repeat_caller"] is False
    assert (_pop(3)["repeat_caller"], _pop(3)["recent_calls"]) == (True, 3)
