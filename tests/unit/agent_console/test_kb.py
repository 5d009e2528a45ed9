"""Knowledge base search for every role; entries written by administrators only."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agent_console import accounts
from agent_console.texts import ROLES
from hotline.db import knowledge
from hotline.db.base import session_scope

from .conftest import ADMIN_NAME, PASSWORD, csrf_of, log_in

Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
async def entries(sessions: Sessions) -> None:
    async with session_scope(sessions) as db:
        await knowledge.upsert_entry(db, "上诉期限", "判决书送达之日起十五日内。", "1", "上诉")
        await knowledge.upsert_entry(db, "诉讼费缴纳", "可通过网上银行缴纳。", "", "费用")
        await knowledge.upsert_entry(db, "旧规定", "已废止。", "", "费用", active=False)


async def test_every_role_searches_title_answer_and_category(
        client: httpx.AsyncClient, sessions: Sessions, entries: None) -> None:
    async with session_scope(sessions) as db:
        for role in ROLES:
            await accounts.add_user(db, f"u-{role}", PASSWORD, role)
    for role in ROLES:
        client.cookies.clear()
        await log_in(client, f"u-{role}")
        page = await client.get("/kb", params={"q": "十五日"})
        assert page.status_code == 200 and "上诉期限" in page.text and "诉讼费缴纳" not in page.text
    response = await client.post("/api/login", json={"username": "u-agent",
                                                     "password": PASSWORD})
    auth = {"Authorization": f"Bearer {response.json()['access_token']}"}
    by_category = (await client.get("/api/kb", headers=auth, params={"q": "费用"})).json()
    assert [e["title"] for e in by_category] == ["诉讼费缴纳"], "inactive ones hidden"
    assert len((await client.get("/api/kb", headers=auth)).json()) == 2


async def test_only_admins_write_entries_with_field_errors(
        client: httpx.AsyncClient, entries: None) -> None:
    await log_in(client)
    csrf = csrf_of((await client.get("/calls/log")).text)
    assert (await client.post("/admin/kb", data={"title": "x", "answer": "y",
                                                 "csrf_token": csrf})).status_code == 403
    client.cookies.clear()
    await log_in(client, ADMIN_NAME)
    page = await client.get("/kb", params={"q": "废止"})
    assert "旧规定" in page.text, "administrators find inactive entries too"
    bad = await client.post("/admin/kb", data={"title": "", "answer": "保留的答复",
                                               "menu_key": "0", "csrf_token": csrf_of(page.text)})
    assert bad.status_code == 422 and "请填写标题。" in bad.text and "请选择语音菜单按键。" in bad.text
    assert "保留的答复</textarea>" in bad.text
    saved = await client.post("/admin/kb", data={
        "title": "立案材料", "answer": "起诉状和身份证明。", "category": "立案", "active": "1",
        "csrf_token": csrf_of(page.text)})
    assert saved.status_code == 303
    assert "起诉状和身份证明。" in (await client.get("/kb", params={"q": "立案"})).text
