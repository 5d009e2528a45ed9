"""The console's work pages in real Chromium: the call log form's errors beside the fields
with every value kept, then saved; an agent refused on the administrators' pages."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from .test_console_login import (
    PASSWORD,
    _hotline,
    browser,
    console_site,
    page,
    serving_console,
)

__all__ = ["browser", "page"]  # the fixtures, shared with the login tests

SCREENSHOT = Path("/tmp/console-calllog-errors.png")
GOOD_ID, BAD_ID = "11010519491231002X", "110105194912310021"


@pytest.fixture(scope="module")
def work_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data, env = console_site(tmp_path_factory, "console-work")
    _hotline(env, "user", "add", "zhang", "--role", "agent", "--name", "张三",
             "--extension", "8001")
    with serving_console(env, data) as url:
        yield url


def _log_in(page: Page, url: str) -> None:
    page.goto(f"{url}/login")
    page.get_by_label("用户名").fill("zhang")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("button", name="退出登录")).to_be_visible()


def test_the_log_form_shows_errors_beside_the_fields_keeps_input_then_saves(
        page: Page, work_url: str) -> None:
    _log_in(page, work_url)
    page.get_by_role("link", name="来电登记", exact=True).click()
    expect(page.get_by_role("heading", name="来电登记")).to_be_visible()
    page.get_by_label("来电人类型").select_option(label="律师或代理人")
    page.get_by_label("联系电话").fill("0379-6543 2100")
    page.get_by_label("身份证号码").fill(BAD_ID)
    page.get_by_label("案号").fill("随便写的")
    page.get_by_label("事项类别").select_option(label="诉讼咨询")
    page.get_by_label("咨询问题").fill("二审开庭时间如何查询？")
    page.get_by_label("处理结果").select_option(label="当场解答")
    page.get_by_role("button", name="保存").click()

    expect(page.get_by_text("请更正下面标出的内容。")).to_be_visible()
    for name, tag, message in [
            ("caller_name", "input", "请填写来电人姓名。"),
            ("id_number", "input", "身份证号码的校验位不正确，请核对。"),
            ("case_number", "input", "案号格式不正确，应如“（2026）京0105民初1234号”。"),
            ("answer", "textarea", "当场解答或告知属实体法律问题时，请填写答复内容。")]:
        field = page.locator("label.field").filter(has=page.locator(f"{tag}[name={name}]"))
        expect(field.locator(".field-error")).to_have_text(message)
        expect(field.locator(tag)).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("联系电话")).to_have_value("0379-6543 2100")
    expect(page.get_by_label("身份证号码")).to_have_value(BAD_ID)
    expect(page.get_by_label("案号")).to_have_value("随便写的")
    expect(page.get_by_label("咨询问题")).to_have_value("二审开庭时间如何查询？")
    expect(page.get_by_label("来电人类型")).to_have_value("lawyer")
    expect(page.get_by_label("事项类别")).to_have_value("consultation")
    expect(page.get_by_label("处理结果")).to_have_value("answered")
    expect(page.locator(".field-error")).to_have_count(4)
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    page.get_by_label("来电人姓名").fill("刘律师")
    page.get_by_label("身份证号码").fill(GOOD_ID.lower())
    page.get_by_label("案号").fill("(2026)豫03民终88号")
    page.get_by_label("答复内容").fill("可登录诉讼服务网查询，或拨打本热线按1。")
    page.get_by_role("button", name="保存").click()

    expect(page).to_have_url(f"{work_url}/calls/logs?saved=1")
    expect(page.get_by_role("status")).to_contain_text("已保存")
    row = page.locator("#log-1")
    expect(row).to_contain_text("刘律师（律师或代理人）")
    expect(row.locator("td.contact")).to_have_text("037965432100")
    expect(row.locator("td.id-number")).to_have_text(GOOD_ID)
    expect(row).to_contain_text("（2026）豫03民终88号")
    expect(row).to_contain_text("当场解答")


@pytest.mark.parametrize("path", ["/admin/users", "/admin/roster"])
def test_an_agent_is_refused_on_the_admin_pages(page: Page, work_url: str, path: str) -> None:
    _log_in(page, work_url)
    expect(page.get_by_role("link", name="值班表")).to_have_count(0)

    response = page.goto(f"{work_url}{path}")

    assert response is not None and response.status == 403
    expect(page.get_by_role("heading")).to_have_text("403 无权访问")
    expect(page.locator("p.error")).to_have_text("您的角色无权访问此页面。")
