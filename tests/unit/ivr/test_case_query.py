"""ivr.modules.case_query: who hears a case found by ID number — against a scripted AGI
session, the example case-flow export and a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from sqlalchemy import select

from hotline import cases
from hotline.db import alerts, calls
from hotline.db.base import session_scope
from hotline.db.models import QueryFailure, SmsMessage
from hotline.settings import REPO_ROOT, CasesSettings
from ivr.callflow import CallFlow
from ivr.menu import Node
from ivr.modules import case_query
from ivr.services import Services
from tests.unit.ivr.test_entry import CALL, FakeAgi

EXAMPLE = REPO_ROOT / "docs" / "cases.example.csv"
# docs/cases.example.csv: ALICE is a party to 2026030001 (with BOB) and 2026030003; her
# phone on file is ALICE_PHONE.
ALICE, BOB = "410399198001010018", "41039919751212002X"
ALICE_PHONE = "13912345678"
STRANGER = "13700000009"
NODE = Node(id="case-query", kind="action", action="case_query", params={"back": "main"})


@dataclass
class ScriptedAgi(FakeAgi):
    """FakeAgi plus the Playback that numbers and dates are said with."""

    async def exec(self, app: str, *args: str) -> None:
        self.played.append(("exec", app, ",".join(args)))


async def call_in(services: Services, caller: str, *keyed: str) -> list[str]:
    """One caller in the case query who keys `keyed`, one entry per question, then
    nothing (every later question times out); what the caller heard, by prompt label."""
    agi = ScriptedAgi(data_replies=[(k, False) for k in keyed])
    agi.headers["callerid"] = caller
    async with session_scope(services.sessions) as session:
        await cases.import_cases_csv(session, EXAMPLE)
    flow = await CallFlow.start(agi, services)  # type: ignore[arg-type]
    await case_query.run(flow, NODE)
    assert all(app == "Playback" for kind, app, _ in agi.played if kind == "exec")
    return await heard(services)


async def heard(services: Services) -> list[str]:
    await services.writer.flush()
    async with session_scope(services.sessions) as session:
        call = await calls.get_call(session, CALL)
    assert call is not None
    return [e.detail["prompt"] if e.kind == "prompt" else e.kind for e in call.events
            if e.kind in ("prompt", "say")]


async def sms_sent(services: Services) -> list[tuple[str, str]]:
    await services.writer.flush()
    async with session_scope(services.sessions) as session:
        rows = await session.execute(select(SmsMessage).order_by(SmsMessage.id))
        return [(m.to_number, m.text) for m in rows.scalars()]


async def call_log_text(services: Services) -> str:
    await services.writer.flush()
    async with session_scope(services.sessions) as session:
        call = await calls.get_call(session, CALL)
    assert call is not None
    return repr([(e.kind, e.detail) for e in call.events]) + call.menu_path


async def test_id_number_from_a_partys_phone_is_read_out(services: Services) -> None:
    heard = await call_in(services, ALICE_PHONE, ALICE)

    assert "case-count" in heard and heard.count("case-details") == 2
    assert "case-sms-to-party" not in heard
    assert await sms_sent(services) == []


async def test_a_co_partys_phone_hears_the_shared_case_only(services: Services) -> None:
    # BOB's ID from ALICE's phone: ALICE is a party of 2026030001 (BOB's only case).
    heard = await call_in(services, "+8613912345678", BOB.replace("X", "*"))

    assert "case-found" in heard and heard.count("case-details") == 1
    assert await sms_sent(services) == []


async def test_a_co_party_hears_the_shared_case_and_the_rest_goes_to_the_party(
        services: Services) -> None:
    # ALICE's ID from BOB's phone: BOB is a party of 2026030001, not of 2026030003.
    heard = await call_in(services, "13812340002", ALICE)

    assert "case-found" in heard and heard.count("case-details") == 1
    assert "case-sms-to-party" not in heard
    [(to, text)] = await sms_sent(services)
    assert to == ALICE_PHONE
    assert "（2025）豫03执89号" in text and "（2026）豫03民初1234号" not in text


async def test_id_number_from_another_phone_goes_by_sms_to_the_party(
        services: Services) -> None:
    heard = await call_in(services, STRANGER, ALICE)

    assert "case-sms-to-party" in heard
    assert not {"case-found", "case-count", "case-details", "case-hearing", "say",
                "case-sms-offer"} & set(heard)
    [(to, text)] = await sms_sent(services)
    assert to == ALICE_PHONE
    assert "（2026）豫03民初1234号" in text and "（2025）豫03执89号" in text
    logged = await call_log_text(services)
    assert ALICE_PHONE not in logged and ALICE not in logged and "party" in logged


async def test_unknown_id_number_from_another_phone_sounds_the_same(
        services: Services) -> None:
    unknown = "11010519491231002X"  # valid, on no case
    heard = await call_in(services, STRANGER, unknown)

    assert "case-sms-to-party" in heard and "case-query-retry" not in heard
    assert await sms_sent(services) == []


async def test_sms_path_counts_as_a_failure_and_does_not_clear_earlier_ones(
        services: Services) -> None:
    await call_in(services, STRANGER, "999999", ALICE)  # a wrong code, then an ID number

    async with session_scope(services.sessions) as session:
        rows = await session.execute(select(QueryFailure.caller_number))
        assert list(rows.scalars()) == [STRANGER, STRANGER]


async def test_party_without_a_mobile_on_file_gets_no_sms(services: Services) -> None:
    # 2026030004's first party has no phone, the second a landline only.
    heard = await call_in(services, STRANGER, "41039919881030004X")

    assert "case-sms-to-party" in heard
    assert await sms_sent(services) == []


async def test_query_code_is_read_out_to_any_caller_as_before(services: Services) -> None:
    heard = await call_in(services, STRANGER, "2026030002")

    assert "case-found" in heard and "case-sms-to-party" not in heard


async def test_wrong_codes_from_many_numbers_raise_one_alert(services: Services) -> None:
    services = dataclasses.replace(services, settings=dataclasses.replace(
        services.settings, cases=CasesSettings(alert_failures_per_hour=4)))
    for n in range(3):  # 3 failures each (two codes, then nothing keyed) from 3 numbers
        await call_in(services, f"1360000000{n}", "999999", "888888")

    async with session_scope(services.sessions) as session:
        [alert] = await alerts.list_open_alerts(session, cases.ALERT_KIND)
    assert "9次" in alert.message and "3个号码" in alert.message
    assert "13600000000" not in alert.message
