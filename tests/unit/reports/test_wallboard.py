"""The wallboard's snapshot: callers waiting now and the longest wait, seats by state,
today's figures, matters due today and overdue."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.db.base import session_scope
from hotline.db.models import AgentPresence, Call, CallEvent, Ticket
from hotline.settings import Settings
from reports import LiveQueue, LiveSeat, wallboard
from tests.unit.reports import month
from tests.unit.reports.month import NOW, local


async def test_the_wallboard_now(sessions: async_sessionmaker[AsyncSession],
                                 settings: Settings) -> None:
    async with session_scope(sessions) as session:
        p, _ = await month.add_month(session)
        # Tue Oct 27, 12:00: one caller waiting 40 s, one talking to agent A
        session.add(Call(id="w-wait", started_at=NOW - timedelta(seconds=50), route="queue"))
        session.add(Call(id="w-talk", started_at=NOW - timedelta(minutes=5), route="queue",
                         agent="sa"))
        await session.flush()
        session.add_all([
            CallEvent(call_id="w-wait", kind="queue", at=NOW - timedelta(seconds=40)),
            CallEvent(call_id="w-talk", kind="queue", at=NOW - timedelta(minutes=5)),
            CallEvent(call_id="w-talk", kind="agent", at=NOW - timedelta(minutes=4),
                      detail={"user_id": str(p.agent_a)}),
            AgentPresence(user_id=p.agent_a, state="ready"),
            AgentPresence(user_id=p.agent_b, state="paused", reason="培训"),
            # agent C finishing the last call's log (wrap-up): out of the queue, as paused
            AgentPresence(user_id=p.agent_c, state="wrap_up"),
            # due at today's closing, still open
            Ticket(reference="2610270001", type="complaint", created_at=local(23, "09:00"),
                   department_id=p.dept_1, forwarded_at=local(23, "09:00"),
                   due_at=local(27, "17:30"))])
    async with session_scope(sessions) as session:
        board = await wallboard(session, settings, NOW)

    assert (board.waiting, board.longest_wait) == (1, 40)
    assert (board.signed_in, board.free, board.on_call, board.paused) == (3, 0, 1, 2)
    assert board.paused_reasons == {"培训": 1, "after_call": 1}
    # today: two offered, one answered (still talking), none abandoned
    assert (board.offered, board.answered, board.abandoned) == (2, 1, 0)
    assert board.answer_rate == 1 / 2
    assert (board.due_today, board.overdue) == (1, 1)  # the new one; T3 (due Oct 19)
    assert not board.live


async def test_the_queue_and_the_seats_are_asterisks_when_it_answers(
        sessions: async_sessionmaker[AsyncSession], settings: Settings) -> None:
    """With the PBX's live state the database's presence rows and calls say nothing of the
    queue and the seats (here they disagree with it on purpose); today's figures stay the
    database's."""
    async with session_scope(sessions) as session:
        p, _ = await month.add_month(session)
        session.add(Call(id="w-old", started_at=NOW - timedelta(seconds=50), route="queue"))
        await session.flush()
        session.add_all([CallEvent(call_id="w-old", kind="queue", at=NOW - timedelta(seconds=40)),
                         AgentPresence(user_id=p.agent_a, state="ready")])
    live = LiveQueue(arrived=[NOW - timedelta(seconds=12), NOW - timedelta(seconds=95)],
                     seats=[LiveSeat(False, "", "idle"), LiveSeat(False, "", "in_use"),
                            LiveSeat(False, "", "ringing"), LiveSeat(True, "break", "idle"),
                            LiveSeat(True, "after_call", "idle")])
    async with session_scope(sessions) as session:
        board = await wallboard(session, settings, NOW, live)

    assert board.live and (board.waiting, board.longest_wait) == (2, 95)
    assert (board.signed_in, board.free, board.on_call, board.paused) == (5, 1, 1, 2)
    assert board.paused_reasons == {"break": 1, "after_call": 1}
    assert (board.offered, board.answered) == (1, 0)  # today's, from the database
