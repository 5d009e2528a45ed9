"""The pictures of the Chinese manuals (docs/zh/), taken in real Chromium at 1280×800 on one
console with a small court's demo data: each role logs in and visits the pages its manual
shows, and each page must show what the manual says it shows (its heading and the demo
data in it), so a page that changes under the manual fails here.

The PNGs are written only when HOTLINE_SCREENSHOTS names a folder (`make screenshots`
writes docs/zh/img/), so `make test` leaves the checkout clean. They are reduced to a
256-colour palette (Pillow), which keeps CJK text sharp at a fifth of the size."""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from unittest.mock import patch
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect
from sqlalchemy.ext.asyncio import AsyncSession

from agent_console import accounts
from hotline import tickets as matters
from hotline.db import (
    alerts,
    calllogs,
    calls,
    consultations,
    departments,
    directory,
    knowledge,
    phones,
    roster,
    sms,
)
from hotline.db.base import make_engine, make_sessionmaker, run_once
from hotline.db.migrate import upgrade
from hotline.db.models import Department, Ticket
from hotline.directory import DirectoryItem
from hotline.escalation import PassReport, run_pass
from hotline.settings import REPO_ROOT, Settings, load_settings

from .test_console_login import PASSWORD, _free_port, browser, serving_console

__all__ = ["browser"]

SCREENSHOTS_ENV = "HOTLINE_SCREENSHOTS"
MANUALS = REPO_ROOT / "docs" / "zh"
VIEWPORT: ViewportSize = {"width": 1280, "height": 800}
# The demo court's people: username, name, role, seat extension.
PEOPLE = {"agent": ("zhangming", "张明", "8001"), "agent2": ("lihua", "李华", "8002"),
          "duty_judge": ("wangfg", "王建国", "8101"), "dept_handler": ("liumin", "刘敏", ""),
          "dept_head": ("chenqiang", "陈强", ""), "leader": ("zhaoyz", "赵志远", ""),
          "admin": ("admin", "系统管理员", "")}
ROLE_OF = {"agent2": "agent"}


@dataclass(frozen=True)
class Shot:
    """One picture: who takes it, where, its file name, and what the page must show."""
    role: str
    path: str
    name: str
    shows: tuple[str, ...]
    charts: bool = False  # ECharts draws for a second after the load: wait for the picture


SHOTS = [
    Shot("anonymous", "/login", "login", ("登录", "用户名", "密码")),
    Shot("agent", "/desk", "agent-desk", ("座席工作台", "签入", "今日值班法官", "王建国", "来电登记",
                                          "知识库")),
    Shot("agent", "/calls/log", "agent-calllog", ("来电登记", "来电人姓名", "处理结果", "保存")),
    Shot("agent", "/calls/logs", "agent-calllogs", ("我的来电登记", "王五", "转办部门")),
    Shot("agent", "/tickets/mine", "agent-tickets", ("我负责的事项", "{matter_ref}", "立案庭")),
    Shot("agent", "/tickets/{matter}", "agent-ticket", ("{matter_ref}", "转办部门", "答复期限",
                                                        "办理经过")),
    Shot("agent", "/callbacks", "agent-callbacks", ("回电清单", "领取下一条", "{callback_ref}")),
    Shot("agent", "/consultations", "agent-consultations", ("向值班法官咨询", "诉讼费缓交如何申请")),
    Shot("agent", "/sms/inbox", "agent-sms-inbox", ("待回复短信", "请问我的案件什么时候开庭")),
    Shot("agent", "/calls", "agent-calls", ("通话记录", "人工座席", "张明")),
    Shot("agent", "/kb", "agent-kb", ("知识库", "诉讼费如何缴纳")),
    Shot("duty_judge", "/judge/consultations", "judge-consultations",
         ("座席员咨询", "诉讼费缓交如何申请", "张明")),
    Shot("dept_handler", "/handler", "handler-list", ("部门待办事项", "{matter_ref}", "{overdue_ref}")),
    Shot("dept_handler", "/tickets/{matter}", "handler-ticket",
         ("{matter_ref}", "电话回复", "短信回复", "办结", "开庭时间一再推迟")),
    Shot("dept_head", "/handler", "head-list", ("本部门转办事项", "{overdue_ref}", "督办")),
    Shot("dept_head", "/scorecard", "head-scorecard", ("部门考核", "立案庭")),
    Shot("leader", "/dashboard", "leader-dashboard", ("统计分析", "接通率", "来电总量"), charts=True),
    Shot("leader", "/scorecard", "leader-scorecard", ("部门考核", "立案庭", "民一庭")),
    Shot("leader", "/seats", "leader-seats", ("座席统计", "张明")),
    Shot("leader", "/reports/monthly?month={month}", "leader-monthly",
         ("月度分析研判报告", "来电总量", "下载PDF")),
    Shot("leader", "/wallboard", "leader-wallboard", ("排队等待", "今日接通率", "逾期未答复")),
    Shot("admin", "/admin/users", "admin-users", ("用户管理", "新增用户", "张明", "王建国")),
    Shot("admin", "/admin/phones", "admin-phones", ("话机管理", "8001", "8101")),
    Shot("admin", "/admin/departments", "admin-departments", ("部门管理", "立案庭", "刘敏", "陈强")),
    Shot("admin", "/admin/directory", "admin-directory", ("电话目录", "立案庭", "导入")),
    Shot("admin", "/admin/roster", "admin-roster", ("值班表", "王建国")),
    Shot("admin", "/admin/blocklist", "admin-blocklist", ("受限号码",)),
    Shot("admin", "/admin/kb/{entry}", "admin-kb-entry", ("修改知识库条目", "诉讼费如何缴纳")),
    Shot("admin", "/admin/recording-access", "admin-recording-access",
         ("录音访问记录", "录音文件缺失")),
    Shot("admin", "/admin/logins", "admin-logins", ("登录记录", "admin")),
    Shot("admin", "/sms/outbox", "admin-sms-outbox", ("短信待发",)),
]
ROLES = sorted({shot.role for shot in SHOTS})


@dataclass(frozen=True)
class Seeded:
    matter: str          # the matter forwarded today: /tickets/{id}
    matter_ref: str      # its reference
    overdue_ref: str     # a matter forwarded three weeks ago, pushed to the head (督办)
    callback_ref: str    # a caller's message left after hours, in the callback list
    entry: str           # a knowledge-base entry: /admin/kb/{id}
    month: str           # the court's month of the demo calls: /reports/monthly?month=

    def fill(self, text: str) -> str:
        return text.format(**self.__dict__)


# --- a small court's data, written through the project's own functions --------------------

async def _seed(db: AsyncSession) -> Seeded:
    now = datetime.now(UTC)
    settings = load_settings()
    people = {}
    for key, (username, name, extension) in PEOPLE.items():
        people[key] = await accounts.add_user(db, username, PASSWORD, ROLE_OF.get(key, key),
                                              name, extension)
    for extension, kind, label in (("8001", "seat", "一号座席"), ("8002", "seat", "二号座席"),
                                   ("8101", "judge", "值班法官")):
        await phones.add_phone(db, extension, kind, label)
    filing = await departments.save_department(
        db, "立案庭", handler_id=people["dept_handler"].id, head_id=people["dept_head"].id,
        leader_id=people["leader"].id)
    await departments.save_department(
        db, "民一庭", handler_id=people["dept_handler"].id, head_id=people["dept_head"].id,
        leader_id=people["leader"].id)
    await roster.fill_duty(db, [date.today() + timedelta(days=d) for d in range(-1, 10)],
                           people["duty_judge"])
    await _seed_directory(db)
    call_id = await _seed_calls(db, now, people["agent"].id)

    log = await calllogs.create_log(db, calllogs.LogFields(
        caller_name="王五", caller_kind="party", contact="13912345678",
        id_number="11010519491231002X", case_number="（2026）豫03民初1234号",
        category="complaint", question="开庭时间一再推迟，要求说明原因。", answer="",
        outcome="forwarded"), people["agent"].id, call_id, now - timedelta(minutes=24))
    matter = await matters.ticket_for_call_log(db, log, now - timedelta(minutes=24))
    await matters.forward(db, settings, matter, filing, people["agent"].id, now,
                          note="请尽快答复当事人")
    overdue = await _seed_overdue(db, settings, filing, people["agent"].id, now)
    callback = await _seed_callback(db, now)

    asked = await consultations.send_consultation(
        db, "诉讼费缓交如何申请？", people["agent"].id, people["duty_judge"].id, "13912345678",
        call_id)
    await consultations.send_consultation(db, "当事人要求查阅卷宗，需要哪些手续？",
                                          people["agent"].id, people["duty_judge"].id,
                                          "13700001111", None)
    await consultations.answer_consultation(
        db, asked.id, people["duty_judge"].id,
        "可向立案庭提交书面缓交申请并附经济困难证明，由法院审查决定。")
    await sms.record_inbound(db, "13812345678", "12368", "请问我的案件什么时候开庭？",
                             now - timedelta(minutes=5))
    await alerts.raise_alert(db, alerts.RECORDING_MISSING, "1796047999.7",
                             "通话 1796047999.7 已接通并结束，但没有完整的录音文件")
    entry = await knowledge.save_entry(db, None, title="诉讼费如何缴纳", menu_key="1",
                                       category="诉讼费用",
                                       answer="可以到诉讼服务中心窗口缴纳，也可以通过网上银行缴纳。")
    await knowledge.save_entry(db, None, title="立案需要带哪些材料", menu_key="2",
                               category="立案",
                               answer="起诉状正本及副本、原告身份证明、证据材料及清单。")
    return Seeded(matter=str(matter.id), matter_ref=matter.reference,
                  overdue_ref=overdue.reference, callback_ref=callback.reference,
                  entry=str(entry.id),
                  month=now.astimezone(ZoneInfo(settings.hours.timezone)).strftime("%Y-%m"))


async def _seed_directory(db: AsyncSession) -> None:
    for item in (DirectoryItem("department", "立案庭", "8201", menu_key="1",
                               hours="08:30-12:00;14:30-17:30"),
                 DirectoryItem("department", "民一庭", "8202", menu_key="2"),
                 DirectoryItem("staff", "王建国", "8101", department="立案庭", title="法官")):
        await directory.save_entry(db, item)


async def _seed_calls(db: AsyncSession, now: datetime, agent_id: int) -> str:
    """Today's calls: two answered by a seat, one abandoned in the queue, one menu-only."""
    call_id = "1796047504.0"
    for n, (cid, caller, route, agent) in enumerate((
            (call_id, "13912345678", "queue", "PJSIP/8001"),
            ("1796047600.3", "13600002222", "queue", "PJSIP/8001"),
            ("1796047700.5", "13500003333", "queue", ""),
            ("1796047999.7", "03796555123", "menu", ""))):
        start = now - timedelta(minutes=10 + 5 * n)
        answered = start + timedelta(seconds=20) if agent else None
        await calls.ensure_call(db, cid, caller_number=caller, route=route, agent=agent,
                                menu_path="" if route == "queue" else "2,1",
                                disposition="ANSWERED" if agent or route == "menu" else "NO ANSWER",
                                started_at=start, answered_at=answered,
                                ended_at=start + timedelta(minutes=4))
        await calls.add_event(db, cid, "route", {"route": route}, start)
        if agent:
            await calls.add_event(db, cid, "agent", {"user_id": str(agent_id),
                                                     "extension": "8001", "agent": "8001"},
                                  answered)
        await calls.add_event(db, cid, "hangup", {}, start + timedelta(minutes=4))
    await calls.add_recording(db, call_id, "2026/12/01/1796047504.0.wav")
    return call_id


async def _seed_overdue(db: AsyncSession, settings: Settings, department: Department,
                        agent_id: int, now: datetime) -> Ticket:
    """A matter forwarded three weeks ago and never answered: `hotline escalate` (run after
    the seed) pushes it to the head and the leader."""
    then = now - timedelta(days=21)
    log = await calllogs.create_log(db, calllogs.LogFields(
        caller_name="赵六", caller_kind="public", contact="13600002222", id_number="",
        case_number="", category="suggestion", question="建议在诉讼服务中心增设自助立案设备。",
        answer="", outcome="forwarded"), agent_id, "1796047600.3", then)
    ticket = await matters.ticket_for_call_log(db, log, then)
    await matters.forward(db, settings, ticket, department, agent_id, then)
    return ticket


async def _seed_callback(db: AsyncSession, now: datetime) -> Ticket:
    """A voice message left after hours: a callback matter no agent owns yet."""
    from hotline.db import tickets as tickets_db

    return await tickets_db.create_ticket(
        db, "callback", "13500003333", "1796047700.5", text="请法院回电，咨询离婚诉讼的管辖法院。",
        now=now - timedelta(hours=14))


def _seed_quickly(url: str) -> Seeded:
    """The seed with one argon2 hash for the seven people (they share the password): 1.4 s
    each on a loaded machine. Logging in still checks the real hash."""
    hashed = accounts.hash_password(PASSWORD)
    with patch.object(accounts, "hash_password", lambda _password: hashed):
        return run_once(url, _seed)


async def _escalate(url: str) -> PassReport:
    """What the scheduler's escalation job does every minute (`hotline escalate`)."""
    engine = make_engine(url)
    try:
        return await run_pass(make_sessionmaker(engine), load_settings(), datetime.now(UTC))
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Seeded]]:
    data = tmp_path_factory.mktemp("console-manual")
    port = _free_port()
    env = {**os.environ, "HOTLINE_PATHS_DATA_DIR": str(data),
           "HOTLINE_DATABASE_URL": f"sqlite:///{data / 'hotline.db'}",
           "HOTLINE_CONSOLE_HOST": "127.0.0.1", "HOTLINE_CONSOLE_PORT": str(port),
           "HOTLINE_COURT_NAME": "洛阳市中级人民法院"}
    upgrade(env["HOTLINE_DATABASE_URL"])
    # In a thread of its own: Playwright's sync API keeps an event loop running in this one.
    with ThreadPoolExecutor(1) as worker:
        seeded = worker.submit(_seed_quickly, env["HOTLINE_DATABASE_URL"]).result()
        report = worker.submit(asyncio.run, _escalate(env["HOTLINE_DATABASE_URL"])).result()
    assert len(report.steps) == 2, report.steps  # the overdue matter: the head, the leader
    with serving_console(env, data) as url:
        yield url, seeded


def _folder() -> Path | None:
    named = os.environ.get(SCREENSHOTS_ENV, "")
    if not named:
        return None
    folder = Path(named) if Path(named).is_absolute() else REPO_ROOT / named
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _save(page: Page, path: Path) -> None:
    from PIL import Image  # only when pictures are asked for

    page.screenshot(path=str(path))
    with Image.open(path) as shot:
        small = shot.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)


def _log_in(page: Page, url: str, role: str) -> None:
    page.goto(f"{url}/login")
    page.get_by_label("用户名").fill(PEOPLE[role][0])
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.get_by_role("button", name="退出登录").wait_for()


@pytest.mark.parametrize("role", ROLES)
def test_each_page_of_the_manual_shows_what_the_manual_says(
        role: str, browser: Browser, console: tuple[str, Seeded]) -> None:
    url, seeded = console
    folder = _folder()
    context = browser.new_context(locale="zh-CN", viewport=VIEWPORT, timezone_id="Asia/Shanghai")
    try:
        page = context.new_page()
        if role != "anonymous":
            _log_in(page, url, role)
        for shot in (s for s in SHOTS if s.role == role):
            response = page.goto(url + seeded.fill(shot.path), wait_until="load")
            assert response is not None and response.status == 200, shot
            for text in shot.shows:
                expect(page.locator("main")).to_contain_text(seeded.fill(text))
            if folder is not None:
                if shot.charts:
                    page.wait_for_timeout(1500)  # the charts' own animation: a picture only
                _save(page, folder / f"{shot.name}.png")
    finally:
        context.close()


def test_the_manuals_show_only_pictures_this_module_takes() -> None:
    """Every image a manual links is one of SHOTS and is in docs/zh/img/; and every shot is
    used by some manual, so none is taken for nothing."""
    linked = {name for text in (p.read_text() for p in MANUALS.glob("*.md"))
              for name in re.findall(r"\]\(img/([\w-]+)\.png\)", text)}
    taken = {shot.name for shot in SHOTS}
    assert linked - taken == set(), "pictures no test takes"
    assert taken - linked == set(), "pictures no manual shows"
    missing = sorted(n for n in linked if not (MANUALS / "img" / f"{n}.png").is_file())
    assert missing == [], "run `make screenshots`"
