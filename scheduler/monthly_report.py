"""The monthly analysis report (月度分析研判报告, Art. 4(7)): on the court's first working
day of a month, the month before is made into an Excel workbook in the data folder
(reports/月度分析研判报告-YYYY-MM.xlsx, the same tables as `hotline report month`) and
every active leader is told in their notices (and by SMS when they have a mobile).

Once per month: a state entry written in the same transaction as the notices marks it
done, so a restart or a second scheduler does not tell the leaders twice; a failure
before that commit makes the next run try again (the file is simply written again)."""

from __future__ import annotations

import asyncio
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
from reports import Period, pdf, save_xlsx

if TYPE_CHECKING:  # scheduler.jobs lists this job
    from scheduler.jobs import Context

EVERY_SECONDS = 3600.0
STATE_KEY = "reports.monthly.done"  # the last month made, YYYY-MM
FOLDER = "reports"
NOTICE = ("{label}12368热线月度分析研判报告已生成（{file}），请在工作台“统计分析 → 月度报告”"
          "中查看，PDF：/reports/monthly.pdf?month={month}")


def report_path(data_dir: Path, period: Period, suffix: str = ".xlsx") -> Path:
    return data_dir / FOLDER / pdf.file_name(period, suffix)


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
        report = await pdf.monthly_report(session, ctx.settings, period, now)
        # the layout takes seconds of CPU: the other jobs keep their turns meanwhile
        document = await asyncio.to_thread(pdf.pdf_bytes, report)
        target = report_path(ctx.settings.paths.data_dir, period, ".pdf")
        target.parent.mkdir(parents=True, exist_ok=True)
        pdf.save(document, target)
        sheet = report_path(ctx.settings.paths.data_dir, period)
        partial = sheet.with_suffix(".tmp")
        save_xlsx(report.tables, partial)
        partial.replace(sheet)
        leaders = (await session.execute(
            select(User).where(User.role == LEADER, User.active.is_(True)))).scalars().all()
        text = NOTICE.format(label=period.label, file=target.name,
                             month=f"{period.first:%Y-%m}")
        for leader in leaders:
            await notify(session, leader, "report", text)
        await set_state(session, STATE_KEY, f"{period.first:%Y-%m}")
    return f"monthly report {period.first:%Y-%m}: {target.name}, {len(leaders)} leader(s) told"


def _first_working_day(today: date, is_workday: Callable[[date], bool]) -> bool:
    """Today is a working day and no earlier day of this month was one."""
    return is_workday(today) and not any(
        is_workday(today.replace(day=d)) for d in range(1, today.day))
