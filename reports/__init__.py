"""Analysis and performance review (Art. 4(7), Art. 10): the figures of the centre, its
departments and its seats for a period. Each figure is written once, in docs/metrics.md,
and computed by one function here; the console's dashboard, the Excel exports and the
`hotline report` command call these."""

# The monthly PDF (月度分析研判报告) is a module of the face: `from reports import pdf`.
from reports import pdf
from reports.calls import (
    CALL_SETS,
    CallFacts,
    CallFigures,
    abandon_seconds,
    calls_of,
    talk_seconds,
    wait_seconds,
)
from reports.excel import save as save_xlsx
from reports.excel import xlsx_bytes
from reports.figures import Dashboard, PeriodData, dashboard, load_period
from reports.matters import MATTER_SETS, SOURCES, MatterFacts, MatterFigures, matters_of
from reports.menu import (
    MenuCall,
    MenuFigures,
    MenuTree,
    load_menu_calls,
    menu_calls_of,
    menu_figures,
    menu_set,
    menu_tree,
)
from reports.monthly import ADMIN_SCOPE, WITH_MENU, centre_tables
from reports.period import KINDS, Period, containing, parse_period
from reports.rollup import refresh as refresh_rollups
from reports.scope import Scope, report_court, scope_of
from reports.scorecard import (
    AgentRow,
    DepartmentRow,
    agent_rows,
    department_matters,
    department_rows,
    logged_call_ids,
    seat_rows,
    unlogged_calls,
)
from reports.tables import (
    Table,
    agent_table,
    call_table,
    calls_list_table,
    department_table,
    matter_table,
    matters_list_table,
    menu_call_end,
    menu_call_paths,
    menu_call_seconds,
    menu_calls_list_table,
    menu_table,
)
from reports.tables import text as table_text
from reports.topics import (
    RepeatCaller,
    Topic,
    hot_topics,
    hot_topics_apart,
    load_texts,
    read_stop_words_text,
    repeat_callers,
    save_stop_words,
    stop_words,
)
from reports.wallboard import LiveQueue, LiveSeat, Wallboard, wallboard

__all__ = [
    "ADMIN_SCOPE",
    "CALL_SETS",
    "KINDS",
    "MATTER_SETS",
    "SOURCES",
    "WITH_MENU",
    "AgentRow",
    "CallFacts",
    "CallFigures",
    "Dashboard",
    "DepartmentRow",
    "LiveQueue",
    "LiveSeat",
    "MatterFacts",
    "MatterFigures",
    "MenuCall",
    "MenuFigures",
    "MenuTree",
    "Period",
    "PeriodData",
    "RepeatCaller",
    "Scope",
    "Table",
    "Topic",
    "Wallboard",
    "abandon_seconds",
    "agent_rows",
    "agent_table",
    "call_table",
    "calls_list_table",
    "calls_of",
    "centre_tables",
    "containing",
    "dashboard",
    "department_matters",
    "department_rows",
    "department_table",
    "hot_topics",
    "hot_topics_apart",
    "load_menu_calls",
    "load_period",
    "load_texts",
    "logged_call_ids",
    "matter_table",
    "matters_list_table",
    "matters_of",
    "menu_call_end",
    "menu_call_paths",
    "menu_call_seconds",
    "menu_calls_list_table",
    "menu_calls_of",
    "menu_figures",
    "menu_set",
    "menu_table",
    "menu_tree",
    "parse_period",
    "pdf",
    "read_stop_words_text",
    "refresh_rollups",
    "repeat_callers",
    "report_court",
    "save_stop_words",
    "save_xlsx",
    "scope_of",
    "seat_rows",
    "stop_words",
    "table_text",
    "talk_seconds",
    "unlogged_calls",
    "wait_seconds",
    "wallboard",
    "xlsx_bytes",
]
