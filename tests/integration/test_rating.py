"""The rating after a seat's call, on the real Asterisk: a SIPp seat answers and hangs up
first, the caller is still there and hears the one-key question, keys 3 (不满意); the
rating is stored for the call and the seat, the administrators get a notice, and the call's
one recording runs on to the caller's hang-up."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import pbx
from agent_console.texts import ADMIN, AGENT
from hotline.db import presence
from hotline.db.base import session_scope, utcnow
from hotline.db.models import Notice, Rating, User
from hotline.settings import Settings
from recordings import files
from tests.integration import sipp
from tests.integration.conftest import PORTS, BridgeProcess, phone_password, port
from tests.integration.test_desk import ensure_user
from tests.integration.test_voice_menu import finished_call, go_when_heard, prompts_of
from tests.integration.test_walking_skeleton import place_call, set_mode

Sessions = async_sessionmaker[AsyncSession]
SEAT = "8002"
CALLER = "13812340015"
HANGING_UP_PHONE = sipp.SCENARIOS / "phone_hangs_up.xml"


class HangingUpPhone(sipp.Phone):
    """A registered seat phone whose agent answers, talks a few seconds and hangs up."""

    def __enter__(self) -> HangingUpPhone:
        self.proc = subprocess.Popen(
            ["sipp", self.target, "-sf", str(HANGING_UP_PHONE), "-i", "127.0.0.1",
             "-p", str(self.port), "-mp", str(self.media_port), "-nostdin", "-trace_err"],
            cwd=self.workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        sipp.wait_bound(self.port)
        self.register()
        return self


async def rating_of(sessions: Sessions, call_id: str, timeout: float = 20.0) -> Rating:
    """The call's rating, once the bridge's writer has stored it behind the call."""
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        async with session_scope(sessions) as session:
            found = (await session.execute(select(Rating).where(Rating.call_id == call_id))
                     ).scalar_one_or_none()
        if found is not None:
            return found
        await asyncio.sleep(0.2)
    raise AssertionError(f"no rating stored for call {call_id}")


async def test_seat_hangs_up_first_and_the_caller_keys_3(
        bridge: BridgeProcess, settings: Settings, sessions: Sessions, tmp_path: Path) -> None:
    seat = await ensure_user(sessions, "rating-seat", AGENT, "评价座席", SEAT)
    admin = await ensure_user(sessions, "rating-admin", ADMIN, "评价管理员", "")
    await set_mode(sessions, "open")
    ami = pbx.console_client(settings)
    await ami.connect()
    # The caller holds on (silent) until the question has started, then keys 3.
    steps = sipp.wait_go(1) + sipp.key("3", 0) + sipp.quiet(15)
    try:
        with HangingUpPhone(SEAT, await phone_password(sessions, SEAT),
                            target=f"127.0.0.1:{PORTS['sip']}", port=port(25087),
                            media_port=port(26140), workdir=tmp_path):
            # Signed in as the console signs an agent in: the queue, and who sits there.
            await ami.action({"Action": "QueueAdd", "Queue": "seats",
                              "Interface": f"PJSIP/{SEAT}", "MemberName": SEAT})
            async with session_scope(sessions) as session:
                await presence.set_presence(session, seat.id, SEAT, presence.READY, "",
                                            utcnow())
            await asyncio.sleep(1.0)  # the seat's device state settles after registering
            placed = asyncio.create_task(place_call(settings, steps, tmp_path, caller=CALLER))
            await go_when_heard(sessions, CALLER, "rating-ask", tmp_path, 1)
            result = await placed
            assert result.returncode == 0, result.output
            call = await finished_call(sessions, CALLER)
    finally:
        await ami.action({"Action": "QueueRemove", "Queue": "seats",
                          "Interface": f"PJSIP/{SEAT}"})
        await ami.close()
        await set_mode(sessions, "closed")
        async with session_scope(sessions) as session:  # the seat is free for other tests
            await presence.set_presence(session, seat.id, "", presence.OUT, "", utcnow())
            await session.execute(update(User).where(User.id == seat.id).values(extension=""))

    assert (call.route, call.agent) == ("queue", SEAT)
    kinds = [e.kind for e in call.events]
    assert kinds.index("agent") < kinds.index("rating") < kinds.index("hangup")
    heard = prompts_of(call)
    assert heard[heard.index("rating-ask"):] == ["rating-ask", "rating-thanks"]
    # Served and rated is no queue exit: the queue figures do not see it as one.
    assert "queue-left" not in kinds
    assert call.menu_path == ""

    rating = await rating_of(sessions, call.id)
    assert (rating.channel, rating.score, rating.agent_id, rating.caller_number) == (
        "call", 3, seat.id, CALLER)
    async with session_scope(sessions) as session:
        notices = (await session.execute(select(Notice).where(
            Notice.user_id == admin.id, Notice.kind == "rated"))).scalars().all()
    assert any("评价座席" in n.text and "不满意" in n.text for n in notices), notices

    # The one recording covers the whole call, the question and the thanks included.
    call = await finished_call(sessions, CALLER)
    for _ in range(50):
        if call.recordings and all(r.status != "recording" for r in call.recordings):
            break
        await asyncio.sleep(0.3)
        call = await finished_call(sessions, CALLER)
    [recording] = call.recordings
    assert recording.status == files.COMPLETE
    assert call.answered_at is not None and call.ended_at is not None
    talked = (call.ended_at - call.answered_at).total_seconds()
    assert recording.duration_seconds == pytest.approx(talked, rel=0.1)
    rated_at = next(e.at for e in call.events if e.kind == "rating")
    assert (rated_at - call.answered_at).total_seconds() < talked
