"""case_query: the caller keys the query code of their case acceptance notice, or their ID
number (* for X); the case's stage, department, judge and next hearing are spoken, and can
be sent by SMS to the calling mobile (Art. 5(1)).

Wrong codes are asked again, three tries; repeated failures from one number lock it out
of queries for a while (hotline.cases). Node parameter: back (the node * returns to).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from hotline import cases
from hotline.db import sms, tickets
from hotline.db.base import session_scope, utcnow
from ivr import say
from ivr.callflow import CallFlow
from ivr.menu import Node
from ivr.modules.common import announce_reference, check_known

TRIES = 3
INPUT_TIMEOUT = 10.0
MAX_DIGITS = 20
MAX_CASES_READ = 3
MOBILE = re.compile(r"1[3-9]\d{9}")


def check(params: Mapping[str, Any]) -> list[str]:
    return check_known(params, {"back"})


async def run(flow: CallFlow, node: Node) -> str | None:
    settings, sessions = flow.services.settings, flow.services.sessions
    if await _locked(flow):
        await flow.play("case-query-locked")
        return None
    source = cases.case_source(settings, sessions)
    for attempt in range(TRIES):
        found = await _ask_and_look_up(flow, source, attempt)
        if found is None:  # the case-flow system did not answer
            await flow.play("case-source-down")
            return None
        if found:
            return await _answer(flow, node, found)
        if await _locked(flow):
            await flow.play("case-query-locked")
            return None
    await flow.play("case-query-failed")
    return None


async def _ask_and_look_up(flow: CallFlow, source: cases.CaseSource,
                           attempt: int) -> list[cases.CaseInfo] | None:
    prompt = "case-query-input" if attempt == 0 else "case-query-retry"
    keyed = (await flow.ask_number(prompt, INPUT_TIMEOUT, MAX_DIGITS)).replace("*", "X")
    try:
        found = await _look_up(source, keyed)
    except cases.CaseSourceError:
        return None
    async with session_scope(flow.services.sessions) as session:
        if found:
            await cases.note_success(session, flow.caller_number)
        else:
            await cases.note_failure(session, flow.caller_number, utcnow())
    return found


async def _look_up(source: cases.CaseSource, keyed: str) -> list[cases.CaseInfo]:
    if cases.valid_id_number(keyed):
        return await source.by_id_number(keyed)
    if cases.valid_query_code(keyed):
        found = await source.by_query_code(keyed)
        return [found] if found else []
    return []


async def _locked(flow: CallFlow) -> bool:
    async with session_scope(flow.services.sessions) as session:
        return await cases.query_locked(session, flow.services.settings, flow.caller_number,
                                        utcnow())


async def _answer(flow: CallFlow, node: Node, found: list[cases.CaseInfo]) -> str | None:
    await flow.play("case-found" if len(found) == 1 else "case-count")
    for case in found[:MAX_CASES_READ]:
        await _read_case(flow, case)
    key = await flow.choose(["case-sms-offer"], 5.0)
    if key == "*":
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
        hearing = (case.next_hearing.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M")
                   if case.next_hearing else "暂无")
        parts.append(f"{case.case_number}：{case.stage}，承办部门{case.department}，"
                     f"承办法官{case.judge}，下次开庭{hearing}")
    return "【12368诉讼服务热线】" + "；".join(parts) + "。"


async def _send_sms(flow: CallFlow, found: list[cases.CaseInfo]) -> None:
    if not MOBILE.fullmatch(flow.caller_number):
        await flow.play("sms-not-mobile")
        return
    text = sms_text(found, flow.services.settings.hours.timezone)
    async with session_scope(flow.services.sessions) as session:
        await sms.queue_sms(session, flow.caller_number, text, call_id=flow.call_id)
    await flow.log("sms", {"to": "caller", "kind": "case_query"})
    await flow.play("sms-queued")


async def _file_ticket(flow: CallFlow, found: list[cases.CaseInfo]) -> str:
    async with session_scope(flow.services.sessions) as session:
        ticket = await tickets.create_ticket(
            session, "case_query", flow.caller_number, flow.call_id,
            text="；".join(c.case_number for c in found),
            detail={"answered_by": "voice menu", "cases": str(len(found))},
            timezone=flow.services.settings.hours.timezone)
        ticket.status = "answered"  # the voice menu answered it; nothing left to do
        reference = ticket.reference
    await flow.log("ticket", {"reference": reference, "type": "case_query"})
    return reference
