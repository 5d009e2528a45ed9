"""月度分析研判报告 as a PDF (/reports/monthly.pdf?month=2026-11), for those who see the
centre's figures (leaders and administrators: reports.scope). The same report the
scheduler keeps each month and `hotline report month --pdf` writes (reports/pdf.py); the
layout runs in a thread, so the console keeps answering meanwhile."""

from __future__ import annotations

import asyncio
import re
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response

from agent_console.auth import Forbidden, Principal, console, require_role
from agent_console.texts import ROLES
from hotline.db.base import session_scope
from hotline.hours import court_today
from reports import containing, parse_period, pdf, scope_of

router = APIRouter(include_in_schema=False)
Staff = Annotated[Principal, Depends(require_role(*ROLES))]
BAD_MONTH = "月份（month）应为“年-月”，如 2026-11"


@router.get("/reports/monthly.pdf")
async def monthly_pdf(request: Request, who: Staff, month: str = "", menu: bool = False
                      ) -> Response:
    """The month named (YYYY-MM), else last month. A month that is not one is refused
    (a file for another month than asked would be read as the one asked). menu=1 adds the
    voice menu's tables."""
    c = console(request)
    async with session_scope(c.sessions) as db:
        scope = await scope_of(db, who.account.id, who.account.role)
        if not scope.centre or scope.court is not None:  # the centre's calls: not a court's
            raise Forbidden("role")
        if not month:
            period = containing("month", court_today(c.settings, c.clock())).previous()
        elif re.fullmatch(r"[12]\d{3}-(0[1-9]|1[0-2])", month):
            period = parse_period("month", month)
        else:
            raise HTTPException(422, BAD_MONTH)
        report = await pdf.monthly_report(db, c.settings, period, c.clock(), menu)
    document = await asyncio.to_thread(pdf.pdf_bytes, report)
    return Response(document, media_type=pdf.PDF_TYPE, headers={
        "Content-Disposition": f"inline; filename*=UTF-8''{quote(pdf.file_name(period))}"})
