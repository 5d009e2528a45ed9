"""Pushing matter events to the court's systems (hotline.integrations, issue 19): every
[integrations] poll_seconds; a failing endpoint backs off on its own, its rows wait."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hotline import integrations

if TYPE_CHECKING:  # scheduler.jobs lists this job
    from scheduler.jobs import Context


async def deliver(ctx: Context) -> str | None:
    return await integrations.deliver(ctx.sessions, ctx.settings, ctx.clock)
