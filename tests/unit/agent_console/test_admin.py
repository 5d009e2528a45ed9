"""Administration in the browser (issue 13): staff mobiles checked as SMS recipients, users,
the knowledge base with its history, departments deleted through a confirmation."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agent_console import accounts
from hotline.db import departments, knowledge, presence
from hotline.db.base import session_scope
from hotline.db.models import Ticket
from hotline.db.tickets import create_ticket

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

MOBILE_REFUSALS = [
    ("1390000000", "手机号码应为11位，现为10位"),
    ("139000000012345", "手机号码应为11位，现为15位"),
    ("0379-65110002", "短信只能发到手机号码"),
    ("139-abc", "只能包含数字"),
]


async def test_a_staff_mobile_that_cannot_take_sms_is_refused_naming_why(
        client: httpx.AsyncClient, sessions: Sessions) -> None:
    csrf = await _admin(client, "/admin/departments")
    agent = await _user_id(sessions, AGENT_NAME)
    login = await client.post("/api/login", json={"username": ADMIN_NAME, "password": PASSWORD})
    token = {"Authorization": f"Bearer {login.json()['access_token']}"}
    for typed, says in MOBILE_REFUSALS:
        page = await client.post(f"/admin/users/{agent}/mobile",
                                 data={"mobile": typed, "csrf_token": csrf})
        assert page.status_code == 422 and says in page.text, typed
        assert f'value="{typed}"' in page.text
        api = await client.put(f"/api/users/{agent}/mobile", json={"mobile": typed},
                               headers=token)
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


# --- users --------------------------------------------------------------------------------

def _password_on(html: str) -> str:
    found = re.search(r'<code id="new-password">([^<]+)</code>', html)
    assert found, "no password shown"
    return found.group(1)


async def test_an_added_user_logs_in_with_the_password_shown_once(
        client: httpx.AsyncClient, sessions: Sessions, caplog: pytest.LogCaptureFixture) -> None:
    csrf = await _admin(client)
    added = await client.post("/admin/users", data={
        "username": "wang", "display_name": "王五", "role": "agent", "extension": "8002",
        "mobile": "139 0000 0003", "csrf_token": csrf})
    assert added.status_code == 200 and "已新增用户 王五（wang）" in added.text
    password = _password_on(added.text)
    assert password not in (await client.get("/admin/users")).text
    assert password not in caplog.text
    async with session_scope(sessions) as db:
        wang = await accounts.get_user(db, "wang")
        assert wang is not None and password not in wang.password_hash
        assert (wang.role, wang.extension, wang.mobile) == ("agent", "8002", "13900000003")
    other = httpx.AsyncClient(transport=client._transport, base_url="http://testserver")
    async with other:
        assert (await log_in(other, "wang", password)).status_code == 303


async def test_a_wrong_new_user_names_each_field_and_keeps_what_was_typed(
        client: httpx.AsyncClient) -> None:
    csrf = await _admin(client)
    page = await client.post("/admin/users", data={
        "username": "Zhang San", "display_name": "", "role": "boss", "extension": "8001",
        "mobile": "1390000000", "csrf_token": csrf})
    assert page.status_code == 422
    for says in ("用户名只能由小写字母", "请填写姓名。", "请选择角色。", "分机号 8001 已分配给用户 zhang",
                 "手机号码应为11位，现为10位"):
        assert says in page.text
    assert 'value="Zhang San"' in page.text and 'value="1390000000"' in page.text
    assert 'id="new-password"' not in page.text and 'class="ok"' not in page.text
    taken = await client.post("/admin/users", data={
        "username": AGENT_NAME, "display_name": "又一个", "role": "agent", "csrf_token": csrf})
    assert taken.status_code == 422 and "用户名 zhang 已存在" in taken.text


async def test_a_disabled_user_is_logged_out_cannot_log_in_and_comes_back_when_enabled(
        client: httpx.AsyncClient, sessions: Sessions) -> None:
    agent = httpx.AsyncClient(transport=client._transport, base_url="http://testserver")
    async with agent:
        await log_in(agent)
        assert (await agent.get("/")).status_code == 200
        csrf = await _admin(client)
        zhang = await _user_id(sessions, AGENT_NAME)
        done = await client.post(f"/admin/users/{zhang}/active",
                                 data={"active": "0", "csrf_token": csrf})
        assert done.status_code == 200 and "已停用用户 张三" in done.text
        assert (await agent.get("/")).status_code == 303
        refused = await log_in(agent)
        assert refused.status_code != 303 and "用户名或密码错误" in refused.text
        enabled = await client.post(f"/admin/users/{zhang}/active",
                                    data={"active": "1", "csrf_token": csrf})
        assert "已启用用户 张三" in enabled.text
        assert (await log_in(agent)).status_code == 303


async def test_an_administrator_cannot_disable_themselves_or_change_their_own_role(
        client: httpx.AsyncClient, sessions: Sessions) -> None:
    csrf = await _admin(client)
    me = await _user_id(sessions, ADMIN_NAME)
    refused = await client.post(f"/admin/users/{me}/active", data={"active": "0",
                                                                   "csrf_token": csrf})
    assert refused.status_code == 409 and "不能停用自己的账号" in refused.text
    role = await client.post(f"/admin/users/{me}", data={
        "display_name": "李管理", "role": "agent", "mobile": "", "csrf_token": csrf})
    assert role.status_code == 422 and "不能更改自己的角色" in role.text
    async with session_scope(sessions) as db:
        admin = await accounts.get_user(db, ADMIN_NAME)
        assert admin is not None and admin.active and admin.role == "admin"


async def test_role_name_and_mobile_change_and_a_reset_password_works_once(
        client: httpx.AsyncClient, sessions: Sessions) -> None:
    csrf = await _admin(client)
    zhang = await _user_id(sessions, AGENT_NAME)
    changed = await client.post(f"/admin/users/{zhang}", data={
        "display_name": "张三丰", "role": "duty_judge", "mobile": "+86 13900000004",
        "csrf_token": csrf})
    assert changed.status_code == 200 and "已保存用户 张三丰 的资料" in changed.text
    reset = await client.post(f"/admin/users/{zhang}/password", data={"csrf_token": csrf})
    password = _password_on(reset.text)
    assert "原有登录已全部结束" in reset.text
    assert password not in (await client.get(f"/admin/users/{zhang}")).text
    async with session_scope(sessions) as db:
        user = await accounts.get_user(db, AGENT_NAME)
        assert user is not None
        assert (user.display_name, user.role, user.mobile) == ("张三丰", "duty_judge",
                                                                "13900000004")
    async with httpx.AsyncClient(transport=client._transport,
                                 base_url="http://testserver") as agent:
        assert (await log_in(agent, AGENT_NAME, PASSWORD)).status_code != 303
        assert (await log_in(agent, AGENT_NAME, password)).status_code == 303


async def test_the_users_api_adds_disables_and_resets(client: httpx.AsyncClient) -> None:
    login = await client.post("/api/login", json={"username": ADMIN_NAME, "password": PASSWORD})
    admin = {"Authorization": f"Bearer {login.json()['access_token']}"}
    added = await client.post("/api/users", headers=admin, json={
        "username": "zhao", "display_name": "赵六", "role": "leader"})
    assert added.status_code == 201 and len(added.json()["password"]) == 12
    new = await client.post("/api/login", json={"username": "zhao",
                                                "password": added.json()["password"]})
    assert new.status_code == 200
    off = await client.put("/api/users/zhao/active", headers=admin, json={"active": False})
    assert off.status_code == 200 and off.json()["active"] is False
    again = await client.post("/api/login", json={"username": "zhao",
                                                  "password": added.json()["password"]})
    assert again.status_code == 401
    wrong = await client.post("/api/users", headers=admin, json={
        "username": "zhao", "display_name": "", "role": "leader", "mobile": "12345"})
    assert set(wrong.json()["detail"]["errors"]) == {"username", "display_name", "mobile"}


# --- the knowledge base ---------------------------------------------------------------------

async def _entry(sessions: Sessions, title: str, menu_key: str = "") -> int:
    async with session_scope(sessions) as db:
        await knowledge.upsert_entry(db, title, f"{title}的答复。", menu_key, "程序")
        found = await knowledge.search_entries(db, title, 5, True)
        return next(e.id for e in found if e.title == title)


async def _menu(sessions: Sessions) -> dict[str, str]:
    """What the voice menu plays, key by key (as ivr.modules.knowledge reads it)."""
    async with session_scope(sessions) as db:
        return {e.menu_key: e.title for e in await knowledge.active_entries(db) if e.menu_key}


async def test_an_entry_edited_by_id_keeps_who_changed_what_when(
        client: httpx.AsyncClient, sessions: Sessions) -> None:
    appeal = await _entry(sessions, "上诉期限", "3")
    fees = await _entry(sessions, "诉讼费", "4")
    csrf = await _admin(client, f"/admin/kb/{appeal}")
    wrong = await client.post(f"/admin/kb/{appeal}", data={
        "title": "诉讼费", "answer": "", "menu_key": "3", "active": "1", "csrf_token": csrf})
    assert wrong.status_code == 422 and "请填写答复内容。" in wrong.text
    taken = await client.post(f"/admin/kb/{appeal}", data={
        "title": "诉讼费", "answer": "十五日。", "menu_key": "3", "active": "1",
        "csrf_token": csrf})
    assert taken.status_code == 422 and "已有标题为“诉讼费”的条目" in taken.text
    assert 'value="诉讼费"' in taken.text and "十五日。</textarea>" in taken.text
    saved = await client.post(f"/admin/kb/{appeal}", data={
        "title": "上诉期限（民事）", "answer": "判决书送达之日起十五日内。", "menu_key": "4",
        "category": "上诉", "active": "1", "csrf_token": csrf})
    assert saved.status_code == 200 and "已保存。" in saved.text
    assert await _menu(sessions) == {"4": "上诉期限（民事）"}, "the key moved, as asked"
    history = saved.text[saved.text.index('id="history"'):]
    assert "修改" in history and "李管理" not in history and "admin" in history
    assert "标题、答复内容、类别、语音菜单按键" in history
    assert "2026-12-01 09:00" in history, "in Beijing time"
    async with session_scope(sessions) as db:
        fee_changes = await knowledge.history(db, fees)
    assert [(c.action, c.menu_key, c.username) for c in fee_changes] == [
        ("imported", "4", ""), ("changed", "", "admin")]


async def test_a_deleted_entry_leaves_the_menu_and_the_search_and_can_be_restored(
        client: httpx.AsyncClient, sessions: Sessions) -> None:
    appeal = await _entry(sessions, "上诉期限", "3")
    await _entry(sessions, "诉讼费", "4")
    csrf = await _admin(client, "/kb")
    gone = await client.post(f"/admin/kb/{appeal}/delete", data={"csrf_token": csrf})
    assert gone.status_code == 200 and "已删除条目“上诉期限”" in gone.text
    assert await _menu(sessions) == {"4": "诉讼费"}
    assert 'id="kb-' + str(appeal) not in gone.text and f'id="deleted-{appeal}"' in gone.text
    assert (await client.get(f"/admin/kb/{appeal}")).status_code == 404
    back = await client.post(f"/admin/kb/{appeal}/restore", data={"csrf_token": csrf})
    assert back.status_code == 200 and "已恢复条目“上诉期限”" in back.text
    assert await _menu(sessions) == {"4": "诉讼费"}, "restored entries wait outside the menu"
    async with session_scope(sessions) as db:
        entry = await knowledge.get_entry(db, appeal)
        assert entry is not None and (entry.active, entry.menu_key) == (False, "")
        actions = [c.action for c in await knowledge.history(db, appeal)]
    assert actions == ["imported", "deleted", "restored"]
    again = await client.post(f"/admin/kb/{appeal}/restore", data={"csrf_token": csrf})
    assert again.status_code == 404


async def test_only_administrators_edit_or_delete_and_the_api_does_the_same(
        client: httpx.AsyncClient, sessions: Sessions) -> None:
    appeal = await _entry(sessions, "上诉期限", "3")
    await log_in(client)
    csrf = csrf_of((await client.get("/kb")).text)
    assert (await client.post(f"/admin/kb/{appeal}/delete",
                              data={"csrf_token": csrf})).status_code == 403
    login = await client.post("/api/login", json={"username": ADMIN_NAME, "password": PASSWORD})
    admin = {"Authorization": f"Bearer {login.json()['access_token']}"}
    edited = await client.put(f"/api/kb/{appeal}", headers=admin, json={
        "title": "上诉期限", "answer": "十五日。", "menu_key": "3"})
    assert edited.status_code == 200 and edited.json()["answer"] == "十五日。"
    assert (await client.delete(f"/api/kb/{appeal}", headers=admin)).status_code == 204
    history = (await client.get(f"/api/kb/{appeal}/history", headers=admin)).json()
    assert [(h["action_label"], h["username"]) for h in history] == [
        ("导入", ""), ("修改", "admin"), ("删除", "admin")]
    assert (await client.post(f"/api/kb/{appeal}/restore", headers=admin)).status_code == 200


# --- departments --------------------------------------------------------------------------

async def _department(sessions: Sessions, name: str = "立案庭") -> int:
    async with session_scope(sessions) as db:
        people = {}
        for role in ("dept_handler", "dept_head", "leader"):
            user = await accounts.add_user(db, f"{role}-{name}".replace("_", "-")[:20] + "x",
                                           PASSWORD, role, role)
            people[role] = user.id
        department = await departments.save_department(
            db, name, handler_id=people["dept_handler"], head_id=people["dept_head"],
            leader_id=people["leader"])
        return department.id


async def test_a_department_is_deleted_only_through_its_confirmation(
        client: httpx.AsyncClient, sessions: Sessions) -> None:
    department = await _department(sessions)
    csrf = await _admin(client, "/admin/departments")
    listing = await client.get("/admin/departments")
    assert f'action="/admin/departments/{department}/delete"' not in listing.text
    one_click = await client.post(f"/admin/departments/{department}/delete",
                                  data={"csrf_token": csrf})
    assert one_click.status_code == 303
    assert one_click.headers["location"] == f"/admin/departments/{department}/delete"
    confirm = await client.get(one_click.headers["location"])
    assert "该部门没有任何转办事项" in confirm.text and "确认删除" in confirm.text
    async with session_scope(sessions) as db:
        assert await departments.get_department(db, department) is not None
    done = await client.post(f"/admin/departments/{department}/delete",
                             data={"csrf_token": csrf, "confirm": "yes"})
    assert done.status_code == 200 and "已删除部门“立案庭”" in done.text
    async with session_scope(sessions) as db:
        assert await departments.get_department(db, department) is None


async def test_a_department_with_matters_is_refused_and_can_be_deactivated(
        client: httpx.AsyncClient, sessions: Sessions) -> None:
    department = await _department(sessions)
    async with session_scope(sessions) as db:
        open_one = await create_ticket(db, "complaint", "13812345678", None, text="推诿")
        closed_one = await create_ticket(db, "complaint", "13812345679", None, text="已答复")
        open_one.department_id = closed_one.department_id = department
        closed_one.status = "closed"
        reference = open_one.reference
    csrf = await _admin(client, "/admin/departments")
    confirm = await client.get(f"/admin/departments/{department}/delete")
    assert "未办结的事项：1 件" in confirm.text and reference in confirm.text
    assert "已办结的事项：1 件" in confirm.text and "确认删除" not in confirm.text
    refused = await client.post(f"/admin/departments/{department}/delete",
                                data={"csrf_token": csrf, "confirm": "yes"})
    assert refused.status_code == 409 and "不能删除（未删除）" in refused.text
    login = await client.post("/api/login", json={"username": ADMIN_NAME, "password": PASSWORD})
    api = await client.delete(f"/api/departments/{department}", headers={
        "Authorization": f"Bearer {login.json()['access_token']}"})
    assert api.status_code == 409 and "1 件未办结、1 件已办结" in api.json()["detail"]
    await client.post(f"/admin/departments/{department}/deactivate", data={"csrf_token": csrf})
    async with session_scope(sessions) as db:
        kept = await departments.get_department(db, department)
        assert kept is not None and kept.active is False
        tickets = (await db.execute(select(Ticket).where(Ticket.department_id == department)))
        assert len(tickets.scalars().all()) == 2


async def test_a_disabled_agent_leaves_the_queue(client: httpx.AsyncClient,
                                                 sessions: Sessions) -> None:
    zhang = await _user_id(sessions, AGENT_NAME)
    async with session_scope(sessions) as db:
        await presence.set_presence(db, zhang, "8001", presence.READY, "",
                                    datetime(2026, 12, 1, 0, 30, tzinfo=UTC))
        assert [p.user_id for p, _ in await presence.signed_in(db)] == [zhang]
    csrf = await _admin(client)
    done = await client.post(f"/admin/users/{zhang}/active", data={"active": "0",
                                                                   "csrf_token": csrf})
    assert "已退出座席 8001 的排队" in done.text
    async with session_scope(sessions) as db:
        assert await presence.signed_in(db) == []


async def test_an_agent_given_another_role_leaves_the_queue(client: httpx.AsyncClient,
                                                            sessions: Sessions) -> None:
    zhang = await _user_id(sessions, AGENT_NAME)
    async with session_scope(sessions) as db:
        await presence.set_presence(db, zhang, "8001", presence.READY, "",
                                    datetime(2026, 12, 1, 0, 30, tzinfo=UTC))
    csrf = await _admin(client)
    await client.post(f"/admin/users/{zhang}", data={
        "display_name": "张三", "role": "leader", "mobile": "", "csrf_token": csrf})
    async with session_scope(sessions) as db:
        assert await presence.signed_in(db) == []


async def test_a_role_a_department_needs_stays_until_replaced_there(
        client: httpx.AsyncClient, sessions: Sessions) -> None:
    department = await _department(sessions, "执行局")
    async with session_scope(sessions) as db:
        found = await departments.get_department(db, department)
        assert found is not None and found.handler_id is not None
        handler = found.handler_id
    csrf = await _admin(client)
    refused = await client.post(f"/admin/users/{handler}", data={
        "display_name": "陈专人", "role": "agent", "mobile": "", "csrf_token": csrf})
    assert refused.status_code == 422
    assert "该用户是部门“执行局”的部门专人，更改角色前请先在部门管理中更换人选" in refused.text
