"""The voice menu's figures (docs/metrics.md, "The voice menu") on the synthetic month's
menu calls (month.MENU_CALLS), against answers worked out by hand, on SQLite and
PostgreSQL; and the paths named by the menu's own words."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.db.base import session_scope
from hotline.settings import Settings
from reports import (
    Period,
    centre_tables,
    load_menu_calls,
    menu_calls_of,
    menu_figures,
    menu_table,
    menu_tree,
)
from reports.menu import tree_from
from tests.unit.reports import month

OCTOBER = Period.month(2026, 10)


@pytest.fixture
async def filled(sessions: async_sessionmaker[AsyncSession]
                 ) -> async_sessionmaker[AsyncSession]:
    async with session_scope(sessions) as session:
        await month.add_month(session)
        month.add_menu_calls(session)
    return sessions


async def test_the_menu_figures_of_the_month(filled: async_sessionmaker[AsyncSession],
                                             settings: Settings) -> None:
    async with session_scope(filled) as session:
        calls = await load_menu_calls(session, settings.hours.timezone, OCTOBER)
    figures = menu_figures(calls)

    # the eight menu calls of October; not September's, nor the month's queue or closed calls
    assert figures.served == 8
    assert figures.no_key == 1  # m-no-key
    # went into a path: m-kb-after, m-case-back, m-no-key, m-appointment; each reached an
    # answer (m-case-back in 案件查询, though it hung up later in 投诉举报)
    assert (figures.chose, figures.got) == (4, 4)
    used = {p.node: (p.entered, p.answered, p.before, p.after) for p in figures.paths}
    assert used == {
        "case-query": (1, 1, 0, 0),  # m-case-back: answered, then went back to the menu
        "consultation": (1, 1, 0, 1),  # m-kb-after
        "complaint": (1, 0, 1, 0),  # m-case-back hung up while recording
        "suggestion": (0, 0, 0, 0),
        "appointment": (1, 1, 0, 1),  # m-appointment
        "appointment-filing": (1, 1, 0, 0), "appointment-mediation": (0, 0, 0, 0),
        "appointment-judge": (0, 0, 0, 0), "appointment-video": (0, 0, 0, 0),
        "mediation": (0, 0, 0, 0), "mediation-request": (0, 0, 0, 0),
        "message": (1, 1, 0, 0),  # m-no-key, sent there by the main menu, heard goodbye
        "departments": (0, 0, 0, 0),  # 8: the telephone directory (issue 15)
        "progress": (0, 0, 0, 0),  # 7: a matter's progress by its reference (issue 15)
        # 3 asks which: other complaints (1) or about the court's staff (2, confidential)
        "complaint-other": (0, 0, 0, 0), "complaint-staff": (0, 0, 0, 0),
    }
    assert figures.ends == {"welcome": 1, "main": 1, "before": 1, "after": 2, "completed": 1,
                            "fallback": 1, "unknown": 1, "ongoing": 0}
    assert sum(figures.ends.values()) == figures.served


async def test_each_menu_figure_drills_down_to_its_calls(
        filled: async_sessionmaker[AsyncSession], settings: Settings) -> None:
    async with session_scope(filled) as session:
        calls = await load_menu_calls(session, settings.hours.timezone, OCTOBER)

    def ids(name: str) -> set[str]:
        return {c.id for c in menu_calls_of(calls, name)}

    assert ids("entered:case-query") == {"m-case-back"}
    assert ids("answered:consultation") == {"m-kb-after"}
    assert ids("before:complaint") == {"m-case-back"}
    assert ids("after:appointment") == {"m-appointment"}
    assert ids("entered:appointment-filing") == {"m-appointment"}
    assert ids("no_key") == ids("entered:message") == {"m-no-key"}
    assert ids("end:welcome") == {"m-welcome"}
    assert ids("end:main") == {"m-main"}
    assert ids("end:fallback") == {"m-fallback"}
    assert ids("end:unknown") == {"m-reconciled"}
    assert len(ids("served")) == 8
    with pytest.raises(KeyError):
        menu_calls_of(calls, "end:nowhere")


def test_paths_are_named_by_the_menus_own_words() -> None:
    tree = menu_tree()
    assert [tree.label(p) for p in tree.paths] == [
        "案件查询", "诉讼咨询", "投诉举报", "意见建议", "预约服务", "诉前调解引导",
        "查询事项办理进度", "找法院各部门或工作人员", "人工服务或留言"]
    assert [tree.label(o) for o in tree.options["appointment"]] == [
        "预约立案", "预约调解", "约见法官", "预约视频信访"]
    assert tree.label("mediation-request") == "申请诉前调解"


def test_a_changed_menu_is_read_with_its_own_words() -> None:
    """Another court's menu: its choices and their words come from its own file."""
    raw = {"start": "top", "node": {
        "top": {"kind": "menu", "prompt": "p-top", "on_fail": "bye",
                "keys": {"1": "ask", "2": "leave"}},
        "ask": {"kind": "action", "action": "knowledge", "next": "bye"},
        "leave": {"kind": "action", "action": "voice_ticket", "ticket_type": "callback",
                  "next": "bye"},
        "bye": {"kind": "end", "prompt": "p-bye"}}}
    tree = tree_from(raw, {"p-top": "办事指南请按幺；其他请按二。"})
    assert tree.paths == ("ask", "leave")
    assert (tree.label("ask"), tree.label("leave")) == ("办事指南", "其他")


async def test_the_menu_sheet_holds_the_same_figures(
        filled: async_sessionmaker[AsyncSession], settings: Settings) -> None:
    async with session_scope(filled) as session:
        calls = await load_menu_calls(session, settings.hours.timezone, OCTOBER)
    paths, ends = menu_table(menu_figures(calls), OCTOBER)

    assert paths.headers[:5] == ["路径", "进入", "获得答复", "答复前挂机", "答复后挂机"]
    rows = {r[0]: list(r[1:5]) for r in paths.rows}
    assert rows["诉讼咨询"] == [1, 1, 0, 1]
    assert rows["　预约服务 › 预约立案"] == [1, 1, None, None]
    assert dict((r[0], r[1]) for r in ends.rows)["欢迎语时挂机"] == 1
    assert ends.rows[:3] == [["语音菜单来电", 8], ["进入路径", 4], ["获得答复", 4]]


async def test_the_centres_tables_hold_the_menus_on_request(
        filled: async_sessionmaker[AsyncSession], settings: Settings) -> None:
    async with session_scope(filled) as session:
        tables = await centre_tables(session, settings, OCTOBER, month.NOW, ("menu",))

    assert [t.title for t in tables] == ["语音菜单路径使用", "语音菜单挂机位置"]
    assert tables[1].rows[0] == ["语音菜单来电", 8]
