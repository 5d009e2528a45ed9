"""Each list's search, filters and paging through its page (matters, consultations, SMS,
notices), on each database: what a user types finds the rows it names, nothing else."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agent_console import accounts
from agent_console.texts import DEPT_HANDLER, DEPT_HEAD, LEADER
from hotline.db import consultations, notices, sms
from hotline.db.base import session_scope
from hotline.db.models import Department, Notice, Ticket, User
from hotline.db.tickets import create_ticket

from .conftest import ADMIN_NAME, AGENT_NAME, PASSWORD, log_in

Sessions = async_sessionmaker[AsyncSession]
T0 = datetime(2026, 11, 30, 16, 30, tzinfo=UTC)  # 2026-12-01 00:30 Beijing


async def _user(db: AsyncSession, name: str) -> User:
    user = await accounts.get_user(db, name)
    assert user is not None
    return user


def _ids(html: str, prefix: str) -> list[str]:
    return re.findall(rf'<tr id="{prefix}-(\d+)"', html)


@pytest.fixture
async def matters(sessions: Sessions, staff: None) -> dict[str, str]:
    """55 complaints and 5 suggestions owned by the agent, a day apart in pairs; the
    suggestions forwarded to 执行局, two complaints to 立案庭 and closed. Returns the
    references of the first suggestion and the first complaint."""
    async with session_scope(sessions) as db:
        agent = await _user(db, AGENT_NAME)
        handler = await accounts.add_user(db, "handler", PASSWORD, DEPT_HANDLER, "赵专人")
        head = await accounts.add_user(db, "head", PASSWORD, DEPT_HEAD, "钱负责")
        leader = await accounts.add_user(db, "leader", PASSWORD, LEADER, "孙院长")
        lian, zhixing = (Department(name=n, handler_id=handler.id, head_id=head.id,
                                    leader_id=leader.id) for n in ("立案庭", "执行局"))
        db.add_all([lian, zhixing])
        await db.flush()
        found = {}
        for n in range(60):
            kind = "suggestion" if n >= 55 else "complaint"
            ticket = await create_ticket(db, kind, f"1390000{n:04d}", None,
                                         text=f"第{n}件：{'窗口推诿' if n % 2 else '电话难打'}",
                                         owner_id=agent.id, now=T0 + timedelta(hours=12 * n))
            if kind == "suggestion" or n < 2:
                ticket.department_id = (zhixing if kind == "suggestion" else lian).id
                ticket.forwarded_at = ticket.created_at
            if n < 2:
                ticket.status = "closed"
            found.setdefault(kind, ticket.reference)
        return found


async def test_matters_are_found_by_reference_number_text_type_and_status(
        client: httpx.AsyncClient, matters: dict[str, str]) -> None:
    await log_in(client)
    mine = await client.get("/tickets/mine")
    assert "共 60 条" in mine.text and len(_ids(mine.text, "ticket")) == 50

    async def count(url: str = "/tickets/mine", **params: str) -> int:
        page = await client.get(url, params=params)
        assert page.status_code == 200
        return len(_ids(page.text, "ticket"))

    assert await count(page="2") == 10
    assert await count(q=matters["suggestion"]) == 1
    assert await count(q="139 0000 0042") == 1
    assert await count(q="窗口推诿") == 30
    assert await count(type="suggestion") == 5
    assert await count(status="closed") == 2
    assert await count(start="2026-12-01", end="2026-12-01") == 2  # local days
    bad = await client.get("/tickets/mine", params={"type": "weather", "status": "x"})
    assert "类型不在可选范围内" in bad.text and "状态不在可选范围内" in bad.text
    # the handler finds a forwarded matter by its reference, and sees only forwarded ones
    client.cookies.clear()
    await log_in(client, "handler")
    assert await count("/handler") == 7
    assert await count("/handler", q=matters["complaint"]) == 1
    # the administrator filters the forwarded matters by department
    client.cookies.clear()
    await log_in(client, ADMIN_NAME)
    page = await client.get("/api/tickets", params={"department": "执行局"},
                            headers={"Accept": "application/json"})
    assert page.status_code == 200 and page.headers["X-Total-Count"] == "5"
    assert {t["type"] for t in page.json()} == {"suggestion"}
    refused = await client.get("/api/tickets", params={"department": "不存在的庭"})
    assert refused.status_code == 422 and "部门不在可选范围内" in refused.text


async def test_consultations_sms_and_notices_search_and_filter(
        client: httpx.AsyncClient, sessions: Sessions, staff: None) -> None:
    async with session_scope(sessions) as db:
        agent = await _user(db, AGENT_NAME)
        admin = await _user(db, ADMIN_NAME)
        judge = await accounts.add_user(db, "wang", PASSWORD, "duty_judge", "王法官")
        for n in range(3):
            asked = await consultations.send_consultation(
                db, f"问题{n}：能否延期举证？", agent.id, judge.id, f"1380000000{n}", None,
                T0 + timedelta(minutes=n))
            if n == 0:
                await consultations.answer_consultation(db, asked.id, judge.id, "可以。", T0)
        for n in range(3):
            await sms.record_inbound(db, f"1370000000{n}", "12368", f"我的案子{n}怎么样了",
                                     T0 + timedelta(minutes=n))
        await sms.queue_sms(db, "13600000000", "开庭通知")
        db.add_all([Notice(user_id=admin.id, kind="forwarded", text=f"通知{n}",
                           created_at=T0, read_at=T0 if n else None) for n in range(3)])
    await log_in(client)
    sent = await client.get("/consultations", params={"status": "answered"})
    assert "共 1 条" in sent.text and "问题0" in sent.text and "问题1" not in sent.text
    found = await client.get("/consultations", params={"q": "问题2"})
    assert "共 1 条" in found.text and "问题2" in found.text
    inbox = await client.get("/sms/inbox", params={"q": "13700000001"})
    assert "共 1 条" in inbox.text and "我的案子1" in inbox.text and "我的案子2" not in inbox.text
    outbox = await client.get("/sms/outbox", params={"status": "failed"})
    assert "共 0 条" in outbox.text
    assert "共 1 条" in (await client.get("/sms/outbox", params={"status": "queued"})).text

    client.cookies.clear()
    await log_in(client, ADMIN_NAME)
    unread = await client.get("/notices", params={"read": "unread"})
    assert "共 1 条" in unread.text and "通知0" in unread.text and "通知1" not in unread.text
    assert "2026-12-01 00:30" in unread.text  # Beijing time, not UTC's 11-30 16:30
    async with session_scope(sessions) as db:
        assert await notices.unread_count(db, admin.id) == 1

    client.cookies.clear()
    await log_in(client, "wang")
    judge_page = await client.get("/judge/consultations")
    # both open ones stay on top, unpaged; the answered one is in the list below
    assert judge_page.text.count('class="consultation"') == 2 and "共 1 条" in judge_page.text
    async with session_scope(sessions) as db:
        assert len(list((await db.execute(select(Ticket))).scalars())) == 3


async def test_matters_are_found_by_their_case_number(
        client: httpx.AsyncClient, sessions: Sessions, matters: dict[str, str]) -> None:
    """A matter's case number is its call log's (the log it was made from, or a log of the
    call that raised it), shown in its column and found typed with either kind of bracket,
    spaces, or a part of it."""
    from hotline.db import calllogs, calls
    from hotline.db.calllogs import LogFields
    from hotline.tickets import ticket_for_call_log

    def fields(case: str) -> LogFields:
        return LogFields(caller_name="王五", caller_kind="party", contact="13812345678",
                         id_number="", case_number=case, category="complaint",
                         question="立案后无人联系", answer="", outcome="forwarded")

    async with session_scope(sessions) as db:
        agent = await _user(db, AGENT_NAME)
        made = await ticket_for_call_log(
            db, await calllogs.create_log(db, fields("（2026）京0105民初1234号"), agent.id))
        await calls.ensure_call(db, "1796047504.0", caller_number="13812345678")
        raised = await create_ticket(db, "callback", "13812345678", "1796047504.0",
                                     owner_id=agent.id)
        await calllogs.create_log(db, fields("（2025）京0105执5号"), agent.id, "1796047504.0")
        references = made.reference, raised.reference
    await log_in(client)

    async def found(q: str) -> list[str]:
        response = await client.get("/api/tickets", params={"q": q})
        assert response.status_code == 200, response.text
        return [t["reference"] for t in response.json()]

    assert await found("(2026)京0105民初1234号") == [references[0]]
    assert await found("民初 1234") == [references[0]]
    assert await found("【2025】京0105执5") == [references[1]]
    assert await found("京0105") == sorted(references, reverse=True)
    page = await client.get("/tickets/mine", params={"q": "(2026)京0105民初1234"})
    assert "共 1 条" in page.text and "<td class=\"case\">（2026）京0105民初1234号</td>" in page.text
    logs = await client.get("/api/calllogs", params={"q": "(2025) 京0105执5号"})
    assert logs.headers["X-Total-Count"] == "1"
