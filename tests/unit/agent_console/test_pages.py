"""The console's pages: login, logout, CSRF, idle expiry, role refusal."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agent_console import accounts
from agent_console.app import create_app
from agent_console.auth import SESSION_COOKIE
from agent_console.texts import MESSAGES, ROLE_LABELS, ROLES
from hotline.db.base import session_scope
from hotline.db.models import User
from hotline.settings import Settings

from .conftest import ADMIN_NAME, AGENT_NAME, PASSWORD, Clock, csrf_of, log_in


async def test_login_page_is_chinese_with_a_safe_cookie(client: httpx.AsyncClient) -> None:
    response = await client.get("/login")

    assert response.status_code == 200
    assert '<html lang="zh-CN">' in response.text and "用户名" in response.text
    cookie = response.headers["set-cookie"].lower()
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"


async def test_login_greets_the_agent_with_their_role(client: httpx.AsyncClient) -> None:
    response = await log_in(client)

    # An agent with a seat goes straight to the desk (and into the queue, with a PBX).
    assert response.status_code == 303 and response.headers["location"] == "/desk"
    home = await client.get("/")
    assert home.status_code == 200
    assert "您好，张三！" in home.text and "您的角色：<strong class=\"role\">座席员" in home.text
    assert "8001" in home.text
    assert "用户管理" not in home.text, "an agent is not offered the admin pages"


async def test_every_role_has_its_chinese_label_on_the_home_page(
        client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]) -> None:
    async with session_scope(sessions) as db:
        for role in ROLES:
            await accounts.add_user(db, f"u-{role}", PASSWORD, role)

    for role in ROLES:
        client.cookies.clear()
        assert (await log_in(client, f"u-{role}")).status_code == 303
        assert f"（{ROLE_LABELS[role]}）" in (await client.get("/")).text


async def test_leaders_and_administrators_land_on_the_dashboard(
        client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]) -> None:
    async with session_scope(sessions) as db:
        for role in ("leader", "admin", "dept_head"):
            await accounts.add_user(db, f"u-{role}", PASSWORD, role)

    for role, dashboard in (("leader", True), ("admin", True), ("dept_head", False)):
        client.cookies.clear()
        assert (await log_in(client, f"u-{role}")).status_code == 303
        home = await client.get("/")
        assert home.status_code == 200
        assert ("<h1>统计分析" in home.text) is dashboard, role
        assert ("您好" in home.text) is not dashboard, role


async def test_wrong_password_shows_a_chinese_error_and_keeps_the_username(
        client: httpx.AsyncClient) -> None:
    response = await log_in(client, password="wrong-password")

    assert response.status_code == 200
    assert MESSAGES["bad_credentials"] == "用户名或密码错误，请重新输入。"
    assert MESSAGES["bad_credentials"] in response.text
    assert 'name="username" value="zhang"' in response.text
    assert "wrong-password" not in response.text
    assert (await client.get("/")).headers["location"] == "/login", "still not logged in"


async def test_an_unknown_username_gets_exactly_the_wrong_password_answer(
        client: httpx.AsyncClient) -> None:
    def normalised(response: httpx.Response, username: str) -> tuple[int, str]:
        text = response.text.replace(csrf_of(response.text), "TOKEN")
        return response.status_code, text.replace(f'value="{username}"', 'value="NAME"')

    wrong = await log_in(client, AGENT_NAME, "wrong-password")
    unknown = await log_in(client, "nobody", "wrong-password")

    assert normalised(wrong, AGENT_NAME) == normalised(unknown, "nobody")


async def test_login_without_or_with_a_wrong_csrf_token_is_refused(
        client: httpx.AsyncClient) -> None:
    await client.get("/login")
    form = {"username": AGENT_NAME, "password": PASSWORD}

    for token in ({}, {"csrf_token": "forged"}):
        response = await client.post("/login", data={**form, **token})
        assert response.status_code == 403
        assert MESSAGES["form_expired"] in response.text
        assert (await client.get("/")).headers["location"] == "/login"


async def test_login_gives_a_new_session_id(client: httpx.AsyncClient) -> None:
    await client.get("/login")
    before = client.cookies[SESSION_COOKIE]

    await log_in(client)

    assert client.cookies[SESSION_COOKIE] != before


async def test_logout_needs_the_csrf_token_and_ends_the_session(
        client: httpx.AsyncClient) -> None:
    await log_in(client)
    token = csrf_of((await client.get("/")).text)
    cookie = client.cookies[SESSION_COOKIE]

    refused = await client.post("/logout", data={"csrf_token": "forged"})
    assert refused.status_code == 403 and MESSAGES["csrf"] in refused.text
    assert (await client.get("/")).status_code == 200, "a refused logout leaves the session"

    response = await client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 303 and response.headers["location"] == "/login"
    client.cookies.set(SESSION_COOKIE, cookie)  # replaying the old cookie gets nothing
    assert (await client.get("/")).headers["location"] == "/login"


async def test_a_session_ends_after_the_idle_timeout(client: httpx.AsyncClient,
                                                     clock: Clock) -> None:
    await log_in(client)

    clock.advance(minutes=300)
    assert (await client.get("/")).status_code == 200
    clock.advance(minutes=300)
    assert (await client.get("/")).status_code == 200, "each request restarts the idle time"
    client.cookies.clear()
    await log_in(client)
    clock.advance(minutes=480)  # within the absolute lifetime: the idle time ends it
    response = await client.get("/")
    assert response.status_code == 303 and response.headers["location"] == "/login"


async def test_pages_send_anonymous_visitors_to_the_login(client: httpx.AsyncClient) -> None:
    for path in ("/", "/admin/users"):
        response = await client.get(path)
        assert response.status_code == 303 and response.headers["location"] == "/login"


async def test_the_admin_page_refuses_an_agent_with_403(client: httpx.AsyncClient) -> None:
    await log_in(client)

    response = await client.get("/admin/users")

    assert response.status_code == 403
    assert "403 无权访问" in response.text and MESSAGES["role"] in response.text
    assert "李管理" not in response.text


async def test_the_admin_page_lists_the_users(client: httpx.AsyncClient) -> None:
    await log_in(client, ADMIN_NAME)

    response = await client.get("/admin/users")

    assert response.status_code == 200
    assert "<td>zhang</td><td>张三</td>" in response.text and "<td>座席员</td>" in response.text
    assert "$argon2" not in response.text


async def test_a_deactivated_user_is_logged_out_and_cannot_log_in(
        client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]) -> None:
    await log_in(client)
    async with session_scope(sessions) as db:
        user = await accounts.get_user(db, AGENT_NAME)
        assert isinstance(user, User)
        user.active = False

    assert (await client.get("/")).headers["location"] == "/login"
    response = await log_in(client)
    assert response.status_code == 200 and MESSAGES["bad_credentials"] in response.text


def test_pages_have_the_masking_filters() -> None:
    app = create_app(Settings(), async_sessionmaker())
    filters = app.state.console.templates.env.filters

    assert filters["mask_phone"]("13812345678") == "138****5678"
    assert filters["mask_text"]("来电 13812345678") == "来电 138****5678"
