"""The duty roster per court in real Chromium (issue 17): the centre's administrator picks
西工区法院 on 值班表, puts that court's duty judge on a day, and the centre's roster is
untouched; a basic court's administrator is offered no other court."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from .test_console_login import PASSWORD, _hotline, browser, console_site, page, serving_console

__all__ = ["browser", "page"]  # the fixtures, shared with the login tests


@pytest.fixture(scope="module")
def roster_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data, env = console_site(tmp_path_factory, "console-court-roster")
    _hotline(env, "courts", "add", "洛阳市西工区人民法院", "--short-name", "西工区法院",
             "--case-prefix", "豫0303")
    for name, role, label, extension in (("boss", "admin", "中心管理员", ""),
                                         ("xgadmin", "admin", "西工区管理员", ""),
                                         ("wang", "duty_judge", "王法官", "8101"),
                                         ("zhao", "duty_judge", "赵法官", "8102")):
        _hotline(env, "user", "add", name, "--role", role, "--name", label,
                 *(["--extension", extension] if extension else []))
    for name in ("xgadmin", "zhao"):
        _hotline(env, "courts", "staff", name, "2")
    with serving_console(env, data) as url:
        yield url


def _log_in(page: Page, url: str, username: str) -> None:
    page.goto(f"{url}/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("button", name="退出登录")).to_be_visible()


def test_the_centres_admin_rosters_a_basic_courts_judge(page: Page, roster_url: str) -> None:
    _log_in(page, roster_url, "boss")
    page.goto(f"{roster_url}/admin/roster")
    page.locator("#roster-court").get_by_label("法院").select_option(label="西工区法院")
    page.locator("#roster-court").get_by_role("button", name="查看").click()
    expect(page.get_by_role("heading", name="值班表 · 西工区法院")).to_be_visible()
    form = page.locator("#set-day")
    expect(form.get_by_label("值班法官")).not_to_contain_text("王法官")  # another court's
    form.get_by_label("值班法官").select_option(label="赵法官（8102）")
    form.get_by_role("button", name="保存").click()

    expect(page.locator("p.ok")).to_have_text("已保存。")
    expect(page.get_by_role("heading", name="值班表 · 西工区法院")).to_be_visible()
    today = page.locator("tr.today td.judge")
    expect(today).to_have_text("赵法官")
    assert page.request.get(f"{roster_url}/api/roster/today?court=2").json()["judge"] == "zhao"
    assert page.request.get(f"{roster_url}/api/roster/today").json() is None, "the centre's"


def test_a_basic_courts_admin_sees_only_their_courts_roster(page: Page,
                                                           roster_url: str) -> None:
    _log_in(page, roster_url, "xgadmin")
    page.goto(f"{roster_url}/admin/roster")
    expect(page.get_by_role("heading", name="值班表", exact=True)).to_be_visible()
    expect(page.locator("#roster-court")).to_have_count(0)
    expect(page.locator("#set-day").get_by_label("值班法官")).not_to_contain_text("王法官")
    assert page.request.get(f"{roster_url}/admin/roster?court=1").status == 403
