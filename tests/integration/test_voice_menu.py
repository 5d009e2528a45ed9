"""After hours: every self-service path of the Mandarin voice menu, through the real
Asterisk, with RFC 4733 keys from a SIPp caller (Art. 1, 3, 4, 5(1)-(5)).

Prompts interrupt on a key, so a test presses its key a moment after the prompt starts;
sentences that cannot be interrupted (readouts, confirmations) are waited out, their length
read from the prompt files themselves.
"""

from __future__ import annotations

import asyncio
import wave
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.db import calls
from hotline.db.base import session_scope
from hotline.db.models import Call, SmsMessage, Ticket
from hotline.settings import Settings
from pbx import instance_for
from recordings import files
from tests.integration import sipp
from tests.integration.conftest import BridgeProcess
from tests.integration.test_walking_skeleton import place_call, set_mode

QUERY_CODE = "2026030001"  # docs/cases.example.csv
MOBILE = "13912345678"
# docs/cases.example.csv: a party to two cases, whose phone on file is MOBILE
PARTY_ID_NUMBER = "410399198001010018"


@pytest.fixture(autouse=True)
async def after_hours(bridge: BridgeProcess, sessions: async_sessionmaker[AsyncSession],
                      cases_imported: None) -> None:
    await set_mode(sessions, "closed")


def seconds(settings: Settings, prompt: str) -> float:
    with wave.open(str(instance_for(settings).sounds_dir / "zh" / f"{prompt}.wav")) as audio:
        return audio.getnframes() / audio.getframerate()


def keys(text: str, gap: float = 0.3) -> str:
    return "".join(sipp.key(k, gap) for k in text)


def press_every(key: str, interval: float, total: float) -> str:
    return "".join(sipp.key(key, interval) for _ in range(int(total / interval)))


async def finished_call(sessions: async_sessionmaker[AsyncSession], caller: str) -> Call:
    """The caller's newest call, once the bridge has seen it end."""
    for _ in range(100):
        async with session_scope(sessions) as session:
            rows = await session.execute(select(Call.id).where(Call.caller_number == caller)
                                         .order_by(Call.started_at.desc()).limit(1))
            call = await calls.get_call(session, rows.scalar_one())
        if call is not None and call.ended_at is not None:
            return call
        await asyncio.sleep(0.2)
    raise AssertionError(f"no ended call from {caller}")


async def go_when_heard(sessions: async_sessionmaker[AsyncSession], caller: str, prompt: str,
                        workdir: Path, mark: int, times: int = 1, timeout: float = 60.0,
                        settle: float = 0.0) -> None:
    """Let the caller waiting at sipp.wait_go(mark) go on once their call, still up, has
    started `prompt` (the `times`-th time): keys then land while the menu listens, however
    slow the machine. The bridge notes a prompt as it asks Asterisk to play it; a key that
    reaches Asterisk before the playing starts is dropped (AGI reads nothing between its
    commands), so a call's first prompt, which a loaded Asterisk may be slow to start, is
    given `settle` seconds more (well inside a long prompt such as office-menu's 6 s)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        heard = await live_prompts(sessions, caller)
        if sipp.waiting(workdir, mark) and heard.count(prompt) >= times:
            await asyncio.sleep(settle)
            await asyncio.to_thread(sipp.go, workdir, mark)
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{caller} never heard {prompt} while waiting at mark {mark}")


async def live_prompts(sessions: async_sessionmaker[AsyncSession], caller: str) -> list[str]:
    async with session_scope(sessions) as session:
        rows = await session.execute(select(Call.id).where(Call.caller_number == caller,
                                                           Call.ended_at.is_(None)))
        found = [await calls.get_call(session, call_id) for call_id in rows.scalars()]
    return [prompt for call in found if call is not None for prompt in prompts_of(call)]


def prompts_of(call: Call) -> list[str]:
    return [e.detail["prompt"] for e in call.events if e.kind == "prompt"]


async def tickets_of(sessions: async_sessionmaker[AsyncSession], call: Call) -> list[Ticket]:
    """The call's tickets; a ticket filed as the caller hangs up may land a moment later."""
    for _ in range(25):
        async with session_scope(sessions) as session:
            rows = await session.execute(select(Ticket).where(Ticket.call_id == call.id))
            found = list(rows.scalars())
        if found:
            return found
        await asyncio.sleep(0.2)
    return []


async def test_case_query_by_code_read_out_and_sent_by_sms(
        settings: Settings, sessions: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    steps = (sipp.wait_go(1) + sipp.key("1", 0)           # 1 during the welcome
             + sipp.wait_go(2) + keys(QUERY_CODE + "#")      # the code, ended by #
             + sipp.wait_go(3) + sipp.key("1", 0)            # 1 = "send it by SMS" when asked
             + sipp.speak(40))                               # the reference number, goodbye
    placed = asyncio.create_task(place_call(settings, steps, tmp_path, caller=MOBILE))
    await go_when_heard(sessions, MOBILE, "welcome", tmp_path, 1)
    await go_when_heard(sessions, MOBILE, "case-query-input", tmp_path, 2)
    await go_when_heard(sessions, MOBILE, "case-sms-offer", tmp_path, 3)
    result = await placed
    assert result.returncode == 0, result.output

    call = await finished_call(sessions, MOBILE)
    heard = prompts_of(call)
    for prompt in ("welcome", "case-query-input", "case-found", "case-details", "case-hearing",
                   "case-sms-offer", "sms-queued", "ticket-created", "goodbye"):
        assert prompt in heard, (prompt, heard)
    assert call.menu_path.startswith("1,")
    assert QUERY_CODE not in call.menu_path  # the code is personal data: never in the log
    [ticket] = await tickets_of(sessions, call)
    assert (ticket.type, ticket.status) == ("case_query", "answered")
    assert "（2026）豫03民初1234号" in ticket.text
    async with session_scope(sessions) as session:
        sms = (await session.execute(select(SmsMessage).where(SmsMessage.call_id == call.id)))
        [message] = sms.scalars()
    assert message.to_number == MOBILE and "豫03民初1234号" in message.text


async def test_case_query_by_id_number_from_a_strangers_phone_goes_by_sms_to_the_party(
        settings: Settings, sessions: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    caller = "13700000003"  # not a party's phone
    steps = (sipp.wait_go(1) + sipp.key("1", 0)                   # 1 during the welcome
             + sipp.wait_go(2) + keys(PARTY_ID_NUMBER + "#")      # the ID number, ended by #
             + sipp.quiet(60))                                    # until the hotline hangs up
    placed = asyncio.create_task(place_call(settings, steps, tmp_path, caller=caller))
    await go_when_heard(sessions, caller, "welcome", tmp_path, 1)
    await go_when_heard(sessions, caller, "case-query-input", tmp_path, 2)
    result = await placed
    assert result.returncode == 0, result.output

    call = await finished_call(sessions, caller)
    heard = prompts_of(call)
    assert "case-sms-to-party" in heard and "goodbye" in heard, heard
    assert not {"case-found", "case-count", "case-details", "case-hearing",
                "case-sms-offer"} & set(heard), heard
    async with session_scope(sessions) as session:
        sms = (await session.execute(select(SmsMessage).where(SmsMessage.call_id == call.id)))
        [message] = sms.scalars()
    assert message.to_number == MOBILE  # the party's phone on file, not the caller's
    assert "豫03民初1234号" in message.text and "豫03执89号" in message.text
    logged = repr([e.detail for e in call.events]) + call.menu_path
    assert PARTY_ID_NUMBER not in logged and MOBILE not in logged


async def test_wrong_codes_lock_the_number_out(
        settings: Settings, sessions: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    caller = "13700000001"
    wrong = (sipp.wait_go(1) + sipp.key("1", 0) + sipp.wait_go(2) + keys("999999#")
             + sipp.wait_go(3) + keys("888888#") + sipp.wait_go(4) + keys("777777#")
             + sipp.speak(seconds(settings, "case-query-locked") + 20))
    placed = asyncio.create_task(place_call(settings, wrong, tmp_path, caller=caller))
    await go_when_heard(sessions, caller, "welcome", tmp_path, 1)
    await go_when_heard(sessions, caller, "case-query-input", tmp_path, 2)
    await go_when_heard(sessions, caller, "case-query-retry", tmp_path, 3)
    await go_when_heard(sessions, caller, "case-query-retry", tmp_path, 4, times=2)
    result = await placed
    assert result.returncode == 0, result.output
    first = await finished_call(sessions, caller)
    assert "case-query-locked" in prompts_of(first)  # third wrong code (lockout_failures = 3)

    again = (sipp.wait_go(1) + sipp.key("1", 0)
             + sipp.speak(seconds(settings, "case-query-locked") + 20))
    workdir = tmp_path / "again"
    workdir.mkdir()
    placed = asyncio.create_task(place_call(settings, again, workdir, caller=caller))
    await go_when_heard(sessions, caller, "welcome", workdir, 1)
    await placed
    second = await finished_call(sessions, caller)
    heard = prompts_of(second)
    assert "case-query-locked" in heard and "case-query-input" not in heard


async def test_consultation_from_the_knowledge_base(
        settings: Settings, sessions: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    caller = "13700000002"
    steps = (sipp.key("2", 1.5) + sipp.speak(seconds(settings, "kb-intro") + 1.5)
             + sipp.key("3", 2.0) + sipp.key("#", 2.0) + sipp.speak(25))
    result = await place_call(settings, steps, tmp_path, caller=caller)
    assert result.returncode == 0, result.output
    call = await finished_call(sessions, caller)
    heard = prompts_of(call)
    assert "kb-intro" in heard and "kb-menu" in heard
    assert "kb-answer:上诉期限" in heard
    [ticket] = await tickets_of(sessions, call)
    assert ticket.type == "consultation" and "上诉期限" in ticket.text


@pytest.mark.parametrize(("menu_keys", "intro", "ticket_type", "subtype"), [
    ("0", "message-intro", "callback", ""),
    ("61", "mediation-intro", "mediation", ""),
    ("4", "suggestion-intro", "suggestion", ""),
])
async def test_voice_ticket_with_playback_and_confirmation(
        settings: Settings, sessions: async_sessionmaker[AsyncSession], tmp_path: Path,
        menu_keys: str, intro: str, ticket_type: str, subtype: str) -> None:
    caller = f"1370000{10 + len(menu_keys) * 10 + int(menu_keys[-1]):04d}"
    steps = "".join(sipp.key(k, 1.5) for k in menu_keys)
    steps += sipp.speak(seconds(settings, intro) + 1.0)   # the intro, then the beep
    steps += sipp.speak(4) + sipp.key("#", 1.0)           # the message, ended by #
    steps += press_every("1", 1.0, 30)                    # 1 = keep it, when played back
    result = await place_call(settings, steps, tmp_path, caller=caller)
    assert result.returncode == 0, result.output

    call = await finished_call(sessions, caller)
    heard = prompts_of(call)
    for prompt in (intro, "record-playback", "ticket-created"):
        assert prompt in heard, (prompt, heard)
    [ticket] = await tickets_of(sessions, call)
    assert (ticket.type, ticket.subtype, ticket.status) == (ticket_type, subtype, "open")
    assert len(ticket.reference) == 10 and ticket.caller_number == caller
    audio = files.probe(instance_for(settings).recordings_dir / ticket.audio_path)
    assert audio.status == files.COMPLETE
    # From the beep to the #: the rest of the intro wait, 4 s of speech, the key.
    assert audio.duration_seconds == pytest.approx(1.5 + 0.16 + 1.0 + 4.0 - 0.3, abs=0.8)


async def test_complaint_left_by_hanging_up_is_kept(
        settings: Settings, sessions: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    caller = "13700000099"
    # 3: complaints; 1: not about the court's staff (2 is, test_blocked_caller.py)
    steps = (sipp.key("3", 1.5) + sipp.key("1", 1.5)
             + sipp.speak(seconds(settings, "complaint-intro") + 1.0)
             + sipp.speak(4))                              # says it, then hangs up
    result = await place_call(settings, steps, tmp_path, caller=caller)
    assert result.returncode == 0, result.output
    call = await finished_call(sessions, caller)
    [ticket] = await tickets_of(sessions, call)
    assert ticket.type == "complaint" and ticket.detail["hung_up"] == "yes"
    assert files.probe(instance_for(settings).recordings_dir / ticket.audio_path).status == "complete"


async def test_invalid_key_and_silence_end_in_a_message_not_silence(
        settings: Settings, sessions: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    caller = "13700000098"
    wait = seconds(settings, "main-menu-retry") + 6 + 1
    steps = (sipp.key("9", 1.5) + sipp.speak(2 * wait)
             + sipp.speak(seconds(settings, "menu-to-message") + 2))
    result = await place_call(settings, steps, tmp_path, caller=caller)
    assert result.returncode == 0, result.output
    call = await finished_call(sessions, caller)
    heard = prompts_of(call)
    assert heard[:2] == ["welcome", "main-menu-retry"]  # 9 is not a choice: asked again
    assert heard.count("main-menu-retry") == 2           # three tries in all
    assert "menu-to-message" in heard and "message-intro" in heard
    menu = [e.detail for e in call.events if e.kind == "menu"]
    assert menu[0]["key"] == "9" and [m["timeout"] for m in menu[1:3]] == ["yes", "yes"]
