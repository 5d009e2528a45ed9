"""所属法院 on the desk in real Chromium (issue 17): with two courts the agent picks the
basic court in the desk's call log (desk.js posts it to /api/calllogs) and the log keeps
it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from .test_console_login import (
    _hotline,
    browser,
    console_site,
    page,
    serving_console,
)
from .test_console_work import _log_in

__all__ = ["browser", "page"]  # the fixtures, shared with the login tests


@pytest.fixture(scope="module")
def courts_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data, env = console_site(tmp_path_factory, "console-courts")
    _hotline(env, "user", "add", "zhang", "--role", "agent", "--name", "张三",
             "--extension", "8001")
    _hotline(env, "courts", "add", "洛阳市西工区人民法院", "--short-name", "西工区法院",
             "--case-prefix", "豫0303")
    with serving_console(env, data) as url:
        yield url


def test_the_agent_picks_the_court_on_the_desk(page: Page, courts_url: str) -> None:
    _log_in(page, courts_url)
    page.goto(f"{courts_url}/desk")
    form = page.locator("#log-form")
    form.get_by_label("来电人姓名").fill("赵六")
    form.get_by_label("来电人类型").select_option(label="当事人")
    form.get_by_label("联系电话").fill("13812345678")
    form.get_by_label("事项类别").select_option(label="诉讼咨询")
    form.get_by_label("咨询问题").fill("西工区法院的立案时间？")
    form.get_by_label("处理结果").select_option(label="转办部门")
    form.get_by_label("所属法院").select_option(label="西工区法院")
    form.get_by_role("button", name="保存登记（Ctrl+S）").click()

    expect(page.locator("#log-ok")).to_have_text("来电登记已保存。")
    [log] = page.request.get(f"{courts_url}/api/calllogs").json()
    assert log["court_id"] == 2 and log["caller_name"] == "赵六"
