"""Every table the reports show, as data with Chinese headers: the one shape the Excel
export (reports.excel) and the `hotline report` command's text both print, so a sheet and
a terminal say the same numbers as the dashboard (they call the same figure functions)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from hotline.catalog import TICKET_TYPES
from hotline.timefmt import local_time
from reports.calls import CallFacts, CallFigures, abandon_seconds, talk_seconds, wait_seconds
from reports.matters import SOURCES, MatterFacts, MatterFigures
from reports.menu import END_LABELS, MenuCall, MenuFigures, MenuTree
from reports.period import Period
from reports.scorecard import AgentRow, DepartmentRow

Cell = str | int | float | None


@dataclass(frozen=True)
class Table:
    title: str
    headers: Sequence[str]
    rows: Sequence[Sequence[Cell]]
    period: Period
    # what the table is limited to besides the period, as staff read it
    filters: dict[str, str] = field(default_factory=dict)


def _pct(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 1)


def _pair(name: str, value: Cell) -> list[Cell]:
    return [name, value]


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def call_table(figures: CallFigures, period: Period, previous: CallFigures | None = None
               ) -> Table:
    rows: list[list[Cell]] = [
        ["来电总量", figures.received], ["转人工", figures.offered],
        ["人工接通", figures.answered], ["排队放弃", figures.abandoned],
        ["转留言", figures.overflowed], ["结果不明", figures.unknown],
        ["自助服务", figures.voice_menu],
        ["转人工（工作时间）", figures.offered_in_hours],
        ["人工接通（工作时间）", figures.answered_in_hours],
        ["接通率（%）", _pct(figures.answer_rate)],
        ["20秒内接通", figures.within_20s], ["20秒接通率（%）", _pct(figures.service_level)],
        ["平均等待（秒）", _round(figures.average_wait)],
        ["90%等待（秒）", _round(figures.p90_wait)],
        ["平均通话（秒）", _round(figures.average_talk)],
        ["放弃前平均等待（秒）", _round(figures.average_abandon_wait)],
        *(_pair(f"放弃前等待 {band}", n) for band, n in figures.abandon_bands.items()),
    ]
    headers = ["指标", "本期"]
    if previous is not None:
        headers.append("上期")
        before = call_table(previous, period).rows
        rows = [[*row, before[i][1]] for i, row in enumerate(rows)]
    return Table("来电统计", headers, rows, period)


def matter_table(figures: MatterFigures, period: Period) -> Table:
    rows: list[list[Cell]] = [
        ["新增事项", figures.created], ["未办结", figures.open], ["已办结", figures.closed],
        ["其中：系统外答复办结", figures.closed_outside],
        *(_pair(f"服务类型：{TICKET_TYPES.get(k, k)}", n) for k, n in figures.by_type.items()),
        *(_pair(f"来源：{SOURCES.get(k, k)}", n) for k, n in figures.by_source.items()),
        ["转办事项", figures.forwarded], ["按期答复", figures.on_time],
        ["逾期答复", figures.late], ["逾期未答复", figures.overdue_open],
        ["督办（部门负责人）", figures.level1], ["督办（分管院领导）", figures.level2],
        ["按期答复率（%）", _pct(figures.on_time_rate)],
        ["平均答复用时（工作小时）", _round(figures.average_reply_hours, 2)],
    ]
    return Table("事项统计", ["指标", "本期"], rows, period)


def menu_table(figures: MenuFigures, period: Period) -> tuple[Table, Table]:
    """The voice menu: each path's use (an option of a path indented under it), and where
    the menu's callers hung up."""
    labels = {p.node: p.label for p in figures.paths}
    paths = Table("语音菜单路径使用", ["路径", "进入", "获得答复", "答复前挂机", "答复后挂机"],
                  [[p.label, p.entered, p.answered, p.before, p.after] if not p.parent
                   else [f"　{labels[p.parent]} › {p.label}", p.entered, p.answered, None, None]
                   for p in figures.paths], period)
    rows: list[list[Cell]] = [["语音菜单来电", figures.served], ["进入路径", figures.chose],
                              ["获得答复", figures.got]]
    rows += [[END_LABELS[end], n] for end, n in figures.ends.items()]
    rows.append(["主菜单未按键转留言", figures.no_key])
    return paths, Table("语音菜单挂机位置", ["位置", "来电"], rows, period)


def menu_calls_list_table(title: str, calls: Sequence[MenuCall], tree: MenuTree,
                          period: Period, timezone: str, numbers: Mapping[str, str],
                          filters: dict[str, str] | None = None) -> Table:
    """A voice-menu drill-down's calls, by their readable numbers (numbers: call id → the
    number, hotline.db.calls.readable_numbers). The caller's number is left out: a sheet
    travels."""
    headers = ["通话编号", "开始时间", "进入的路径", "挂机位置", "通话（秒）", "记录来源"]
    return Table(title, headers,
                 [[numbers.get(c.id, ""), local_time(c.started_at, timezone),
                   menu_call_paths(c, tree), menu_call_end(c, tree),
                   _round(menu_call_seconds(c), 0),
                   "话单补录" if c.source == "reconciled" else "实时"] for c in calls],
                 period, filters or {})


def menu_call_paths(c: MenuCall, tree: MenuTree) -> str:
    return " → ".join(tree.label(p) for p in c.entered) or "—"


def menu_call_end(c: MenuCall, tree: MenuTree) -> str:
    where = END_LABELS[c.end]
    return f"{tree.label(c.end_path)} · {where}" if c.end_path else where


def menu_call_seconds(c: MenuCall) -> float | None:
    return None if c.ended_at is None else (c.ended_at - c.started_at).total_seconds()


def department_table(rows: Sequence[DepartmentRow], period: Period,
                     filters: dict[str, str] | None = None) -> Table:
    return Table("部门考核", ["部门", "转办事项", "按期答复", "逾期答复", "督办一级", "督办二级",
                              "逾期未答复", "按期答复率（%）", "平均答复用时（工作小时）"],
                 [[r.name, r.received, r.on_time, r.late, r.level1, r.level2, r.overdue_open,
                   _pct(r.on_time_rate), _round(r.average_reply_hours, 2)] for r in rows],
                 period, filters or {})


def agent_table(rows: Sequence[AgentRow], period: Period,
                filters: dict[str, str] | None = None) -> Table:
    return Table("座席统计", ["座席员", "接听来电", "通话总时长（分钟）", "平均通话（秒）",
                              "来电登记", "回电办结", "未登记来电"],
                 [[r.name, r.answered, _round(r.talk_seconds / 60), _round(r.average_talk),
                   r.call_logs, r.callbacks, r.unlogged] for r in rows],
                 period, filters or {})


def calls_list_table(title: str, calls: Sequence[CallFacts], period: Period, timezone: str,
                     filters: dict[str, str] | None = None) -> Table:
    """A drill-down's calls. The caller's number is left out: a sheet travels."""
    return Table(title, ["通话编号", "开始时间", "去向", "座席", "等待（秒）", "放弃前等待（秒）",
                         "通话（秒）", "记录来源"],
                 [[c.id, local_time(c.started_at, timezone), c.route, c.agent,
                   _round(wait_seconds(c), 0), _round(abandon_seconds(c), 0),
                   _round(talk_seconds(c), 0),
                   "话单补录" if c.source == "reconciled" else "实时"] for c in calls],
                 period, filters or {})


def matters_list_table(title: str, matters: Sequence[MatterFacts], period: Period,
                       timezone: str, filters: dict[str, str] | None = None) -> Table:
    def when(moment: datetime | None) -> str:
        return local_time(moment, timezone)

    return Table(title, ["编号", "类型", "来源", "创建", "转办", "答复期限", "答复", "督办级别",
                         "状态"],
                 [[m.reference, TICKET_TYPES.get(m.type, m.type), SOURCES.get(m.source, ""),
                   when(m.created_at), when(m.forwarded_at), when(m.due_at),
                   when(m.replied_at), m.escalation_level,
                   "未办结" if m.status == "open" else "已办结"] for m in matters],
                 period, filters or {})


def text(table: Table) -> str:
    """The table for a terminal: a title line, then tab-separated rows."""
    def cell(value: Cell) -> str:
        return "—" if value is None else str(value)

    lines = [f"{table.title}（{table.period.full_label}）",
             *(f"{k}：{v}" for k, v in table.filters.items()),
             "\t".join(table.headers)]
    lines += ["\t".join(cell(v) for v in row) for row in table.rows]
    return "\n".join(lines)
