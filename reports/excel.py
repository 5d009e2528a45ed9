"""Any report table as an Excel workbook (openpyxl): one sheet per table, its title, the
period and the filters above the Chinese headers, so a sheet read alone says what it
counts."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font

from reports.tables import Table

# Excel refuses sheet names longer than this, or with these characters.
SHEET_NAME_LIMIT = 31
FORBIDDEN = str.maketrans({c: "_" for c in "[]:*?/\\"})
HEADER_ROW = 5


def workbook(tables: Sequence[Table]) -> Workbook:
    book = Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    for table in tables:
        _sheet(book, table)
    return book


def _sheet(book: Workbook, table: Table) -> None:
    sheet = book.create_sheet(table.title.translate(FORBIDDEN)[:SHEET_NAME_LIMIT])
    period = table.period
    sheet.append([table.title])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append(["统计周期", period.full_label])
    filters = "；".join(f"{k}：{v}" for k, v in table.filters.items()) or "无"
    sheet.append(["筛选条件", filters])
    sheet.append([])
    sheet.append(list(table.headers))
    for cell in sheet[HEADER_ROW]:
        cell.font = Font(bold=True)
    for row in table.rows:
        sheet.append(list(row))
    for index, header in enumerate(table.headers, 1):
        width = max([len(str(header)) * 2, *(len(str(r[index - 1])) for r in table.rows)],
                    default=8)
        sheet.column_dimensions[sheet.cell(HEADER_ROW, index).column_letter].width = min(
            max(width + 2, 10), 40)
    sheet.freeze_panes = sheet.cell(HEADER_ROW + 1, 1)


def xlsx_bytes(tables: Sequence[Table]) -> bytes:
    out = io.BytesIO()
    workbook(tables).save(out)
    return out.getvalue()


def save(tables: Sequence[Table], path: Path) -> None:
    path.write_bytes(xlsx_bytes(tables))
