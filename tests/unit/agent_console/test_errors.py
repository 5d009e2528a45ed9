"""Error pages: a page in Chinese in the console's layout for the browser, {"detail": 中文}
for /api/, and a fault logged with its traceback but never shown."""

from __future__ import annotations

import logging

import httpx
import pytest
from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agent_console.app import create_app
from agent_console.texts import MESSAGES
from hotline.settings import Settings

from .conftest import ADMIN_NAME, Clock, log_in

pytestmark = pytest.mark.usefixtures("staff")


async def test_a_wrong_address_is_a_chinese_page_with_the_navigation_when_logged_in(
        client: httpx.AsyncClient) -> None:
    anonymous = await client.get("/no/such/page")
    assert anonymous.status_code == 404
    assert anonymous.headers["content-type"].startswith("text/html")
    assert "页面不存在" in anonymous.text and MESSAGES["error_404"] in anonymous.text
    assert "Not Found" not in anonymous.text and 'aria-label="主导航"' not in anonymous.text

    await log_in(client, ADMIN_NAME)
    logged_in = await client.get("/no/such/page")
    assert logged_in.status_code == 404
    assert 'aria-label="主导航"' in logged_in.text and "退出登录" in logged_in.text


async def test_the_api_answers_json_in_chinese(client: httpx.AsyncClient) -> None:
    missing = await client.get("/api/no/such/thing")
    assert missing.status_code == 404
    assert missing.json() == {"detail": MESSAGES["error_404"]}
    wrong_method = await client.delete("/api/me")
    assert wrong_method.status_code == 405
    assert wrong_method.json() == {"detail": MESSAGES["error_405"]}
    assert "GET" in wrong_method.headers["allow"]


async def test_a_wrong_method_on_a_page_and_a_refused_role_are_pages(
        client: httpx.AsyncClient) -> None:
    wrong_method = await client.put("/login")
    assert wrong_method.status_code == 405
    assert "访问方式不对" in wrong_method.text and "Method Not Allowed" not in wrong_method.text

    await log_in(client)  # an agent, on an administrators' page
    refused = await client.get("/admin/logins")
    assert refused.status_code == 403
    assert "无权访问" in refused.text and MESSAGES["role"] in refused.text
    assert 'aria-label="主导航"' in refused.text


async def test_a_form_the_framework_refuses_is_a_page_and_a_bad_path_is_not_found(
        client: httpx.AsyncClient) -> None:
    await log_in(client, ADMIN_NAME)
    bad_path = await client.get("/tickets/abc")
    assert bad_path.status_code == 404 and "页面不存在" in bad_path.text
    # A value the framework cannot read (a number that is not one) is a page, not a list.
    unreadable = await client.get("/admin/users", params={"count": "abc"})
    assert unreadable.status_code == 422 and "提交的内容有误" in unreadable.text
    assert MESSAGES["error_422"] in unreadable.text and "int_parsing" not in unreadable.text
    huge_id = await client.get("/tickets/" + "9" * 30)
    assert huge_id.status_code == 404 and MESSAGES["out_of_range"] in huge_id.text
    # The API keeps FastAPI's list of what was wrong, for programs.
    api = await client.get("/api/tickets/abc")
    assert api.status_code == 422 and isinstance(api.json()["detail"], list)


async def test_a_fault_is_logged_with_its_traceback_and_shown_as_an_apology(
        settings: Settings, sessions: async_sessionmaker[AsyncSession], clock: Clock,
        caplog: pytest.LogCaptureFixture) -> None:
    app = create_app(settings, sessions, clock=clock)
    faulty = APIRouter()

    @faulty.get("/broken")
    @faulty.get("/api/broken")
    async def broken() -> None:
        raise RuntimeError("secret table users_password_hash")

    app.include_router(faulty)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        with caplog.at_level(logging.ERROR, logger="agent_console"):
            page = await client.get("/broken")
            api = await client.get("/api/broken")

    assert page.status_code == 500 and "系统错误" in page.text
    assert MESSAGES["error_500"] in page.text
    assert "secret table" not in page.text and "Traceback" not in page.text
    assert page.headers["x-frame-options"] == "DENY"
    assert api.status_code == 500 and api.json() == {"detail": MESSAGES["error_500"]}
    faults = [r for r in caplog.records if r.exc_info and "GET /broken" in r.getMessage()]
    assert faults and "secret table" in str(faults[0].exc_info[1])
