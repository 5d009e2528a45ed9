"""The voice menu offers the court (issue 17) when more than one is active: a key per
court in their order (hotline.courts.menu_keys, in the bridge's memory like the
directory), asked before the menu; the call record keeps the choice and the voice
messages left on the call are that court's matters. With one court nothing is asked."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import update

from hotline.db import callwrites as w
from hotline.db.base import session_scope, utcnow
from hotline.db.cases import upsert_case
from hotline.db.courts import CourtFields, save_court
from hotline.db.models import Court, QueryFailure, Ticket
from ivr.callflow import CallFlow
from ivr.menu import Node
from ivr.modules import court, voice_ticket
from ivr.services import Services
from tests.unit.ivr.test_entry import CALL, FakeAgi, entry, force_mode, the_call


@pytest.fixture(autouse=True)
def no_synthesis(monkeypatch: pytest.MonkeyPatch) -> None:
    """The list is spoken through cached synthesis (espeak-ng); here it is only named."""
    async def named(flow: CallFlow, text: str) -> str:
        spoken.append(text)
        return "tts/court-list"
    spoken: list[str] = []
    monkeypatch.setattr(CallFlow, "_tts", named)


async def _two_courts(services: Services) -> int:
    async with session_scope(services.sessions) as db:
        await db.execute(update(Court).where(Court.id == 1).values(short_name="洛阳中院",
                                                                   case_prefix="豫03"))
        xigong = await save_court(db, CourtFields("洛阳市西工区人民法院", "西工区法院",
                                                  case_prefix="豫0303"))
    async with session_scope(services.sessions) as db:
        assert await services.courts.refresh(db)
    return xigong.id


async def test_the_keys_follow_the_courts_and_are_reloaded(services: Services) -> None:
    async with session_scope(services.sessions) as db:
        assert await services.courts.refresh(db)
        assert not services.courts.offered(), "one court: nothing to offer"
    xigong = await _two_courts(services)
    assert {k: c.id for k, c in services.courts.by_key.items()} == {"1": 1, "2": xigong}
    assert court.menu_sentence({k: c.label for k, c in services.courts.by_key.items()}) == (
        "您要联系的法院：洛阳中院请按一，西工区法院请按二，按案号或查询码查找请按九，重听请按星号键。")
    async with session_scope(services.sessions) as db:
        assert not await services.courts.refresh(db), "unchanged: not reloaded"
        await db.execute(update(Court).where(Court.id == xigong).values(active=False))
    async with session_scope(services.sessions) as db:
        assert await services.courts.refresh(db) and not services.courts.offered()


async def test_the_caller_chooses_the_court_before_the_menu(services: Services,
                                                            tmp_path: Path) -> None:
    xigong = await _two_courts(services)
    await force_mode(services, "closed")
    seen: list[int | None] = []

    async def note(flow: CallFlow, node: Node) -> str | None:
        seen.append(flow.court_id)
        return None
    handler, _ = entry(services, tmp_path, action=note)
    agi = FakeAgi(data_replies=[("*", False), ("2", False)], stream_keys=["1"])

    await handler.handle(agi)  # type: ignore[arg-type]

    assert agi.prompts()[:2] == ["court-list", "court-list"], "* asks again"
    assert seen == [xigong], "the menu's actions know the court"
    assert (await the_call(services)).court_id == xigong


async def test_silence_is_the_centres_court_at_once(services: Services) -> None:
    await _two_courts(services)
    agi = FakeAgi(data_replies=[("", True), ("2", False)])
    flow = CallFlow(agi, services, CALL, "13812345678")  # type: ignore[arg-type]

    await court.ask(flow)

    assert flow.court_id is None and agi.prompts() == ["court-list"], "asked once"


async def test_one_court_asks_nothing(services: Services, tmp_path: Path) -> None:
    async with session_scope(services.sessions) as db:
        await services.courts.refresh(db)
    await force_mode(services, "closed")
    handler, ran = entry(services, tmp_path)
    agi = FakeAgi(stream_keys=["1"])

    await handler.handle(agi)  # type: ignore[arg-type]

    assert "court-list" not in agi.prompts() and ran == ["act"]
    assert (await the_call(services)).court_id is None


async def test_a_voice_message_is_the_chosen_courts_matter(services: Services) -> None:
    xigong = await _two_courts(services)
    services.writer.write(w.ensure(CALL, caller_number="13812345678"))
    flow = CallFlow(FakeAgi(), services, CALL, "13812345678")  # type: ignore[arg-type]
    flow.court_id = xigong
    node = Node(id="message", kind="action", action="voice_ticket",
                params={"ticket_type": "callback"})

    reference = await voice_ticket._file_ticket(flow, node, "messages/x.wav")

    async with session_scope(services.sessions) as db:
        ticket = (await db.execute(Ticket.__table__.select().where(
            Ticket.reference == reference))).one()
    assert ticket.court_id == xigong


async def test_nine_then_a_case_numbers_digits_find_its_court(services: Services) -> None:
    xigong = await _two_courts(services)
    services.writer.write(w.ensure(CALL, caller_number="13812345678"))
    # （2026）豫0303民初12号 keyed as its digits; 豫03 is a court too, but 0312 is no serial
    agi = FakeAgi(data_replies=[("9", False), ("2026030312", False)])
    flow = CallFlow(agi, services, CALL, "13812345678")  # type: ignore[arg-type]

    await court.ask(flow)

    assert agi.prompts() == ["court-list", "court-case-input"]
    assert flow.court_id == xigong and (await the_call(services)).court_id == xigong
    events = [e.detail for e in (await the_call(services)).events if e.kind == "court"]
    assert events == [{"court": str(xigong), "name": "西工区法院", "by": "case number"}]


async def test_nine_then_a_query_code_finds_its_cases_court(services: Services) -> None:
    xigong = await _two_courts(services)
    async with session_scope(services.sessions) as db:
        # the code's digits would read as 豫03's case: the known code wins
        await upsert_case(db, "2026031234", case_number="（2026）豫0303民初7号")
    agi = FakeAgi(data_replies=[("9", False), ("2026031234", False)])
    flow = CallFlow(agi, services, CALL, "13812345678")  # type: ignore[arg-type]

    await court.ask(flow)

    assert flow.court_id == xigong


async def test_a_number_naming_no_court_is_asked_again_then_the_list(
        services: Services) -> None:
    xigong = await _two_courts(services)
    # 豫0301 is no court of ours; silence; an unknown code; then the list again: 2
    agi = FakeAgi(data_replies=[("9", False), ("2026030112", False), ("", True),
                                ("99999999", False), ("2", False)])
    flow = CallFlow(agi, services, CALL, "13812345678")  # type: ignore[arg-type]

    await court.ask(flow)

    assert agi.prompts() == ["court-list", "court-case-input", "court-case-retry",
                             "court-case-retry", "court-case-failed", "court-list"]
    assert flow.court_id == xigong
    await services.writer.flush()
    async with session_scope(services.sessions) as db:
        failures = (await db.execute(QueryFailure.__table__.select())).all()
    assert len(failures) == 2, "two wrong numbers count towards the lock-out; silence not"
    assert services.lockout.locked("13812345678", utcnow()) is False


async def test_a_locked_out_number_is_not_looked_up_as_a_query_code(
        services: Services) -> None:
    await _two_courts(services)
    async with session_scope(services.sessions) as db:
        await upsert_case(db, "2026031234", case_number="（2026）豫0303民初7号")
    for _ in range(20):
        services.lockout.note("13812345678", False, utcnow())
    assert services.lockout.locked("13812345678", utcnow())
    agi = FakeAgi(data_replies=[("9", False), ("2026031234", False)])
    flow = CallFlow(agi, services, CALL, "13812345678")  # type: ignore[arg-type]

    await court.ask(flow)

    assert flow.court_id == 1, "read as a case number only: 豫03's case 1234"
