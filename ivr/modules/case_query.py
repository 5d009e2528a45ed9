"""case_query: the caller keys the query code of their case acceptance notice, or their ID
number (* for X); the case's stage, department, judge and next hearing are spoken, and can
be sent by SMS to the calling mobile (Art. 5(1)).

ID numbers are not secret, so a case found by one is spoken only to a call from the phone
of one of its parties on file; the other cases found go by SMS to the mobile on file of the
person whose ID number it is. A caller who may hear none is told that the result goes by
SMS to the party's phone, whether or not a case was found (the answer tells a stranger
nothing). Wrong codes are asked again, three tries; repeated failures from
one number lock it out of queries for a while, and many from all numbers raise an alert
(hotline.cases). Node parameter: back (the node # returns to from the SMS offer).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from hotline import cases
from hotline.db import sms, tickets
from hotline.db.models import CENTRE_COURT_ID
from hotline.sms.templates import CASE_QUERY
from hotline.timefmt import local_time
from ivr import say
from ivr.callflow import CallFlow
from ivr.menu import Node
from ivr.modules.common import announce_reference, check_known, note_query, query_locked

TRIES = 3
INPUT_TIMEOUT = 10.0
MAX_DIGITS = 20
MAX_CASES_READ = 3


def check(params: Mapping[str, Any]) -> list[str]:
    return check_known(params, {"back"})


async def run(flow: CallFlow, node: Node) -> str | None:
    settings, sessions = flow.services.settings, flow.services.sessions
    if query_locked(flow):
        await flow.play("case-query-locked")
        return None
    source = cases.case_source(settings, sessions)
    try:
        return await _ask_up_to_three_times(flow, node, source)
    except cases.CaseSourceError:  # the case-flow system did not answer
        await flow.play("case-source-down")
        return None


async def _ask_up_to_three_times(flow: CallFlow, node: Node,
                                 source: cases.CaseSource) -> str | None:
    for attempt in range(TRIES):
        prompt = "case-query-input" if attempt == 0 else "case-query-retry"
        keyed = (await flow.ask_number(prompt, INPUT_TIMEOUT, MAX_DIGITS)).replace("*", "X")
        if cases.valid_id_number(keyed):
            return await _by_id_number(flow, node, source, keyed)
        found = await source.by_query_code(keyed) if cases.valid_query_code(keyed) else None
        note_query(flow, found is not None, "a case query code")
        if found:
            return await _answer(flow, node, [found])
        if query_locked(flow):
            await flow.play("case-query-locked")
            return None
    await flow.play("case-query-failed")
    return None


async def _by_id_number(flow: CallFlow, node: Node, source: cases.CaseSource,
                        id_number: str) -> str | None:
    """Read out the cases the caller is a party to; send the others to the party."""
    found = await source.by_id_number(id_number)
    readable = [case for case in found if cases.caller_is_party(case, flow.caller_number)]
    # Only a read-out is a success: an ID number keyed from a stranger's phone counts
    # towards the lock-outs, which also bounds the SMS one phone can make us send.
    note_query(flow, bool(readable), "a case query by ID number")
    withheld = [case for case in found if case not in readable]
    if withheld:
        await _send_to_party(flow, id_number, withheld)
    if readable:
        # Not a word about the others: a co-party learns of no other case of this person.
        return await _answer(flow, node, readable)
    await flow.play("case-sms-to-party")
    return None


async def _answer(flow: CallFlow, node: Node, found: list[cases.CaseInfo]) -> str | None:
    await flow.play("case-found" if len(found) == 1 else "case-count")
    for case in found[:MAX_CASES_READ]:
        await _read_case(flow, case)
    key = await flow.choose(["case-sms-offer"], 5.0)
    if key in ("#", "*"):  # back, as # is in every menu (* as before)
        return str(node.params.get("back", "")) or None
    if key == "1":
        await _send_sms(flow, found)
    reference = await _file_ticket(flow, found)
    await announce_reference(flow, reference)
    return None


async def _read_case(flow: CallFlow, case: cases.CaseInfo) -> None:
    await flow.speak(f"案号，{case.case_number}。当前状态，{case.stage}。"
                     f"承办部门，{case.department}。承办法官，{case.judge}。", "case-details")
    if case.next_hearing is None:
        await flow.play("case-no-hearing")
        return
    local = case.next_hearing.astimezone(ZoneInfo(flow.services.settings.hours.timezone))
    await flow.play("case-hearing")
    await flow.say(say.date_(local.date()) + say.time_(local.time()))


def sms_text(found: list[cases.CaseInfo], timezone: str) -> str:
    parts = []
    for case in found[:MAX_CASES_READ]:
        hearing = local_time(case.next_hearing, timezone) or "暂无"
        parts.append(f"{case.case_number}：{case.stage}，承办部门{case.department}，"
                     f"承办法官{case.judge}，下次开庭{hearing}")
    return "【12368诉讼服务热线】" + "；".join(parts) + "。"


def sms_params(found: list[cases.CaseInfo], timezone: str) -> dict[str, str]:
    """The values of the case SMS, for a provider that sends by template (issue 19): every
    case in one value, and the first one's fields apart."""
    first = found[0]
    return {"cases": sms_text(found, timezone).removeprefix("【12368诉讼服务热线】"),
            "case_number": first.case_number, "stage": first.stage,
            "department": first.department, "judge": first.judge,
            "hearing": local_time(first.next_hearing, timezone) or "暂无"}


async def _send_to_party(flow: CallFlow, id_number: str, found: list[cases.CaseInfo]) -> None:
    numbers = cases.party_mobiles(found, id_number)
    text = sms_text(found, flow.services.settings.hours.timezone)
    params = sms_params(found, flow.services.settings.hours.timezone)
    async def queue(session: AsyncSession) -> None:
        for number in numbers:
            await sms.queue_sms(session, number, text, call_id=flow.call_id,
                                kind=CASE_QUERY, params=params)
    flow.services.writer.later(queue, f"call {flow.call_id}: the case SMS to the party")
    # Neither the number nor whose it is: the call's log is read by staff of every role.
    flow.log("sms", {"to": "party", "kind": "case_query", "count": len(numbers)})


async def _send_sms(flow: CallFlow, found: list[cases.CaseInfo]) -> None:
    if not cases.MOBILE.fullmatch(flow.caller_number):
        await flow.play("sms-not-mobile")
        return
    text = sms_text(found, flow.services.settings.hours.timezone)
    params = sms_params(found, flow.services.settings.hours.timezone)
    flow.services.writer.later(
        lambda session: sms.queue_sms(session, flow.caller_number, text, call_id=flow.call_id,
                                      kind=CASE_QUERY, params=params),
        f"call {flow.call_id}: the case SMS")
    flow.log("sms", {"to": "caller", "kind": "case_query"})
    await flow.play("sms-queued")


async def _file_ticket(flow: CallFlow, found: list[cases.CaseInfo]) -> str:
    async def create(session: AsyncSession) -> str:
        ticket = await tickets.create_ticket(
            session, "case_query", flow.caller_number, flow.call_id,
            text="；".join(c.case_number for c in found),
            detail={"answered_by": "voice menu", "cases": str(len(found))},
            timezone=flow.services.settings.hours.timezone,
            court_id=flow.court_id or CENTRE_COURT_ID)
        ticket.status = "answered"  # the voice menu answered it; nothing left to do
        return ticket.reference
    # The caller is told the reference: it must exist first (one short wait, batched).
    reference = await flow.services.writer.run(create)
    flow.log("ticket", {"reference": reference, "type": "case_query"})
    return reference
