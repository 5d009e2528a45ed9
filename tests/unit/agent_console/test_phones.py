"""/admin/phones and /api/phones without a running PBX: changes are saved and validated,
the answer says the reload did not happen, and only administrators get in."""

from __future__ import annotations

import re

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.db import phones as phones_db
from hotline.db.base import session_scope

from .conftest import ADMIN_NAME, PASSWORD, csrf_of, log_in


async def _bearer(client: httpx.AsyncClient, username: str = ADMIN_NAME) -> dict[str, str]:
    response = await client.post("/api/login", json={"username": username,
                                                     "password": PASSWORD})
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def _password(sessions: async_sessionmaker[AsyncSession], ext: str) -> str:
    async with session_scope(sessions) as db:
        return (await phones_db.get_phone(db, ext)).password


async def test_an_agent_is_refused_the_page_and_the_api(client: httpx.AsyncClient) -> None:
    await log_in(client)  # the agent
    page = await client.get("/admin/phones")
    assert page.status_code == 403 and "无权" in page.text

    headers = await _bearer(client, "zhang")
    for response in (await client.get("/api/phones", headers=headers),
                     await client.post("/api/phones", headers=headers,
                                       json={"extension": "8009"})):
        assert response.status_code == 403


async def test_the_api_adds_disables_enables_and_re_keys(
        client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]) -> None:
    headers = await _bearer(client)

    added = await client.post("/api/phones", headers=headers,
                              json={"extension": "8005", "kind": "seat", "label": "五号座"})
    assert added.status_code == 200
    body = added.json()
    assert body["phone"] == {"extension": "8005", "kind": "seat", "kind_label": "座席",
                             "label": "五号座", "enabled": True, "registered": None,
                             "contact_status": ""}
    assert body["password"] == await _password(sessions, "8005")
    assert body["reloaded"] is False and "未能重新加载" in body["message"]

    disabled = await client.post("/api/phones/8005/disable", headers=headers)
    assert disabled.status_code == 200
    assert disabled.json()["phone"]["enabled"] is False
    assert disabled.json()["password"] is None  # only adds and resets show one
    reset = await client.post("/api/phones/8005/reset-password", headers=headers)
    assert reset.json()["password"] == await _password(sessions, "8005") != body["password"]
    enabled = await client.post("/api/phones/8005/enable", headers=headers)
    assert enabled.json()["phone"]["enabled"] is True

    listed = await client.get("/api/phones", headers=headers)
    assert [(p["extension"], p["enabled"]) for p in listed.json()] == [("8005", True)]
    assert "password" not in listed.json()[0]


async def test_the_api_names_the_field_at_fault(client: httpx.AsyncClient) -> None:
    headers = await _bearer(client)
    await client.post("/api/phones", headers=headers, json={"extension": "8005"})

    for payload, field in (({"extension": "12368"}, "extension"),
                           ({"extension": "8005"}, "extension"),
                           ({"extension": "8006", "kind": "clerk"}, "kind")):
        response = await client.post("/api/phones", headers=headers, json=payload)
        assert response.status_code == 422
        assert response.json()["detail"]["field"] == field
        assert response.json()["detail"]["message"]
    missing = await client.post("/api/phones/8999/disable", headers=headers)
    assert missing.status_code == 404 and missing.json()["detail"]["field"] == "extension"
    bad_action = await client.post("/api/phones/8005/delete", headers=headers)
    assert bad_action.status_code == 422


async def test_the_page_adds_a_phone_and_shows_its_password_once(
        client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]) -> None:
    await log_in(client, ADMIN_NAME)
    page = await client.get("/admin/phones")
    assert page.status_code == 200 and "话机管理" in page.text and "还没有话机" in page.text

    added = await client.post("/admin/phones", data={
        "extension": "8005", "kind": "judge", "label": "二楼", "csrf_token": csrf_of(page.text)})

    assert added.status_code == 200
    shown = re.search(r'<code id="new-password">([^<]+)</code>', added.text)
    assert shown and shown[1] == await _password(sessions, "8005")
    assert "已添加分机 8005" in added.text and "值班法官" in added.text
    again = await client.get("/admin/phones")
    assert shown[1] not in again.text, "the password is shown once, not on every visit"


async def test_a_bad_form_names_the_field_and_keeps_what_was_typed(
        client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]) -> None:
    await log_in(client, ADMIN_NAME)
    page = await client.get("/admin/phones")

    response = await client.post("/admin/phones", data={
        "extension": "80x1", "kind": "judge", "label": "三楼东", "csrf_token": csrf_of(page.text)})

    assert response.status_code == 422
    assert 'data-field="extension"' in response.text and "3 至 6 位数字" in response.text
    assert 'value="80x1"' in response.text and 'value="三楼东"' in response.text
    assert '<option value="judge" selected>' in response.text
    async with session_scope(sessions) as db:
        assert await phones_db.list_phones(db) == []


async def test_the_page_refuses_a_change_without_the_csrf_token(
        client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]) -> None:
    async with session_scope(sessions) as db:
        await phones_db.add_phone(db, "8005", "seat")
    await log_in(client, ADMIN_NAME)

    refused = await client.post("/admin/phones/8005/disable", data={})

    assert refused.status_code == 403
    async with session_scope(sessions) as db:
        assert (await phones_db.get_phone(db, "8005")).enabled is True
    page = await client.get("/admin/phones")
    done = await client.post("/admin/phones/8005/disable",
                             data={"csrf_token": csrf_of(page.text)})
    assert done.status_code == 200 and "已停用分机 8005" in done.text
