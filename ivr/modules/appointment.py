"""appointment: 预约立案, 预约调解, 约见法官 or 视频信访 as a matter the department can act on
(Art. 4(6)): its kind, the case when there is one, and the half-days the caller prefers.

The checklist of a call:

1. guidance (``offer_mediation``, filing only — Art. 4(8) 诉前引导): what pre-litigation
   mediation is; 1 asks for mediation instead (the kind becomes mediation), 2 goes on
   with the filing, no answer goes on with the filing;
2. the case (``ask_case``): the query code of the acceptance notice, or # for none; a code
   of the wrong form is asked again. It is looked up behind the call, and the caller is
   not told whether it named a case (no oracle for guessing codes);
3. the half-days: the next working days' mornings and afternoons, read out with their
   keys (1, 2, ... 9, 0), from the calendar in memory (Services.hours) — no database on
   the way; the first key stops the list, several may be pressed, then #; a key that names
   no half-day is asked again;
4. the matter is written through the bridge's writer, and its reference told.

Node parameters: appointment (the kind, hotline.catalog.APPOINTMENT_KINDS), offer_mediation
and ask_case (booleans), closing (a prompt id, said after the reference).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hotline import appointments, cases
from hotline.appointments import HalfDay
from hotline.catalog import APPOINTMENT_KINDS
from hotline.db import tickets
from hotline.db.base import utcnow
from hotline.db.models import CENTRE_COURT_ID
from hotline.hours import court_today
from ivr import say
from ivr.callflow import CallFlow
from ivr.menu import Node
from ivr.modules.common import announce_reference, check_known, check_prompts

TRIES = 3
CHOICE_TIMEOUT = 6.0
INPUT_TIMEOUT = 10.0
MAX_CASE_DIGITS = cases.QUERY_CODE_MAX_LENGTH
GUIDANCE_KEYS = {"1": "mediation", "2": "filing"}
KEY_WORDS = {"1": ["number-1"], **{k: [f"digit-{k}"] for k in "234567890"}}


def check(params: Mapping[str, Any]) -> list[str]:
    problems = check_known(params, {"appointment", "offer_mediation", "ask_case", "closing"})
    if params.get("appointment") not in APPOINTMENT_KINDS:
        problems.append(f"field 'appointment': {params.get('appointment')!r} is not one of "
                        f"{', '.join(APPOINTMENT_KINDS)}")
    for name in ("offer_mediation", "ask_case"):
        if not isinstance(params.get(name, False), bool):
            problems.append(f"field {name!r}: must be true or false")
    if params.get("offer_mediation") and params.get("appointment") != "filing":
        problems.append("field 'offer_mediation': only a filing is offered mediation first")
    return problems + check_prompts(params, "closing", required=False)


async def run(flow: CallFlow, node: Node) -> str | None:
    kind, guidance = str(node.params["appointment"]), ""
    if node.params.get("offer_mediation"):
        guidance = await _offer_mediation(flow)
        kind = "mediation" if guidance == "mediation" else kind
    case_code = await _ask_case(flow) if node.params.get("ask_case") else ""
    preferred = await _ask_half_days(flow)
    reference = await _file(flow, node, kind, preferred, case_code, guidance)
    await announce_reference(flow, reference, node.params.get("closing", ""))
    return None


async def _offer_mediation(flow: CallFlow) -> str:
    await flow.play("mediation-info", "12")
    for attempt in range(TRIES):
        prompt = "appointment-guidance" if attempt == 0 else "appointment-guidance-retry"
        key = await flow.choose([prompt], CHOICE_TIMEOUT)
        if key in GUIDANCE_KEYS:
            flow.log("appointment", {"guidance": GUIDANCE_KEYS[key]})
            return GUIDANCE_KEYS[key]
    flow.log("appointment", {"guidance": "none"})
    return "none"


async def _ask_case(flow: CallFlow) -> str:
    for attempt in range(TRIES):
        prompt = "appointment-case-input" if attempt == 0 else "appointment-case-retry"
        keyed = await flow.ask_number(prompt, INPUT_TIMEOUT, MAX_CASE_DIGITS)
        if not keyed or cases.valid_query_code(keyed):
            return keyed
    return ""


async def _ask_half_days(flow: CallFlow) -> list[HalfDay]:
    settings = flow.services.settings
    offered = appointments.offered_half_days(flow.services.hours.calendar,
                                             court_today(settings))
    if not offered:
        await flow.play("appointment-no-days")
        return []
    for attempt in range(TRIES):
        if attempt == 0:
            keyed = await flow.ask_words(_read_out(offered), "appointment-half-day-input",
                                         INPUT_TIMEOUT, len(offered))
        else:
            keyed = await flow.ask_number("appointment-half-day-retry", INPUT_TIMEOUT,
                                          len(offered))
        picked = appointments.chosen(keyed, offered)
        if picked:
            flow.log("appointment", {"half_days": " ".join(h.code for h in picked)})
            return picked
    await flow.play("appointment-half-day-none")
    return []


def _read_out(offered: list[HalfDay]) -> list[str]:
    """请选择您方便前来的时间。十二月二日，上午请按一，下午请按二；…  请按选项对应的数字键…"""
    words = ["appointment-half-days"]
    for index, half_day in enumerate(offered):
        day = half_day.day
        if half_day.half == "am" or index == 0:
            words += [*say.number(day.month), "unit-month", *say.number(day.day), "unit-day"]
        words += ["unit-morning" if half_day.half == "am" else "unit-afternoon",
                  "appointment-press", *KEY_WORDS[appointments.key_of(index)]]
    return [*words, "appointment-half-day-input"]


async def _file(flow: CallFlow, node: Node, kind: str, preferred: list[HalfDay],
                case_code: str, guidance: str) -> str:
    settings = flow.services.settings

    async def create(session: AsyncSession) -> str:
        ticket = await tickets.create_ticket(
            session, "appointment", flow.caller_number, flow.call_id, subtype=kind,
            detail={"menu_node": node.id}, timezone=settings.hours.timezone,
            court_id=flow.court_id or CENTRE_COURT_ID)
        await appointments.record_request(session, ticket, kind, preferred,
                                          case_code=case_code, guidance=guidance,
                                          now=utcnow())
        return ticket.reference
    # The caller is told the reference: it must exist first (one short wait, batched).
    reference = await flow.services.writer.run(create)
    flow.log("ticket", {"reference": reference, "type": "appointment", "kind": kind})
    return reference
