"""Analysis pages (Art. 4(7), Art. 10): the leader's and administrator's dashboard for a
period, the department scorecard, the seats table, each number a link to the calls or
matters behind it. Every figure comes from reports/ (defined in docs/metrics.md); this
module only picks the period, asks reports.scope who may see what, and renders.

The charts are Apache ECharts, installed from npm at set-up and served from /static/vendor
(scripts/setup.sh); the page hands them its figures as a JSON block that
static/dashboard.js reads (the console's CSP allows no inline script)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import math
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, date, datetime
from typing import Annotated, Any, TypeVar
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse

from agent_console.auth import Forbidden, Principal, console, require_role
from agent_console.listing import Page, Sort, Spec, read_query
from agent_console.pages import render
from agent_console.texts import ADMIN, PAUSE_REASONS, PRESENCE_LABELS, ROLES
from hotline import ratings
from hotline.catalog import TICKET_TYPES
from hotline.confidential import Hidden, clearance, hidden_from
from hotline.db import courts as courts_db
from hotline.db import presence as presence_db
from hotline.db.base import session_scope
from hotline.db.calls import readable_numbers_of_ids
from hotline.db.models import AgentPresence, User
from hotline.hours import court_today
from hotline.privacy import mask_phone
from hotline.timefmt import local_time
from pbx import ControlError
from reports import (
    CALL_SETS,
    KINDS,
    MATTER_SETS,
    SOURCES,
    WITH_MENU,
    LiveQueue,
    LiveSeat,
    Period,
    Scope,
    Table,
    abandon_seconds,
    agent_table,
    call_table,
    calls_list_table,
    calls_of,
    centre_tables,
    containing,
    dashboard,
    department_matters,
    department_rows,
    department_table,
    hot_topics_apart,
    load_menu_calls,
    load_period,
    load_texts,
    logged_call_ids,
    matter_table,
    matters_list_table,
    matters_of,
    menu_call_end,
    menu_call_paths,
    menu_call_seconds,
    menu_calls_list_table,
    menu_calls_of,
    menu_figures,
    menu_set,
    menu_table,
    menu_tree,
    parse_period,
    read_stop_words_text,
    repeat_callers,
    report_court,
    save_stop_words,
    scope_of,
    seat_rows,
    stop_words,
    talk_seconds,
    unlogged_calls,
    wait_seconds,
    wallboard,
    xlsx_bytes,
)

router = APIRouter(include_in_schema=False)
Staff = Annotated[Principal, Depends(require_role(*ROLES))]
Admin = Annotated[Principal, Depends(require_role(ADMIN))]

KIND_LABELS = {"day": "日", "week": "周", "month": "月", "quarter": "季度", "year": "年",
               "range": "自定义"}
CALL_SET_LABELS = {
    "received": "来电总量", "offered": "转人工", "answered": "人工接通",
    "abandoned": "排队放弃", "overflowed": "转留言", "unknown": "结果不明",
    "voice_menu": "自助服务", "offered_in_hours": "转人工（工作时间）",
    "answered_in_hours": "人工接通（工作时间）", "within_20s": "20秒内接通"}
MATTER_SET_LABELS = {
    "all": "全部事项", "open": "未办结", "closed": "已办结",
    "closed_outside": "系统外答复办结", "forwarded": "转办事项",
    "on_time": "按期答复", "late": "逾期答复", "overdue": "逾期未答复",
    "level1": "督办（部门负责人）", "level2": "督办（分管院领导）"}


def _period(request: Request, kind: str, first: str, last: str) -> Period:
    """The period the page's form names; this month when it names none (or nonsense)."""
    today = court_today(console(request).settings, console(request).clock())
    try:
        if kind in KINDS and first:
            return (parse_period("range", first, last) if kind == "range"
                    else containing(kind, date.fromisoformat(first)))
    except ValueError:
        pass
    return containing(kind if kind in KINDS and kind != "range" else "month", today)


PeriodKind = Annotated[str, Query(alias="period")]
# ?format=xlsx on any analysis page: the same table as an Excel workbook
XLSX = "xlsx"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _xlsx(tables: list[Table], name: str) -> Response:
    first = tables[0].period
    filename = f"{name}-{first.first}-{first.last}.xlsx"
    return Response(xlsx_bytes(tables), media_type=XLSX_TYPE, headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}"})


def _export_url(request: Request) -> str:
    return f"{request.url.path}?{urlencode({**request.query_params, 'format': XLSX})}"


async def _scope(request: Request, who: Principal) -> Scope:
    """What the reader may see; and the court the page is cut by (?court=, issue 17), kept
    on the request for the page's figures (_court) and its period form (_context)."""
    async with session_scope(console(request).sessions) as db:
        scope = await scope_of(db, who.account.id, who.account.role)
        courts = await courts_db.list_courts(db, active_only=True)
    wanted = request.query_params.get("court", "").strip()
    known = {str(c.id): courts_db.court_label(c) for c in courts}
    request.state.report_court = ReportCourt(
        report_court(scope, int(wanted) if wanted in known else None),
        known if len(known) > 1 and scope.court is None else {},
        f"法院“{wanted[:20]}”不存在，已显示全部法院的统计。"
        if wanted and wanted not in known and scope.court is None else "")
    return scope


@dataclasses.dataclass(frozen=True)
class ReportCourt:
    court: int | None  # the court the figures are cut by; None: every court's
    choices: dict[str, str]  # the period form's 法院 choices ({}: not offered)
    error: str


# The pages of the centre's calls (voice menu, hot topics): no 法院.
CENTRE_WIDE = ReportCourt(None, {}, "")


def _court(request: Request) -> int | None:
    found: ReportCourt | None = getattr(request.state, "report_court", None)
    return found.court if found is not None else None


def _period_error(request: Request) -> str:
    """What was wrong with the period the form sent (the page then shows this month)."""
    days: dict[str, date] = {}
    for name, label in (("first", "起始日期"), ("last", "截止日期")):
        text = request.query_params.get(name, "").strip()
        try:
            if text:
                days[name] = date.fromisoformat(text)
        except ValueError:
            return f"{label}“{text[:20]}”不是日期（应如 2026-10-01），已显示本月的统计。"
    if (request.query_params.get("period") == "range" and len(days) == 2
            and days["last"] < days["first"]):
        return "截止日期早于起始日期，已显示本月的统计。"
    return ""


def _context(request: Request, who: Principal, period: Period, **extra: Any) -> dict[str, Any]:
    court = getattr(request.state, "report_court", None) or ReportCourt(None, {}, "")
    query = period.query() | ({"court": str(court.court)} if court.court is not None else {})
    return {"user": who.account, "csrf_token": who.csrf_token, "period": period,
            "kinds": KIND_LABELS, "query": query, "export_url": _export_url(request),
            "period_error": _period_error(request) or court.error, "report_court": court,
            **extra}


T = TypeVar("T")
# A drill-down's list, paged and counted the way every list is (agent_console/listing.py):
# the figures are counted in Python over the period, so its rows are cut here, not in SQL.
CALLS_SPEC = Spec(sorts={"time": Sort("开始时间", "time")}, default_sort="time",
                  default_desc=False)
MATTERS_SPEC = Spec(sorts={"time": Sort("创建", "time")}, default_sort="time",
                    default_desc=False)
RECORDS_SPEC = Spec()
# the analysis pages' own parameters, kept by the pager's and the headers' links
DRILL_KEEP = ("period", "first", "last", "court", "set", "type", "source", "term", "call")


def _drill_page(request: Request, items: Sequence[T], spec: Spec,
                moment: Callable[[T], Any] | None = None) -> Page[T]:
    """One page of a drill-down's rows by the list's query (?page=, ?sort=time&dir=),
    with the whole list's count; the page's other parameters stay in its links."""
    tz = console(request).settings.hours.timezone
    wanted = read_query(request.query_params, spec, tz, base=request.url.path)
    kept = {k: v for k, v in request.query_params.items() if k in DRILL_KEEP and v}
    wanted = dataclasses.replace(wanted, values={**kept, **wanted.values})
    ordered = sorted(items, key=moment, reverse=wanted.desc) if moment else list(items)
    size = spec.page_size
    pages = max(1, math.ceil(len(ordered) / size))
    number = min(wanted.page, pages)
    return Page(ordered[(number - 1) * size:number * size], len(ordered), number, pages,
                wanted)


@router.get("/dashboard")
async def dashboard_page(request: Request, who: Staff, kind: PeriodKind = "month",
                         first: str = "", last: str = "", format: str = "") -> Response:
    scope = await _scope(request, who)
    if not scope.centre:
        raise Forbidden("role")
    c = console(request)
    period = _period(request, kind, first, last)
    async with session_scope(c.sessions) as db:
        board = await dashboard(db, c.settings, period, c.clock(), _court(request))
    if format == XLSX:
        return _xlsx([call_table(board.calls, period, board.previous),
                      matter_table(board.matters, period)], "统计分析")
    charts = {
        "heat": board.heat,
        "types": [[TICKET_TYPES.get(k, k), v] for k, v in board.matters.by_type.items()],
        "sources": [[SOURCES[k], v] for k, v in board.matters.by_source.items()],
        "abandon": list(board.calls.abandon_bands.items()),
        "outcome": [[CALL_SET_LABELS[k], getattr(board.calls, k)]
                    for k in ("answered", "abandoned", "overflowed", "unknown")],
        "trend": {"labels": [board.period.previous().label, board.period.label],
                  "received": [board.previous.received, board.calls.received],
                  "answered": [board.previous.answered, board.calls.answered]},
    }
    return render(request, "dashboard.html",
                  **_context(request, who, period, board=board, charts=charts,
                             call_labels=CALL_SET_LABELS, matter_labels=MATTER_SET_LABELS,
                             type_labels=TICKET_TYPES, source_labels=SOURCES))


@router.get("/dashboard/calls")
async def dashboard_calls(request: Request, who: Staff, kind: PeriodKind = "month",
                          first: str = "", last: str = "", set: str = "received",
                          format: str = "") -> Response:
    scope = await _scope(request, who)
    if not scope.centre or scope.court is not None or set not in CALL_SETS:
        raise Forbidden("role")
    c = console(request)
    period = _period(request, kind, first, last)
    async with session_scope(c.sessions) as db:
        data = await load_period(db, c.settings, period, _court(request))
    return await _calls_page(request, who, period, CALL_SET_LABELS[set],
                             calls_of(data.calls, set), format)


async def _hidden(request: Request, who: Principal) -> Hidden:
    """What the reader may not see in a drill-down (hotline.confidential)."""
    async with session_scope(console(request).sessions) as db:
        return await hidden_from(db, await clearance(db, who.account.id, who.account.role))


async def _calls_page(request: Request, who: Principal, period: Period, title: str,
                      calls: list[Any], format: str) -> Response:
    tz = console(request).settings.hours.timezone
    hidden = await _hidden(request, who)
    calls = [f for f in calls if f.id not in hidden.calls]
    if format == XLSX:
        return _xlsx([calls_list_table(title, calls, period, tz, {"指标": title})], "来电明细")
    page = _drill_page(request, calls, CALLS_SPEC, lambda f: f.started_at).map(lambda f: {
        "id": f.id, "started": local_time(f.started_at, tz), "caller": f.caller_number,
        "route": f.route, "agent": f.agent, "wait": wait_seconds(f),
        "abandon": abandon_seconds(f), "talk": talk_seconds(f), "source": f.source})
    return render(request, "report_calls.html",
                  **_context(request, who, period, title=title, page=page))


@router.get("/dashboard/matters")
async def dashboard_matters(request: Request, who: Staff, kind: PeriodKind = "month",
                            first: str = "", last: str = "", set: str = "all",
                            type: str = "", source: str = "", format: str = "") -> Response:
    scope = await _scope(request, who)
    if not scope.centre or (set not in MATTER_SETS and set != "overdue"):
        raise Forbidden("role")
    c = console(request)
    period = _period(request, kind, first, last)
    async with session_scope(c.sessions) as db:
        data = await load_period(db, c.settings, period, _court(request))
    # types, sources, open and closed count the matters created in the period; the reply
    # figures those forwarded in it (docs/metrics.md)
    pool = data.created if set in ("all", "open", "closed") else data.forwarded
    found = [m for m in matters_of(pool, set, c.clock())
             if (not type or m.type == type) and (not source or m.source == source)]
    title = " · ".join(filter(None, [MATTER_SET_LABELS[set], TICKET_TYPES.get(type, ""),
                                     SOURCES.get(source, "")]))
    return await _matters_page(request, who, period, title, found, format)


async def _matters_page(request: Request, who: Principal, period: Period, title: str,
                        matters: list[Any], format: str) -> Response:
    tz = console(request).settings.hours.timezone
    hidden = await _hidden(request, who)
    matters = [m for m in matters if m.id not in hidden.tickets]
    if format == XLSX:
        return _xlsx([matters_list_table(title, matters, period, tz, {"指标": title})],
                     "事项明细")
    now: datetime = console(request).clock()
    page = _drill_page(request, matters, MATTERS_SPEC, lambda m: m.created_at).map(lambda m: {
        "id": m.id, "reference": m.reference, "type": TICKET_TYPES.get(m.type, m.type),
        "source": SOURCES.get(m.source, m.source), "created": local_time(m.created_at, tz),
        "forwarded": local_time(m.forwarded_at, tz), "due": local_time(m.due_at, tz),
        "replied": local_time(m.replied_at, tz), "level": m.escalation_level,
        "open": m.status == "open",
        "overdue": bool(m.due_at and m.due_at < now and m.replied_at is None)})
    return render(request, "report_matters.html",
                  **_context(request, who, period, title=title, page=page))


@router.get("/dashboard/menu")
async def menu_page(request: Request, who: Staff, kind: PeriodKind = "month",
                    first: str = "", last: str = "", set: str = "",
                    format: str = "") -> Response:
    """语音菜单: the calls the voice menu served, each path's use and where callers hung
    up (reports/menu.py); with set= the calls behind one of the numbers, paged."""
    scope = await _scope(request, who)
    if not scope.centre or scope.court is not None:  # the centre's calls
        raise Forbidden("role")
    request.state.report_court = CENTRE_WIDE
    c = console(request)
    period = _period(request, kind, first, last)
    tz = c.settings.hours.timezone
    tree = menu_tree()
    async with session_scope(c.sessions) as db:
        calls = await load_menu_calls(db, tz, period, tree)
    figures = menu_figures(calls, tree)
    chosen = set if set and menu_set(set) is not None else ""
    hidden = (await _hidden(request, who)).calls if chosen else frozenset()
    found = [m for m in menu_calls_of(calls, chosen) if m.id not in hidden] if chosen else []
    title = figures.label(chosen) if chosen else ""
    if format == XLSX:
        if not chosen:
            return _xlsx(list(menu_table(figures, period)), "语音菜单")
        async with session_scope(c.sessions) as db:
            numbers = await readable_numbers_of_ids(db, [m.id for m in found], tz)
        return _xlsx([menu_calls_list_table(title, found, tree, period, tz, numbers,
                                            {"指标": title})], "语音菜单")
    page = None
    if chosen:
        listed = _drill_page(request, found, CALLS_SPEC, lambda m: m.started_at)
        async with session_scope(c.sessions) as db:
            numbers = await readable_numbers_of_ids(db, [m.id for m in listed.rows], tz)
        page = listed.map(lambda m: {
            "id": m.id, "number": numbers.get(m.id, ""), "started": local_time(m.started_at, tz),
            "caller": m.caller_number, "paths": menu_call_paths(m, tree),
            "end": menu_call_end(m, tree), "seconds": menu_call_seconds(m),
            "source": m.source})
    link = f"/dashboard/menu?{urlencode(period.query())}&set="
    top = [p for p in figures.paths if not p.parent]
    charts = {
        "funnel": [[figures.label(n), getattr(figures, n), link + n]
                   for n in ("served", "chose", "got")],
        "paths": {"labels": [p.label for p in top],
                  "entered": [p.entered for p in top], "answered": [p.answered for p in top],
                  "links": [[link + f"entered:{p.node}", link + f"answered:{p.node}"]
                            for p in top]},
        "ends": [[figures.label(f"end:{e}"), n, link + f"end:{e}"]
                 for e, n in figures.ends.items()],
    }
    return render(request, "report_menu.html",
                  **_context(request, who, period, figures=figures, charts=charts,
                             chosen=chosen, title=title, page=page, wrong_set=bool(set)
                             and not chosen, keep=[("set", chosen)] if chosen else []))


@router.get("/scorecard")
async def scorecard_page(request: Request, who: Staff, kind: PeriodKind = "month",
                         first: str = "", last: str = "", sort: str = "name",
                         format: str = "") -> Response:
    scope = await _scope(request, who)
    if scope.departments == frozenset():
        raise Forbidden("role")
    c = console(request)
    period = _period(request, kind, first, last)
    async with session_scope(c.sessions) as db:
        data = await load_period(db, c.settings, period, _court(request))
        rows = await department_rows(db, data, scope, c.clock())
        rated = await ratings.tallies(db, "department", *period.bounds(c.settings.hours.timezone))
    if sort in SCORECARD_SORTS:
        rows.sort(key=lambda r: (getattr(r, sort) is None, getattr(r, sort) or 0),
                  reverse=sort != "average_reply_hours")
    if format == XLSX:
        return _xlsx([department_table(rows, period, _seen(who, rows, sort))], "部门考核")
    return render(request, "scorecard.html",
                  **_context(request, who, period, rows=rows, sort=sort, ratings=rated))


def _seen(who: Principal, rows: list[Any], sort: str) -> dict[str, str]:
    """The sheet says whose view it is: a head's file holds their departments only."""
    seen = {"导出人": f"{who.account.display_name or who.account.username}"
                     f"（{who.account.role_label}）",
            "范围": "、".join(r.name for r in rows) or "无"}
    return {**seen, "排序": sort} if sort in SCORECARD_SORTS else seen


SCORECARD_SORTS = ("received", "on_time", "late", "level1", "level2", "overdue_open",
                   "average_reply_hours")


@router.get("/scorecard/{department_id}")
async def scorecard_matters(request: Request, who: Staff, department_id: int,
                            kind: PeriodKind = "month", first: str = "",
                            last: str = "", format: str = "") -> Response:
    scope = await _scope(request, who)
    if not scope.sees_department(department_id):
        raise Forbidden("role")
    c = console(request)
    period = _period(request, kind, first, last)
    async with session_scope(c.sessions) as db:
        data = await load_period(db, c.settings, period, _court(request))
        names = {r.department_id: r.name
                 for r in await department_rows(db, data, scope, c.clock())}
    return await _matters_page(request, who, period,
                               f"{names.get(department_id, '')} 转办事项",
                               department_matters(data, scope, department_id), format)


@router.get("/seats")
async def seats_page(request: Request, who: Staff, kind: PeriodKind = "month",
                     first: str = "", last: str = "", format: str = "") -> Response:
    scope = await _scope(request, who)
    if scope.agents == frozenset():
        raise Forbidden("role")
    c = console(request)
    period = _period(request, kind, first, last)
    async with session_scope(c.sessions) as db:
        rows = await seat_rows(db, c.settings.hours.timezone, period, scope, _court(request))
        seated = await presence_db.seated(db)
        rated = await ratings.tallies(db, "agent", *period.bounds(c.settings.hours.timezone))
    if format == XLSX:
        return _xlsx([agent_table(rows, period, _seen(who, rows, ""))], "座席统计")
    now = [_seat_now(row, user, c.clock(), c.settings.hours.timezone)
           for row, user in seated if scope.sees_agent(user.id)]
    return render(request, "seats.html",
                  **_context(request, who, period, rows=rows, now=now, ratings=rated))


def _seat_now(row: AgentPresence, user: User, clock: datetime, zone: str) -> dict[str, Any]:
    """A signed-in seat as supervisors see it now: 空闲, 示忙 (why) or 话后处理, since when
    and for how long (wrap-up is its own state, counted from the caller's hang-up)."""
    label = PRESENCE_LABELS.get(row.state, row.state)
    if row.state == presence_db.PAUSED and row.reason in PAUSE_REASONS:
        label += f"（{PAUSE_REASONS[row.reason]}）"
    return {"name": user.display_name or user.username, "extension": row.extension,
            "state": row.state, "label": label, "since": local_time(row.since, zone),
            "minutes": max(0, int((clock - row.since).total_seconds() // 60))}


@router.get("/seats/{user_id}/unlogged")
async def unlogged_page(request: Request, who: Staff, user_id: int,
                        kind: PeriodKind = "month", first: str = "", last: str = "",
                        format: str = "") -> Response:
    scope = await _scope(request, who)
    if not scope.sees_agent(user_id):
        raise Forbidden("role")
    c = console(request)
    period = _period(request, kind, first, last)
    async with session_scope(c.sessions) as db:
        data = await load_period(db, c.settings, period, _court(request))
        logged = await logged_call_ids(db, data)
    return await _calls_page(request, who, period, "未登记来电",
                             unlogged_calls(data, logged, user_id), format)


@router.get("/dashboard/topics")
async def topics_page(request: Request, who: Staff, kind: PeriodKind = "month",
                      first: str = "", last: str = "", term: str = "", call: str = "",
                      format: str = "") -> Response:
    """热点分析: recurring words and case numbers, repeat callers; with term= (or call=, a
    repeat caller's call) the records behind one of them."""
    scope = await _scope(request, who)
    if not scope.centre or scope.court is not None:  # the centre's calls
        raise Forbidden("role")
    request.state.report_court = CENTRE_WIDE
    c = console(request)
    period = _period(request, kind, first, last)
    async with session_scope(c.sessions) as db:
        data = await load_period(db, c.settings, period, _court(request))
        texts = await load_texts(db, period, c.settings.hours.timezone)
    words, cases = await hot_topics_apart(texts, stop_words(c.settings.paths.data_dir))
    repeats = repeat_callers(data.calls)
    if call:
        theirs = next((r.calls for r in repeats if call in {f.id for f in r.calls}), [])
        return await _calls_page(request, who, period, "重复来电", theirs, "")
    if format == XLSX:
        return _xlsx([Table("热点词语", ["词语", "提及记录数"],
                            [[t.term, t.count] for t in words], period),
                      Table("重复出现的案号", ["案号", "提及记录数"],
                            [[t.term, t.count] for t in cases], period),
                      Table("重复来电", ["来电号码", "本期来电", "7日内最多"],
                            [[mask_phone(r.number), len(r.calls), r.most_in_window]
                             for r in repeats], period, {"来电号码": "已隐去中间四位"})],
                     "热点分析")
    chosen = next((t for t in [*words, *cases] if t.term == term), None) if term else None
    records = _drill_page(request, chosen.records, RECORDS_SPEC) if chosen else None
    return render(request, "report_topics.html",
                  **_context(request, who, period, words=words, cases=cases,
                             repeats=repeats, chosen=chosen, records=records))


@router.get("/admin/stop-words")
async def stop_words_page(request: Request, who: Admin, saved: int = 0) -> Response:
    text = read_stop_words_text(console(request).settings.paths.data_dir)
    return render(request, "admin_stop_words.html", user=who.account,
                  csrf_token=who.csrf_token, text=text, saved=bool(saved))


@router.post("/admin/stop-words")
async def save_stop_words_page(request: Request, who: Admin,
                               text: Annotated[str, Form()] = "") -> Response:
    save_stop_words(console(request).settings.paths.data_dir, text)
    return RedirectResponse("/admin/stop-words?saved=1", status_code=303)


@router.get("/reports/monthly")
async def monthly_page(request: Request, who: Staff, month: str = "", format: str = "",
                       menu: bool = False) -> Response:
    """月度分析研判报告, printable: the month's tables as an administrator sees them, the
    hot topics and repeat callers; menu=1 adds the voice menu's tables (page, Excel, and
    the PDF linked from it)."""
    scope = await _scope(request, who)
    if not scope.centre or scope.court is not None:  # the centre's calls
        raise Forbidden("role")
    c = console(request)
    try:
        period = parse_period("month", month)
    except (ValueError, IndexError):
        today = court_today(c.settings, c.clock())
        period = containing("month", today).previous()
    court = _court(request)
    if court is not None:  # one court's tables (issue 17): no calls, menu or hot topics
        return await _court_month(request, who, period, court, format)
    async with session_scope(c.sessions) as db:
        tables = await centre_tables(db, c.settings, period, c.clock(),
                                     WITH_MENU if menu else None)
        if format == XLSX:
            return _xlsx(tables, "月度分析研判报告")
        texts = await load_texts(db, period, c.settings.hours.timezone)
        data = await load_period(db, c.settings, period)
    words, cases = await hot_topics_apart(texts, stop_words(c.settings.paths.data_dir))
    return render(request, "report_monthly.html",
                  **_context(request, who, period, tables=tables, words=words[:10],
                             cases=cases[:10], repeats=len(repeat_callers(data.calls)),
                             made=local_time(c.clock(), c.settings.hours.timezone),
                             menu=menu))


async def _court_month(request: Request, who: Principal, period: Period, court: int,
                       format: str) -> Response:
    """The month's report cut by one court: its matters, departments and seats."""
    c = console(request)
    async with session_scope(c.sessions) as db:
        tables = await centre_tables(db, c.settings, period, c.clock(), court_id=court)
    if format == XLSX:
        return _xlsx(tables, "月度分析研判报告")
    return render(request, "report_monthly.html",
                  **_context(request, who, period, tables=tables, words=[], cases=[],
                             repeats=0, made=local_time(c.clock(), c.settings.hours.timezone),
                             menu=False, court_label=request.state.report_court.choices.get(
                                 str(court), "")))


# --- the live wallboard (大屏) -------------------------------------------------------------

WALLBOARD_ROLES = ("agent", "leader", "admin")
WALLBOARD_SECONDS = 2.0
KEEPALIVE_EVERY = 15  # polls between keep-alive comments when nothing changed


@router.get("/wallboard")
async def wallboard_page(request: Request, who: Staff) -> Response:
    if who.account.role not in WALLBOARD_ROLES:
        raise Forbidden("role")
    return render(request, "wallboard.html", user=who.account, csrf_token=who.csrf_token)


@router.get("/wallboard/events")
async def wallboard_events(request: Request, who: Staff) -> StreamingResponse:
    """The wallboard's figures as server-sent events: one at once, then one each time they
    change (every 2 s: the queue and the seats asked of Asterisk, as the desk's queue
    summary is; today's figures read from the database)."""
    if who.account.role not in WALLBOARD_ROLES:
        raise Forbidden("role")
    c = console(request)

    async def stream() -> AsyncIterator[str]:
        last, quiet = "", 0
        while not await request.is_disconnected():
            live = await _live_queue(request)
            async with session_scope(c.sessions) as db:
                board = await wallboard(db, c.settings, c.clock(), live)
            figures = board.as_dict()
            # Reasons are stored as keys (break, after_call, ...); the board shows words.
            figures["paused_reasons"] = {PAUSE_REASONS.get(k, k): n for k, n
                                         in board.paused_reasons.items()}
            data = json.dumps(figures, ensure_ascii=False)
            if data != last:
                last, quiet = data, 0
                yield f"event: board\ndata: {data}\n\n"
            elif (quiet := quiet + 1) >= KEEPALIVE_EVERY:
                quiet = 0
                yield ": keep-alive\n\n"
            await asyncio.sleep(WALLBOARD_SECONDS)

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


async def _live_queue(request: Request) -> LiveQueue | None:
    """The seats queue as Asterisk has it now; None without a PBX link or an answer (the
    board then shows the database's view and says so)."""
    live = request.app.state.live
    control = getattr(live, "control", None)
    if control is None:
        return None
    try:
        waiting = await control.waiting_callers()
        members = await control.members()
    except ControlError:
        return None
    # A caller's uniqueid is the epoch second their call arrived (as the desk reads it).
    arrived = [datetime.fromtimestamp(float(uid), UTC) for uid in waiting if _epoch(uid)]
    return LiveQueue(arrived, [LiveSeat(m.paused, m.reason, m.device)
                               for m in members.values()])


def _epoch(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
