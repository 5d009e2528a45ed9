"""The clock job (issue 16): a clock NOT synchronised by NTP raises the alert `clock`, which
administrators see in the console with every open alert and `hotline status` lists; the
next check that finds it synchronised resolves it. A clock no source can read raises
nothing: "unknown" is no evidence of a wrong time (`hotline status` says why)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from hotline import clock
from hotline.db import alerts
from hotline.db.base import session_scope

if TYPE_CHECKING:  # scheduler.jobs lists this job
    from scheduler.jobs import Context

EVERY_SECONDS = 300.0
ALERT_KIND = "clock"
ALERT_KEY = "ntp"
ALERT_TEXT = ("服务器时钟未与时间服务器同步（{detail}）：办理时限、工作时间均以此时钟为准。"
              "请检查 NTP 服务（chrony 或 systemd-timesyncd）及法院内网时间服务器。")


async def check_clock(ctx: Context) -> str | None:
    state = await asyncio.to_thread(clock.clock_state)
    return await record(ctx, state)


async def record(ctx: Context, state: clock.ClockState) -> str | None:
    """Raise or resolve the alert for what the check found; a line for the log when it
    changed."""
    async with session_scope(ctx.sessions) as session:
        if state.synchronised is False:
            changed = await alerts.raise_alert(session, ALERT_KIND, ALERT_KEY,
                                               ALERT_TEXT.format(detail=state.detail),
                                               ctx.clock())
        else:
            changed = await alerts.resolve_alert(session, ALERT_KIND, ALERT_KEY, ctx.clock())
    return f"clock {state.line()}" if changed else None
