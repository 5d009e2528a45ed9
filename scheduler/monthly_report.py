"""The monthly analysis report (月度分析研判报告, Art. 4(7)): on the court's first working
day of a month, the month before is made into an Excel workbook in the data folder
(reports/月度分析研判报告-YYYY-MM.xlsx, the same tables as `hotline report month`) and
every active leader is told in their notices (and by SMS when they have a mobile).

Once per month: a state entry written in the same transaction as the notices marks it
done, so a restart or a second scheduler does not tell the leaders twice; a failure
before that commit makes the next run try again (the file is simply written again)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select

from hotline.db.base import session_scope
from hotline.db.models import User
from hotline.db.state import get_state, set_state
from hotline.hours import court_today, load_calendar
from hotline.notify import notify
from hotline.roles import LEADER
from reports import Period, centre_tables, save_xlsx

if TYPE_CHECKING:  # scheduler.jobs lists this job
    from scheduler.jobs import Context

EVERY_SECONDS = 3600.0
STATE_KEY = "reports.monthly.done"  # the last month made, YYYY-MM
FOLDER = "reports"
NOTICE = "{label}12368热线月度分析研判报告已生成，请在工作台“统计分析 → 月度报告”中查看。"


def report_path(data_dir: Path, period: Period) -> Path:
    return data_dir / FOLDER / f"月度分析研判报告-{period.first:%Y-%m}.xlsx"


async def monthly_report(ctx: Context) -> str | None:
    now = ctx.clock()
    today = court_today(ctx.settings, now)
    async with session_scope(ctx.sessions) as session:
        calendar = await load_calendar(session, ctx.settings, today)
        if not _first_working_day(today, calendar.is_workday):
            return None
        last_month = today.replace(day=1) - timedelta(days=1)
        period = Period.month(last_month.year, last_month.month)
        if await get_state(session, STATE_KEY) >= f"{period.first:%Y-%m}":
            return None
        tables = await centre_tables(session, ctx.settings, period, now)
        target = report_path(ctx.settings.paths.data_dir, period)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".tmp")
        save_xlsx(tables, partial)
        partial.replace(target)
        leaders = (await session.execute(
            select(User).where(User.role == LEADER, User.active.is_(True)))).scalars().all()
        for leader in leaders:
            await notify(session, leader, "report", NOTICE.format(label=period.label))
        await set_state(session, STATE_KEY, f"{period.first:%Y-%m}")
    return f"monthly report {period.first:%Y-%m}: {target.name}, {len(leaders)} leader(s) told"


def _first_working_day(today: date, is_workday: Callable[[date], bool]) -> bool:
    """Today is a working day and no earlier day of this month was one."""
    return is_workday(today) and not any(
        is_workday(today.replace(day=d)) for d in range(1, today.day))
