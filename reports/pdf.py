"""The monthly analysis report (月度分析研判报告, Art. 4(7)) as a PDF in Chinese: the tables
of the printable console page (those of reports.monthly.centre_tables), its hot topics and
repeat callers, a summary, and charts drawn here as SVG (a PDF runs no script). WeasyPrint
lays it out with Debian's pango and embeds the CJK font (fonts-wqy-microhei,
scripts/setup.sh), so the file reads the same on a PC without Chinese fonts.

The figures are the dashboard's functions (docs/metrics.md); the charts only group the same
predicates by day and by hour. The console (/reports/monthly.pdf), `hotline report month
--pdf` and the scheduler's monthly job all make it with monthly_report() and pdf_bytes().
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.catalog import TICKET_TYPES
from hotline.settings import Settings
from hotline.timefmt import local_time
from reports.calls import CallFigures
from reports.figures import period_figures, period_figures_by_day
from reports.matters import MatterFigures
from reports.monthly import DEFAULT_TABLES, menu_tables, scorecard_tables
from reports.period import Period
from reports.tables import Table, call_table, matter_table
from reports.topics import Topic, hot_topics_apart, load_texts, repeat_caller_count, stop_words

TEMPLATES = Path(__file__).parent / "templates"
# The court's name when hotline.toml names none (a [court] name setting is proposed).
DEFAULT_COURT = "人民法院"
TOP_TOPICS = 10
# The fonts the report asks for, first found wins; setup.sh installs the first.
FONTS = '"WenQuanYi Micro Hei", "Noto Sans CJK SC", "Noto Sans SC", sans-serif'
PDF_TYPE = "application/pdf"


def court_name(settings: Settings) -> str:
    """The court's name as its reports print it: [court] name, when the settings have it."""
    return settings.court.name or DEFAULT_COURT


def file_name(period: Period, suffix: str = ".pdf") -> str:
    return f"月度分析研判报告-{period.first:%Y-%m}{suffix}"


@dataclass(frozen=True)
class MonthlyReport:
    """Everything the report prints, computed before any layout."""

    court: str
    period: Period
    made: str  # when, in the court's time ("YYYY-MM-DD HH:MM")
    calls: CallFigures
    matters: MatterFigures
    tables: list[Table]
    words: list[Topic]
    cases: list[Topic]
    repeats: int  # numbers that called 3 times or more within 7 days
    daily: list[tuple[str, int, int]]  # day label, received, answered
    hourly: list[int]  # received calls by hour of the court's day


async def monthly_report(session: AsyncSession, settings: Settings, period: Period,
                         now: datetime, menu: bool = False) -> MonthlyReport:
    """The month's figures: the printable page's tables, hot topics and repeat callers,
    and what the charts draw; with menu, the voice menu's two tables after the others."""
    tz = settings.hours.timezone
    # The tables are centre_tables' — the same figure and table functions, in its order (a
    # test holds them equal): calls, matters and the daily chart from the daily roll-ups,
    # the scorecard from the month's forwarded matters, the seats and the repeat callers
    # from narrow queries; no call of the month is read one by one.
    (calls, matters), heat, daily = await period_figures_by_day(session, settings, period, now)
    (before, _), _ = await period_figures(session, settings, period.previous(), now)
    tables = [call_table(calls, period, before), matter_table(matters, period),
              *await scorecard_tables(session, settings, period, now, DEFAULT_TABLES)]
    if menu:
        tables += await menu_tables(session, settings, period)
    words, cases = await hot_topics_apart(await load_texts(session, period, tz),
                                          stop_words(settings.paths.data_dir))
    return MonthlyReport(
        court=court_name(settings), period=period, made=local_time(now, tz),
        calls=calls, matters=matters, tables=tables,
        words=words[:TOP_TOPICS], cases=cases[:TOP_TOPICS],
        repeats=await repeat_caller_count(session, period, tz),
        daily=[(f"{day.day}日", received, answered) for day, received, answered in daily],
        hourly=[sum(day[hour] for day in heat) for hour in range(24)])


# --- charts: small SVG, drawn here ------------------------------------------------------

COLOURS = ("#2f6db5", "#e08a1e", "#3a9b5c", "#c0392b", "#7d5ba6")
WIDTH = 680


def _nice_top(value: float, steps: int = 4) -> tuple[float, float]:
    """An axis top at or above `value` in `steps` round steps (1, 2 or 5 × 10ⁿ, at least 1:
    the charts count calls and matters)."""
    raw = max(value, 1) / steps
    power = max(1, 10 ** math.floor(math.log10(raw)))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    return step * steps, step


def _svg(height: int, body: list[str]) -> Markup:
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" font-family=\'{FONTS}\' font-size="11">'
        + "".join(body) + "</svg>")


def bar_chart(items: Sequence[tuple[str, float]]) -> Markup:
    """Horizontal bars, one per (label, value), the value written at the bar's end; the
    largest fills the width."""
    label_width, row, top_pad = 170, 24, 6
    top = max((v for _, v in items), default=0)
    span = WIDTH - label_width - 60
    body: list[str] = []
    for i, (label, value) in enumerate(items):
        y = top_pad + i * row
        length = span * value / top if top else 0
        body += [
            f'<text x="{label_width - 8}" y="{y + 15}" text-anchor="end">{escape(label)}</text>',
            f'<rect x="{label_width}" y="{y + 3}" width="{length:.1f}" height="{row - 8}" '
            f'fill="{COLOURS[0]}"/>',
            f'<text x="{label_width + length + 5:.1f}" y="{y + 15}">{_number(value)}</text>']
    return _svg(top_pad * 2 + row * max(len(items), 1), body)


def line_chart(labels: Sequence[str], series: Sequence[tuple[str, Sequence[int]]],
               every: int = 1) -> Markup:
    """Lines over the labels (days, hours), a labelled y axis, a legend; every n-th label
    written under the x axis."""
    left, right, top_pad, bottom, height = 50, 20, 30, 28, 240
    plot_w, plot_h = WIDTH - left - right, height - top_pad - bottom
    top, step = _nice_top(max((max(v, default=0) for _, v in series), default=0))
    gap = plot_w / max(len(labels) - 1, 1)

    def y_of(value: float) -> float:
        return top_pad + plot_h - plot_h * value / top

    body: list[str] = []
    for k in range(round(top / step) + 1):
        y = y_of(k * step)
        body += [f'<line x1="{left}" y1="{y:.1f}" x2="{WIDTH - right}" y2="{y:.1f}" '
                 'stroke="#ccc" stroke-width="0.6"/>',
                 f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">'
                 f'{_number(k * step)}</text>']
    for i, label in enumerate(labels):
        if i % every == 0:
            body.append(f'<text x="{left + i * gap:.1f}" y="{height - 10}" '
                        f'text-anchor="middle">{escape(label)}</text>')
    for n, (name, values) in enumerate(series):
        colour = COLOURS[n % len(COLOURS)]
        points = " ".join(f"{left + i * gap:.1f},{y_of(v):.1f}" for i, v in enumerate(values))
        body += [f'<polyline points="{points}" fill="none" stroke="{colour}" '
                 'stroke-width="1.8"/>',
                 f'<rect x="{left + n * 110}" y="8" width="14" height="4" fill="{colour}"/>',
                 f'<text x="{left + n * 110 + 18}" y="14">{escape(name)}</text>']
    return _svg(height, body)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def charts(report: MonthlyReport) -> dict[str, Markup]:
    c, m = report.calls, report.matters
    return {
        "每日来电量": line_chart([d for d, _, _ in report.daily],
                                [("来电总量", [r for _, r, _ in report.daily]),
                                 ("人工接通", [a for _, _, a in report.daily])], every=2),
        "来电去向": bar_chart([("人工接通", c.answered), ("排队放弃", c.abandoned),
                               ("转留言", c.overflowed), ("结果不明", c.unknown),
                               ("自助服务", c.voice_menu)]),
        "来电时段分布（时）": line_chart([str(h) for h in range(24)],
                                       [("来电总量", report.hourly)]),
        "事项服务类型": bar_chart([(TICKET_TYPES.get(k, k), n)
                                   for k, n in m.by_type.items()]),
    }


# --- the document ---------------------------------------------------------------------

def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}秒"


_env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(),
                   trim_blocks=True, lstrip_blocks=True)
_env.filters.update(percent=_percent, seconds=_seconds)


def html(report: MonthlyReport) -> str:
    page: dict[str, Any] = {"r": report, "charts": charts(report), "fonts": Markup(FONTS)}
    return _env.get_template("monthly_pdf.html").render(**page)


def pdf_bytes(report: MonthlyReport) -> bytes:
    """The report laid out as a PDF (CPU-bound: the console runs it in a thread)."""
    from weasyprint import HTML  # loads pango: only when a PDF is made

    document: bytes = HTML(string=html(report), base_url=str(TEMPLATES)).write_pdf()
    return document


async def monthly_pdf(session: AsyncSession, settings: Settings, period: Period,
                      now: datetime, menu: bool = False) -> bytes:
    return pdf_bytes(await monthly_report(session, settings, period, now, menu))


def save(document: bytes, path: Path) -> None:
    """Written whole, then moved into place: a reader never finds half a file."""
    partial = path.with_name(path.name + ".tmp")
    partial.write_bytes(document)
    partial.replace(path)
