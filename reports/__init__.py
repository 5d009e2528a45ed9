"""Analysis and performance review (Art. 4(7), Art. 10): the figures of the centre, its
departments and its seats for a period. Each figure is written once, in docs/metrics.md,
and computed by one function here; the console's dashboard, the Excel exports and the
`hotline report` command call these."""

from reports.calls import CALL_SETS, CallFacts, CallFigures, calls_of
from reports.figures import Dashboard, PeriodData, dashboard, load_period
from reports.matters import MATTER_SETS, SOURCES, MatterFacts, MatterFigures, matters_of
from reports.period import KINDS, Period, containing, parse_period
from reports.scope import Scope, scope_of
from reports.scorecard import (
    AgentRow,
    DepartmentRow,
    agent_rows,
    department_matters,
    department_rows,
    logged_call_ids,
    unlogged_calls,
)

__all__ = [
    "CALL_SETS", "KINDS", "MATTER_SETS", "SOURCES", "AgentRow", "CallFacts", "CallFigures",
    "Dashboard", "DepartmentRow", "MatterFacts", "MatterFigures", "Period", "PeriodData",
    "Scope", "agent_rows", "calls_of", "containing", "dashboard", "department_matters",
    "department_rows", "load_period", "logged_call_ids", "matters_of", "parse_period",
    "scope_of", "unlogged_calls",
]
