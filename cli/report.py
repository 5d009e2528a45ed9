"""`hotline report`: the analysis report's tables in a terminal or an Excel file, with the
same figures as the console's dashboard (reports/, defined in docs/metrics.md).

    hotline report month 2026-11                       calls, matters, departments, seats
    hotline report month 2026-11 --xlsx 11月.xlsx       the same, one sheet per table
    hotline report month 2026-11 --pdf 11月.pdf         the monthly analysis report (PDF)
    hotline report month 2026-11 --menu --xlsx …       with the voice menu's path tables
    hotline report departments --from 2026-11-01 --to 2026-11-15 [--xlsx FILE]
    hotline report month 2026-11 --court 2             one court's (issue 17): its matters,
                                                       departments and seats; no call table

Exit 0 when the report was made, 2 on a period that names no days or a court number that
names no court (or --court with --pdf or --menu), 1 when the PDF cannot be written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from hotline.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `report` to the `hotline` command's subparsers."""
    p = sub.add_parser("report",
                       help="the analysis report (text, Excel or PDF): month, departments")
    kinds = p.add_subparsers(dest="report_kind", required=True, metavar="{month,departments}")
    month = kinds.add_parser("month", help="the centre's figures for a month")
    month.add_argument("month", metavar="YYYY-MM")
    month.add_argument("--xlsx", type=Path, metavar="FILE", help="also save an Excel workbook")
    month.add_argument("--pdf", type=Path, metavar="FILE",
                       help="also save the monthly analysis report (月度分析研判报告) as a PDF")
    month.add_argument("--menu", action="store_true",
                       help="add the voice menu's tables (each path's use, where callers hung "
                            "up) to the text, the workbook and the PDF")
    month.add_argument("--court", type=int, metavar="N",
                       help="one court's figures (hotline courts list gives the numbers)")
    month.set_defaults(func=cmd_month)
    departments = kinds.add_parser("departments", help="the department scorecard (Art. 10)")
    departments.add_argument("--from", dest="first", required=True, metavar="YYYY-MM-DD")
    departments.add_argument("--to", dest="last", required=True, metavar="YYYY-MM-DD")
    departments.add_argument("--xlsx", type=Path, metavar="FILE",
                             help="also save an Excel workbook")
    departments.add_argument("--court", type=int, metavar="N",
                             help="one court's departments")
    departments.set_defaults(func=cmd_departments)


def cmd_month(settings: Settings, args: argparse.Namespace) -> int:
    from reports import WITH_MENU

    menu = bool(getattr(args, "menu", False))  # callers built before --menu pass none
    if getattr(args, "court", None) is not None and (menu or getattr(args, "pdf", None)):
        print("hotline report: --court 不能与 --pdf、--menu 同用（语音菜单与月度报告按全中心统计）",
              file=sys.stderr)
        return 2
    code = _report(settings, args, "month", args.month, "", WITH_MENU if menu else None)
    if code == 0 and getattr(args, "pdf", None):  # callers built before --pdf pass none
        code = _pdf(settings, args.month, args.pdf, menu)
    return code


def _pdf(settings: Settings, month: str, target: Path, menu: bool = False) -> int:
    from hotline.db.base import run_once, utcnow
    from reports import parse_period, pdf

    period = parse_period("month", month)
    now = utcnow()
    document = run_once(settings.database.url,
                        lambda session: pdf.monthly_pdf(session, settings, period, now, menu))
    try:
        pdf.save(document, target)
    except OSError as exc:
        print(f"hotline report: {target}: 无法保存（{exc.strerror}）", file=sys.stderr)
        return 1
    print(f"已保存：{target}")
    return 0


def cmd_departments(settings: Settings, args: argparse.Namespace) -> int:
    return _report(settings, args, "range", args.first, args.last, ("departments",))


def _report(settings: Settings, args: argparse.Namespace, kind: str, first: str, last: str,
            which: tuple[str, ...] | None) -> int:
    from hotline.db.base import run_once, utcnow
    from reports import centre_tables, parse_period, save_xlsx, table_text

    try:
        period = parse_period(kind, first, last)
    except ValueError as exc:
        print(f"hotline report: {first} {last}: {exc}".replace("  ", " "), file=sys.stderr)
        return 2
    now = utcnow()
    court = getattr(args, "court", None)  # callers built before --court pass none
    if court is not None and not _court_exists(settings, court):
        print(f"hotline report: --court {court}: 没有这个法院"
              "（hotline courts list 列出各法院的编号）", file=sys.stderr)
        return 2
    tables = run_once(settings.database.url,
                      lambda session: centre_tables(session, settings, period, now, which,
                                                    court))
    print("\n\n".join(table_text(t) for t in tables))
    if args.xlsx:
        save_xlsx(tables, args.xlsx)
        print(f"\n已保存：{args.xlsx}")
    return 0


def _court_exists(settings: Settings, court_id: int) -> bool:
    from hotline.db.base import run_once
    from hotline.db.courts import get_court

    async def found(session: AsyncSession) -> bool:
        return await get_court(session, court_id) is not None
    return run_once(settings.database.url, found)
