"""The one listing mechanism against a real database (SQLite, and PostgreSQL when one
answers): the query string checked, wrong parameters named in Chinese and dropped, the
search, date range, filters, sort and paging done in SQL, and the call-log list's page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agent_console.listing import Filter, Sort, Spec, page_of, read_query
from hotline.db import calllogs
from hotline.db.base import session_scope
from hotline.db.calllogs import LogFields
from hotline.db.models import CallLog, User

from .conftest import ADMIN_NAME, AGENT_NAME, log_in

Sessions = async_sessionmaker[AsyncSession]
TZ = "Asia/Shanghai"
# 2026-12-01 00:30 in Beijing is 2026-11-30 16:30 UTC: the local day, not the UTC one.
MIDNIGHT_UTC = datetime(2026, 11, 30, 16, 0, tzinfo=UTC)


def _fields(n: int, **changes: str) -> LogFields:
    values = {"caller_name": f"来电人{n:03d}", "caller_kind": "party",
              "contact": f"1381234{n:04d}", "id_number": "", "case_number": "",
              "category": "consultation" if n % 2 else "complaint",
              "question": f"第{n}个问题", "answer": "答复", "outcome": "answered"}
    return LogFields(**(values | changes))


async def _owner(db: AsyncSession, name: str) -> int:
    return (await db.execute(select(User.id).where(User.username == name))).scalar_one()


async def _seed(sessions: Sessions, count: int) -> None:
    """count logs by the agent, one every 30 minutes from 2026-12-01 00:30 Beijing."""
    async with session_scope(sessions) as db:
        owner = await _owner(db, AGENT_NAME)
        for n in range(count):
            at = MIDNIGHT_UTC + timedelta(minutes=30 * (n + 1))
            await calllogs.create_log(db, _fields(n), owner, None, at)


SPEC = Spec(search=(CallLog.caller_name, CallLog.question), numbers=(CallLog.contact,),
            moment=CallLog.created_at,
            filters={"category": Filter("事项类别", {"consultation": "诉讼咨询",
                                                    "complaint": "投诉"},
                                        lambda v: CallLog.category == v)},
            sorts={"time": Sort("时间", CallLog.created_at, CallLog.id),
                   "caller": Sort("来电人", CallLog.caller_name, CallLog.id)},
            default_sort="time")


async def _page(sessions: Sessions, **raw: str) -> tuple[list[str], int, int, dict[str, str]]:
    wanted = read_query(raw, SPEC, TZ, base="/x")
    async with session_scope(sessions) as db:
        page = await page_of(db, calllogs.list_query(), wanted)
    return ([calllogs.as_row(r).log.caller_name for r in page.rows], page.total, page.number,
            wanted.errors)


async def test_paging_counts_the_whole_list_and_cuts_pages_of_fifty(
        sessions: Sessions, staff: None) -> None:
    await _seed(sessions, 120)
    names, total, number, errors = await _page(sessions)
    assert (len(names), total, number, errors) == (50, 120, 1, {})
    assert names[0] == "来电人119"  # newest first by default
    names, total, number, _ = await _page(sessions, page="3")
    assert (len(names), number, names[-1]) == (20, 3, "来电人000")
    # a page past the end shows the last one
    _, _, number, errors = await _page(sessions, page="9")
    assert number == 3 and errors == {}


async def test_search_date_filter_and_sort_apply_in_sql(sessions: Sessions,
                                                        staff: None) -> None:
    await _seed(sessions, 60)
    # by text, and by a number's digits typed with spaces and dashes
    assert (await _page(sessions, q="第7个"))[0] == ["来电人007"]
    assert (await _page(sessions, q="138-1234 0042"))[0] == ["来电人042"]
    # the court's local day: 2026-12-01 holds logs 0..46 (00:30 .. 23:30 Beijing)
    _, total, _, _ = await _page(sessions, start="2026-12-01", end="2026-12-01")
    assert total == 47
    _, total, _, _ = await _page(sessions, start="2026-12-02")
    assert total == 13
    _, total, _, _ = await _page(sessions, category="complaint", start="2026-12-02")
    assert total == 6  # 48, 50 .. 58
    names, _, _, _ = await _page(sessions, sort="caller", dir="asc")
    assert names[:2] == ["来电人000", "来电人001"]
    # % and _ are searched as themselves, not as wildcards
    assert (await _page(sessions, q="%"))[1] == 0
    assert (await _page(sessions, q="来电人_"))[1] == 0


async def test_wrong_parameters_are_named_in_chinese_and_left_out(
        sessions: Sessions, staff: None) -> None:
    await _seed(sessions, 3)
    _, total, number, errors = await _page(
        sessions, start="2026-13-01", end="yesterday", category="weather", sort="password",
        dir="sideways", page="-2")
    assert total == 3 and number == 1
    assert set(errors) == {"start", "end", "category", "sort", "dir", "page"}
    assert "开始日期格式不正确" in errors["start"] and "2026-12-01" in errors["start"]
    assert "事项类别不在可选范围内" in errors["category"]
    assert "页码应为正整数" in errors["page"]
    _, _, _, errors = await _page(sessions, start="2026-12-02", end="2026-12-01")
    assert "结束日期须不早于开始日期" in errors["end"]


def test_links_keep_the_filters_and_reset_the_page() -> None:
    wanted = read_query({"q": "张三", "category": "complaint", "page": "2", "bogus": "x"},
                        SPEC, TZ, base="/calls/logs")
    assert wanted.href(page=3) == "/calls/logs?q=%E5%BC%A0%E4%B8%89&category=complaint&page=3"
    assert "page=" not in wanted.sort_href("caller")
    assert "sort=caller&dir=desc" in wanted.sort_href("caller")
    assert wanted.href(q=None, category=None) == "/calls/logs"


async def test_the_call_log_page_searches_filters_and_pages(
        client: httpx.AsyncClient, sessions: Sessions) -> None:
    await _seed(sessions, 55)
    await log_in(client, ADMIN_NAME)
    page = await client.get("/calls/logs")
    assert page.status_code == 200
    assert "共 55 条" in page.text and 'aria-label="分页"' in page.text
    assert page.text.count('<tr id="log-') == 50
    assert "138****0054" in page.text  # masked for the administrator ...
    found = await client.get("/calls/logs", params={"q": "13812340054"})
    assert "共 1 条" in found.text and "138****0054" in found.text  # ... and found by it
    assert '<td class="contact">138****0054</td>' in found.text
    bad = await client.get("/calls/logs", params={"start": "12/01", "agent": "nobody"})
    assert bad.status_code == 200 and "共 55 条" in bad.text
    assert "开始日期格式不正确" in bad.text and "座席员不在可选范围内" in bad.text
    assert 'name="start" value="12/01"' in bad.text, "what was typed is shown again"
    mine = await client.get("/calls/logs", params={"agent": AGENT_NAME, "page": "2"})
    assert mine.text.count('<tr id="log-') == 5 and 'aria-current="page"' in mine.text
