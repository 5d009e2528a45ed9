"""The court's telephone directory in a real browser at 1366×768 (issue 15): an administrator
imports a CSV with mistakes and is told each wrong line (nothing imported), imports it
corrected, finds an entry by the list's search, changes it, deletes it. One console."""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from playwright.sync_api import Browser, FilePayload, Page, expect
from sqlalchemy.ext.asyncio import AsyncSession

from agent_console import accounts
from hotline.db.base import run_once
from hotline.db.migrate import upgrade

from .test_console_login import PASSWORD, _free_port, browser, serving_console

__all__ = ["browser"]
ADMIN = "mulu"
BAD_CSV = """类型,名称,所属部门,职务,号码,按键,办公时间
部门,立案庭,,,8201,1,08:30-12:00;14:30-17:30
人员,张法官,民一庭,法官,12,,
部门,执行局,,,8301,1,
"""
GOOD_CSV = BAD_CSV.replace("法官,12,", "法官,13900000000,").replace("8301,1,", "8301,2,")


async def _seed(db: AsyncSession) -> None:
    await accounts.add_user(db, ADMIN, PASSWORD, "admin", "目录管理员")


@pytest.fixture(scope="module")
def console_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data = tmp_path_factory.mktemp("directory-console")
    port = _free_port()
    url = f"sqlite:///{data / 'hotline.db'}"
    env = {**os.environ, "HOTLINE_PATHS_DATA_DIR": str(data), "HOTLINE_DATABASE_URL": url,
           "HOTLINE_CONSOLE_HOST": "127.0.0.1", "HOTLINE_CONSOLE_PORT": str(port)}
    upgrade(url)
    with ThreadPoolExecutor(1) as pool:  # Playwright's sync API runs a loop in this thread
        pool.submit(run_once, url, _seed).result()
    with serving_console(env, data) as console:
        yield console


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 768})
    try:
        yield context.new_page()
    finally:
        context.close()


def _upload(page: Page, text: str) -> None:
    page.locator("input[type=file][name=file]").set_input_files(
        files=[FilePayload(name="directory.csv", mimeType="text/csv",
                           buffer=text.encode("utf-8"))])
    page.get_by_role("button", name="导入").click()


def test_directory_import_errors_by_line_then_search_edit_delete(
        page: Page, console_url: str, tmp_path: Path) -> None:
    page.goto(f"{console_url}/login")
    page.get_by_label("用户名").fill(ADMIN)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.get_by_role("link", name="电话目录").click()
    expect(page.get_by_role("heading", name="电话目录（内外一号）")).to_be_visible()

    _upload(page, BAD_CSV)
    errors = page.locator("#import-errors")
    expect(errors).to_contain_text("文件未导入")
    expect(errors.locator("li")).to_have_count(2)
    expect(errors).to_contain_text("第3行：号码“12”不是分机号")
    expect(errors).to_contain_text("第4行：按键1已给第2行")
    expect(page.locator("p.count")).to_have_text("共 0 条")  # nothing of it was kept
    page.screenshot(path=str(tmp_path / "directory-import-errors.png"), full_page=True)

    _upload(page, GOOD_CSV)
    expect(page.locator("p.ok")).to_have_text("已导入：新增 3 条，更新 0 条。")
    expect(page.locator("p.count")).to_have_text("共 3 条")
    expect(page.locator("tr", has_text="张法官")).to_contain_text("13900000000（外线）")

    page.get_by_role("searchbox").fill("执行")
    page.get_by_role("button", name="查询").click()
    expect(page.locator("p.count")).to_contain_text("共 1 条")
    page.get_by_role("link", name="修改 执行局").click()
    form = page.locator("form[action^='/admin/directory?edit=']")
    form.get_by_label("语音菜单按键").fill("1")  # 立案庭's key: refused, named, kept as typed
    form.get_by_role("button", name="保存").click()
    expect(form.get_by_text("按键1已给了另一个部门。")).to_be_visible()
    expect(form.get_by_label("名称")).to_have_value("执行局")
    form.get_by_label("语音菜单按键").fill("3")
    form.get_by_label("号码").fill("8302")
    form.get_by_role("button", name="保存").click()
    expect(page.locator("p.ok")).to_be_visible()
    expect(page.locator("tr", has_text="执行局")).to_contain_text("8302")

    page.get_by_role("link", name="修改 执行局").click()
    page.get_by_role("button", name="删除此条目").click()
    expect(page.locator("p.ok")).to_have_text("已删除。")
    expect(page.locator("tr", has_text="执行局")).to_have_count(0)
    expect(page.locator("p.count")).to_have_text("共 2 条")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
