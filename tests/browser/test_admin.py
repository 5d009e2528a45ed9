"""Administration in a real browser at 1366×768 (issue 13): an administrator adds a user who
then logs in with the password shown once; edits and deletes a knowledge-base entry; deletes
a department through its confirmation page; blocks a caller's number, changes and releases
it (issue 15). One console server for the module."""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy.ext.asyncio import AsyncSession

from agent_console import accounts
from hotline.db import departments, knowledge
from hotline.db.base import run_once
from hotline.db.migrate import upgrade

from .test_console_login import PASSWORD, _free_port, browser, serving_console

__all__ = ["browser"]  # the fixture, shared with the login tests
ADMIN = "guanli"


async def _seed(db: AsyncSession) -> None:
    """The administrator, a department's three people and the department, a KB entry the
    voice menu plays under 3."""
    await accounts.add_user(db, ADMIN, PASSWORD, "admin", "李管理")
    people = [await accounts.add_user(db, name, PASSWORD, role, label)
              for name, role, label in (("chen", "dept_handler", "陈专人"),
                                        ("zhou", "dept_head", "周庭长"),
                                        ("wu", "leader", "吴院长"))]
    await departments.save_department(db, "执行局", handler_id=people[0].id,
                                      head_id=people[1].id, leader_id=people[2].id)
    await knowledge.upsert_entry(db, "上诉期限", "判决书送达之日起十五日内。", "3", "上诉")


@pytest.fixture(scope="module")
def admin_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data = tmp_path_factory.mktemp("admin-console")
    port = _free_port()
    url = f"sqlite:///{data / 'hotline.db'}"
    env = {**os.environ, "HOTLINE_PATHS_DATA_DIR": str(data), "HOTLINE_DATABASE_URL": url,
           "HOTLINE_CONSOLE_HOST": "127.0.0.1", "HOTLINE_CONSOLE_PORT": str(port)}
    upgrade(url)
    # In its own thread: Playwright's sync API runs an event loop in this one.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(run_once, url, _seed).result()
    with serving_console(env, data) as console:
        yield console


@pytest.fixture(scope="module")
def screens(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("admin-screens")


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 768})
    try:
        yield context.new_page()
    finally:
        context.close()


def _log_in(page: Page, url: str, username: str = ADMIN, password: str = PASSWORD) -> None:
    page.goto(f"{url}/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()


def _fits(page: Page) -> None:
    """Nothing scrolls sideways at 1366."""
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_an_added_user_logs_in_with_the_password_shown_once(
        page: Page, browser: Browser, admin_url: str, screens: Path) -> None:
    _log_in(page, admin_url)
    page.goto(f"{admin_url}/admin/users")
    form = page.locator("form[action^='/admin/users#new-user']")
    form.get_by_label("用户名").fill("Wang Wu")
    form.get_by_label("姓名").fill("王五")
    form.get_by_label("角色").select_option(label="座席员")
    form.get_by_label("手机号码").fill("1390000000")
    form.get_by_role("button", name="新增用户").click()

    expect(page.get_by_role("alert").first).to_be_visible()
    expect(form.get_by_text("用户名只能由小写字母")).to_be_visible()
    expect(form.get_by_text("手机号码应为11位，现为10位")).to_be_visible()
    expect(form.get_by_label("姓名")).to_have_value("王五")
    form.get_by_label("用户名").fill("wangwu")
    form.get_by_label("手机号码").fill("139 0000 0003")
    form.get_by_role("button", name="新增用户").click()

    expect(page.locator("p.ok")).to_contain_text("已新增用户 王五（wangwu）")
    password = page.locator("#new-password").inner_text()
    assert len(password) == 12
    expect(page.locator("tr", has_text="wangwu")).to_contain_text("13900000003")
    _fits(page)
    page.screenshot(path=str(screens / "users-added.png"), full_page=True)
    page.reload()
    expect(page.locator("#new-password")).to_have_count(0)

    other = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 768})
    try:
        newcomer = other.new_page()
        _log_in(newcomer, admin_url, "wangwu", password)
        expect(newcomer.locator("strong.role")).to_have_text("座席员")
    finally:
        other.close()


def test_an_entry_is_edited_then_deleted_and_leaves_its_history(
        page: Page, admin_url: str, screens: Path) -> None:
    _log_in(page, admin_url)
    page.goto(f"{admin_url}/kb")
    page.get_by_role("link", name="修改、删除或查看历史：上诉期限").click()
    page.get_by_label("答复内容").fill("")
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_text("请填写答复内容。")).to_be_visible()
    page.get_by_label("答复内容").fill("一审判决书送达之日起十五日内，裁定书十日内。")
    page.get_by_role("button", name="保存").click()

    expect(page.locator("p.ok")).to_have_text("已保存。")
    history = page.locator("table.history tbody tr")
    expect(history).to_have_count(2)
    expect(history.first).to_contain_text(ADMIN)
    expect(history.first).to_contain_text("答复内容")
    expect(history.last).to_contain_text("命令行导入")
    _fits(page)
    page.screenshot(path=str(screens / "kb-entry.png"), full_page=True)

    page.get_by_role("button", name="删除该条目").click()
    expect(page.locator("p.ok")).to_contain_text("已删除条目“上诉期限”")
    expect(page.locator("article.kb-entry")).to_have_count(0)
    expect(page.locator("#deleted").locator("xpath=following::table[1]")).to_contain_text(
        "上诉期限")
    page.screenshot(path=str(screens / "kb-deleted.png"), full_page=True)


def test_a_department_is_deleted_through_its_confirmation(
        page: Page, admin_url: str, screens: Path) -> None:
    _log_in(page, admin_url)
    page.goto(f"{admin_url}/admin/departments")
    expect(page.locator("table.departments")).to_contain_text("执行局")
    page.get_by_role("link", name="删除部门 执行局").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("删除部门：执行局")
    expect(page.get_by_text("该部门没有任何转办事项")).to_be_visible()
    _fits(page)
    page.screenshot(path=str(screens / "department-delete.png"), full_page=True)
    page.get_by_role("button", name="确认删除").click()

    expect(page.locator("p.ok")).to_have_text("已删除部门“执行局”。")
    expect(page.locator("table.departments")).not_to_contain_text("执行局")


# --- the block list (issue 15) --------------------------------------------------------

BLOCKED = "13700159999"
def test_a_number_is_blocked_changed_and_released_and_each_change_is_recorded(
        page: Page, admin_url: str) -> None:
    _log_in(page, admin_url)
    page.get_by_role("link", name="受限号码").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("受限号码")
    form = page.locator("form.work")
    # a number that is no number, and no reason: both named, what was typed kept
    form.get_by_label("电话号码").fill("abc")
    form.get_by_role("button", name="加入或修改").click()
    expect(page.locator("#number-error")).to_contain_text("电话号码格式不正确")
    expect(page.locator("#reason-error")).to_contain_text("请填写原因")
    expect(form.get_by_label("电话号码")).to_have_value("abc")

    until = (date.today() + timedelta(days=10)).isoformat()
    form.get_by_label("电话号码").fill("137-0015-9999")
    form.get_by_label("原因").fill("多次辱骂话务员")
    form.get_by_label("有效期至").fill(until)
    form.get_by_role("button", name="加入或修改").click()
    expect(page.get_by_role("status")).to_contain_text("已保存")
    row = page.locator("#blocked tbody tr", has_text=BLOCKED)
    expect(row).to_contain_text("多次辱骂话务员")
    expect(row).to_contain_text(until)
    expect(row).to_contain_text("受限中")
    _fits(page)

    # the same number again: its entry changes, it is not listed twice
    form = page.locator("form.work")
    form.get_by_label("电话号码").fill(BLOCKED)
    form.get_by_label("原因").fill("反复骚扰")
    form.get_by_label("有效期至").fill(until)
    form.get_by_role("button", name="加入或修改").click()
    expect(page.locator("#blocked tbody tr", has_text=BLOCKED)).to_have_count(1)
    expect(page.locator("#blocked tbody tr", has_text=BLOCKED)).to_contain_text("反复骚扰")

    page.locator("#blocked tbody tr", has_text=BLOCKED).get_by_role("button",
                                                                  name="移出").click()
    expect(page.get_by_role("status")).to_contain_text("已移出")
    expect(page.locator("#blocked tbody tr", has_text=BLOCKED)).to_have_count(0)
    actions = page.locator("#block-changes tbody tr", has_text=BLOCKED).locator(
        "td:nth-child(2)").all_inner_texts()
    assert actions == ["移出", "修改", "加入"]
    expect(page.locator("#block-changes tbody tr", has_text=BLOCKED).first).to_contain_text(
        "guanli")
