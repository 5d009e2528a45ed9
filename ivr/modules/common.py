"""Steps several voice-menu actions share: telling the caller their reference number."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hotline.prompts import manifest
from ivr import say
from ivr.callflow import CallFlow


async def announce_reference(flow: CallFlow, reference: str, closing: str = "") -> None:
    """受理编号 read twice, digit by digit, then what happens next."""
    await flow.play("ticket-created")
    await flow.say(say.digits(reference))
    if closing:
        await flow.play(closing)
    await flow.play("reference-repeat")
    await flow.say(say.digits(reference))


def check_prompts(params: Mapping[str, Any], *names: str, required: bool = True) -> list[str]:
    """Problems with prompt-id parameters (missing, or not in the manifest)."""
    known = set(manifest())
    problems = []
    for name in names:
        value = params.get(name)
        if value is None:
            if required:
                problems.append(f"field {name!r}: required")
        elif value not in known:
            problems.append(f"field {name!r}: no prompt {value!r} in the prompt manifest")
    return problems


def check_known(params: Mapping[str, Any], allowed: set[str]) -> list[str]:
    unknown = sorted(set(params) - allowed)
    return [f"unknown field(s) {unknown}"] if unknown else []
