"""Administration in the browser (issue 13): staff mobiles checked as SMS recipients, users,
the knowledge base with its history, departments deleted through a confirmation."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agent_console import accounts
from hotline.db.base import session_scope

from .conftest import ADMIN_NAME, AGENT_NAME, PASSWORD, csrf_of, log_in

Sessions = async_sessionmaker[AsyncSession]


async def _admin(client: httpx.AsyncClient, page: str = "/admin/users") -> str:
    await log_in(client, ADMIN_NAME)
    return csrf_of((await client.get(page)).text)


async def _user_id(sessions: Sessions, username: str) -> int:
    async with session_scope(sessions) as db:
        user = await accounts.get_user(db, username)
        assert user is not None
        return user.id


async def _mobile(sessions: Sessions, username: str) -> str:
    async with session_scope(sessions) as db:
        user = await accounts.get_user(db, username)
        assert user is not None
        return user.mobile


# --- staff mobiles ------------------------------------------------------------------------

@pytest.mark.parametrize(("typed", "says"), [
    ("1390000000", "手机号码应为11位，现为10位"),
    ("139000000012345", "手机号码应为11位，现为15位"),
    ("0379-65110002", "短信只能发到手机号码"),
    ("139-abc", "只能包含数字"),
])
async def test_a_staff_mobile_that_cannot_take_sms_is_refused_naming_why(
        client: httpx.AsyncClient, sessions: Sessions, typed: str, says: str) -> None:
    csrf = await _admin(client, "/admin/departments")
    agent = await _user_id(sessions, AGENT_NAME)
    page = await client.post(f"/admin/users/{agent}/mobile",
                             data={"mobile": typed, "csrf_token": csrf})
    assert page.status_code == 422 and says in page.text
    assert f'value="{typed}"' in page.text
    login = await client.post("/api/login", json={"username": ADMIN_NAME, "password": PASSWORD})
    api = await client.put(f"/api/users/{agent}/mobile", json={"mobile": typed},
                           headers={"Authorization": f"Bearer {login.json()['access_token']}"})
    assert api.status_code == 422 and says in api.json()["detail"]["errors"]["mobile"]
    assert await _mobile(sessions, AGENT_NAME) == ""


async def test_a_staff_mobile_is_kept_in_normal_form_and_can_be_cleared(
        client: httpx.AsyncClient, sessions: Sessions) -> None:
    csrf = await _admin(client, "/admin/departments")
    agent = await _user_id(sessions, AGENT_NAME)
    saved = await client.post(f"/admin/users/{agent}/mobile",
                              data={"mobile": "+86 139-0000-0002", "csrf_token": csrf})
    assert saved.status_code == 303
    assert await _mobile(sessions, AGENT_NAME) == "13900000002"
    await client.post(f"/admin/users/{agent}/mobile", data={"mobile": " ", "csrf_token": csrf})
    assert await _mobile(sessions, AGENT_NAME) == ""
