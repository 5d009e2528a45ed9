"""The monthly analysis report as a PDF, on the synthetic month (month.py): a real PDF laid
out by WeasyPrint, a CJK font embedded, and its text — read back out of the file — holds
the court's name, the period and the hand-computed figures (test_figures.py, test_excel.py).
"""

from __future__ import annotations

import dataclasses
import io
import re

from pypdf import PdfReader
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.db.base import session_scope
from hotline.settings import CourtSettings, Settings
from reports import WITH_MENU, Period, centre_tables, load_menu_calls, menu_figures, menu_table
from reports.pdf import bar_chart, court_name, line_chart, monthly_report, pdf_bytes
from tests.unit.reports import month
from tests.unit.reports.month import NOW

OCTOBER = Period.month(2026, 10)


def font_names(reader: PdfReader) -> set[str]:
    """The /BaseFont of every font the pages use, subset prefixes (ABCDEF+) dropped."""
    names: set[str] = set()
    for page in reader.pages:
        fonts = page["/Resources"].get_object().get("/Font", {})
        for ref in fonts.get_object().values():
            font = ref.get_object()
            names.add(str(font["/BaseFont"]).split("+", 1)[-1])
            for descendant in font.get("/DescendantFonts", []):
                descriptor = descendant.get_object()["/FontDescriptor"].get_object()
                assert "/FontFile2" in descriptor or "/FontFile3" in descriptor  # embedded
    return names


def text_of(document: bytes) -> str:
    reader = PdfReader(io.BytesIO(document))
    return re.sub(r"[ \t]+", " ", "\n".join(p.extract_text() for p in reader.pages))


async def test_octobers_report_as_a_pdf(sessions: async_sessionmaker[AsyncSession],
                                        settings: Settings) -> None:
    async with session_scope(sessions) as session:
        await month.add_month(session)
        report = await monthly_report(session, settings, OCTOBER, NOW)
        # the printable page's tables, made from the report's one read of the month
        assert report.tables == await centre_tables(session, settings, OCTOBER, NOW)
    report = dataclasses.replace(report, court="洛阳市中级人民法院")
    # no time asserted here (a loaded machine took 12 s to lay out this tiny month): the
    # issue's 10 s is measured by bench/reports_pdf.py
    document = pdf_bytes(report)

    assert document.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(document))
    assert any("WenQuanYi" in name or "CJK" in name for name in font_names(reader))
    text = text_of(document)
    assert "洛阳市中级人民法院" in text and "月度分析研判报告" in text
    assert "2026年10月（2026-10-01 至 2026-10-31）" in text
    # the summary: 10 calls, 4 answered by a seat, 2 abandoned; 3 of the 6 offered in
    # office hours answered; waits 15, 30, 10 and 5 s → p90 30 s; 2 on time, 1 late
    assert "本月来电总量 10 通" in text and "人工接通 4 通" in text
    assert "排队放弃 2 通" in text
    assert "工作时间接通率 50.0%（3 / 6）" in text
    assert "90%等待 30秒" in text
    assert "按期答复 2 件、逾期答复 1 件" in text
    # the tables, as the printable page has them, and the charts' Chinese labels
    assert re.search(r"接通率（%） 50\.0", text)
    assert re.search(r"立案庭 3 2 1 1 0 0", text)
    assert "座席甲" in text and "每日来电量" in text and "来电去向" in text


def test_the_court_s_name_comes_from_settings_or_says_people_s_court() -> None:
    assert court_name(Settings()) == "人民法院"
    named = dataclasses.replace(Settings(), court=CourtSettings(name="洛阳市中级人民法院"))
    assert court_name(named) == "洛阳市中级人民法院"


def test_the_charts_draw_their_values() -> None:
    bars = bar_chart([("人工接通", 4), ("排队放弃", 2)])
    # the longest bar's value sets the axis (4 → top 4): full width for 4, half for 2
    widths = [float(w) for w in re.findall(r'<rect [^>]*width="([\d.]+)"', bars)]
    assert widths[0] == 2 * widths[1] > 0
    assert "人工接通" in bars and ">2<" in bars
    line = line_chart(["1日", "2日", "3日"], [("来电总量", [0, 5, 10])])
    points = re.search(r'points="([^"]+)"', line)
    assert points is not None
    ys = [float(p.split(",")[1]) for p in points.group(1).split()]
    assert ys[0] > ys[1] > ys[2]  # rising on the page: y grows downward
    assert "来电总量" in line


async def test_the_voice_menus_tables_only_when_asked_for(
        sessions: async_sessionmaker[AsyncSession], settings: Settings) -> None:
    """The monthly report's PDF and workbook (`--menu`, `&menu=1`) end with the voice
    menu's two tables when asked, the same as the 语音菜单 page's export."""
    async with session_scope(sessions) as session:
        await month.add_month(session)
        month.add_menu_calls(session)
    async with session_scope(sessions) as session:
        plain = await monthly_report(session, settings, OCTOBER, NOW)
        report = await monthly_report(session, settings, OCTOBER, NOW, menu=True)
        assert report.tables == await centre_tables(session, settings, OCTOBER, NOW, WITH_MENU)
        assert report.tables[:4] == plain.tables
        assert report.tables[4:] == list(menu_table(menu_figures(
            await load_menu_calls(session, settings.hours.timezone, OCTOBER)), OCTOBER))
    text = text_of(pdf_bytes(report))
    assert "七、语音菜单路径使用" in text and "九、热点分析" in text
    assert "语音菜单" not in text_of(pdf_bytes(plain))
