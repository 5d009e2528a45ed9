"""ivr.closing: each caller still waiting at closing time is redirected once."""

from __future__ import annotations

from ivr.closing import plan


def test_every_waiting_caller_is_moved_once() -> None:
    moved, kept = plan(["a", "b"], set())
    assert moved == ["a", "b"] and kept == set()


def test_a_redirect_in_progress_is_not_sent_again() -> None:
    # "a" was redirected and still shows in the queue a moment later
    moved, kept = plan(["a", "b"], {"a"})
    assert moved == ["b"] and kept == {"a"}


def test_callers_gone_from_the_queue_are_forgotten() -> None:
    moved, kept = plan(["c"], {"a", "b"})
    assert moved == ["c"] and kept == set()
