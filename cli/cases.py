"""`hotline cases ...` and `hotline kb ...`: the local copy of the case-flow system and the
knowledge base, for administrators."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.cases import CaseImportError, ImportReport, import_cases_csv, mask_id_number
from hotline.db import cases as cases_db
from hotline.db import knowledge as knowledge_db
from hotline.db.base import run_once
from hotline.db.models import Case, KnowledgeEntry
from hotline.knowledge import KnowledgeImportError, KnowledgeReport, import_knowledge
from hotline.privacy import mask_phone
from hotline.settings import Settings


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `cases` and `kb` commands to hotline's subcommands."""
    cases = sub.add_parser("cases", help="the local copy of the court's case-flow system")
    actions = cases.add_subparsers(required=True, metavar="ACTION")
    p = actions.add_parser("import", help="import or update cases from a CSV export")
    p.add_argument("file", type=Path)
    p.set_defaults(func=cmd_cases_import)
    p = actions.add_parser("show", help="one case by its query code (ID numbers masked)")
    p.add_argument("code")
    p.set_defaults(func=cmd_cases_show)
    kb = sub.add_parser("kb", help="the knowledge base of procedural answers")
    actions = kb.add_subparsers(required=True, metavar="ACTION")
    p = actions.add_parser("import", help="import or update answers from a TOML file")
    p.add_argument("file", type=Path)
    p.set_defaults(func=cmd_kb_import)
    actions.add_parser("list", help="the active answers").set_defaults(func=cmd_kb_list)


def _in_session(settings: Settings, work: Any) -> Any:
    return run_once(settings.database_url, work)


def cmd_cases_import(settings: Settings, args: argparse.Namespace) -> int:
    async def work(session: AsyncSession) -> ImportReport:
        return await import_cases_csv(session, args.file, settings.hours.timezone)
    try:
        report: ImportReport = _in_session(settings, work)
    except CaseImportError as exc:
        print(f"hotline: {exc}", file=sys.stderr)
        return 2
    print(f"{args.file}: {report.imported} imported, {report.updated} updated, "
          f"{len(report.errors)} bad lines skipped")
    for line, problem in report.errors:
        print(f"{args.file}:{line}: {problem}", file=sys.stderr)
    return 0


def cmd_cases_show(settings: Settings, args: argparse.Namespace) -> int:
    case: Case | None = _in_session(
        settings, lambda s: cases_db.case_by_query_code(s, args.code))
    if case is None:
        print(f"no case with query code {args.code}", file=sys.stderr)
        return 1
    for label, value in _case_lines(case, settings.hours.timezone):
        print(f"{label:13} {value}")
    return 0


def _case_lines(case: Case, timezone: str) -> list[tuple[str, str]]:
    hearing = "-"
    if case.next_hearing:
        hearing = case.next_hearing.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M")
    parties = ", ".join(_party(p.id_number, p.phone) for p in case.parties) or "-"
    return [("query code", case.query_code), ("case number", case.case_number),
            ("stage", case.stage), ("department", case.department), ("judge", case.judge),
            ("next hearing", hearing), ("parties", parties)]


def _party(id_number: str, phone: str) -> str:
    return mask_id_number(id_number) + (f" ({mask_phone(phone)})" if phone else "")


def cmd_kb_import(settings: Settings, args: argparse.Namespace) -> int:
    try:
        report: KnowledgeReport = _in_session(
            settings, lambda s: import_knowledge(s, args.file))
    except KnowledgeImportError as exc:
        print(exc, file=sys.stderr)
        print("hotline: nothing imported", file=sys.stderr)
        return 2
    print(f"{args.file}: {report.imported} imported, {report.updated} updated")
    return 0


def cmd_kb_list(settings: Settings, _args: argparse.Namespace) -> int:
    entries: list[KnowledgeEntry] = _in_session(settings, knowledge_db.active_entries)
    for entry in entries:
        print(f"{entry.menu_key or '-':2} {entry.title}  [{entry.category}]")
    if not entries:
        print("the knowledge base has no active answers (hotline kb import FILE)")
    return 0
