"""The agent's desk with everything real: Asterisk, the bridge, `hotline console` with its
own AMI link, SIPp desk phones for the seat and the duty judge, SIPp callers, and the page
in Chromium (Playwright, Debian's /usr/bin/chromium) at 1366×768, the court PCs' screen.
Screenshots go to the test's tmp_path (artifacts/)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Page, async_playwright, expect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import pbx
from agent_console import accounts
from agent_console.texts import AGENT, DEPT_HANDLER, DEPT_HEAD, DUTY_JUDGE, LEADER
from hotline.db import calllogs, departments, roster
from hotline.db import calls as calls_db
from hotline.db import directory as directory_db
from hotline.db.base import session_scope
from hotline.db.models import Call, Ticket, User
from hotline.directory import STAFF, DirectoryItem
from hotline.hours import court_today
from hotline.settings import Settings
from tests.integration import sipp
from tests.integration.conftest import MEDIA_PORT, PORTS, BridgeProcess, phone_password, port
from tests.integration.test_queue_caller import RingingPhone
from tests.integration.test_walking_skeleton import CALLER, place_call, set_mode, wait_call

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--lang=zh-CN"]
PASSWORD = "desk-test-12368"
AGENT_EXT, JUDGE_EXT = "8001", "8101"
CONSOLE = f"http://127.0.0.1:{PORTS['console']}"


async def ensure_user(sessions: async_sessionmaker[AsyncSession], username: str, role: str,
                      name: str, extension: str) -> User:
    async with session_scope(sessions) as session:
        found = await accounts.get_user(session, username)
        if found is None:
            await accounts.add_user(session, username, PASSWORD, role, name, extension)
            found = await accounts.get_user(session, username)
        assert found is not None
        return found


@pytest.fixture
async def staff(settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> None:
    """Agent 李四 on seat 8001 and judge 王法官 on 8101, on duty today."""
    await ensure_user(sessions, "lisi", AGENT, "李四", AGENT_EXT)
    judge = await ensure_user(sessions, "wangfg", DUTY_JUDGE, "王法官", JUDGE_EXT)
    async with session_scope(sessions) as session:
        await roster.set_duty(session, court_today(settings), judge)


@pytest.fixture
async def page() -> AsyncIterator[Page]:
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                          args=CHROMIUM_ARGS)
        try:
            yield await browser.new_page(viewport={"width": 1366, "height": 768})
        finally:
            await browser.close()


async def phone(sessions: async_sessionmaker[AsyncSession], ext: str, base: int,
                workdir: Path) -> sipp.Phone:
    password = await phone_password(sessions, ext)
    return sipp.Phone(ext, password, target=f"127.0.0.1:{PORTS['sip']}", port=port(base),
                      media_port=port(base + 1000), workdir=workdir)


async def log_in(page: Page, username: str) -> None:
    await page.goto(f"{CONSOLE}/login")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")


def channels(settings: Settings) -> list[list[str]]:
    """Asterisk's channels now: name, context, ..., state, application, ... (concise)."""
    out = pbx.cli(settings, "core show channels concise")
    return [line.split("!") for line in out.splitlines() if "!" in line]


async def wait_channels(settings: Settings, check: object, timeout: float = 20.0
                        ) -> list[list[str]]:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        found = await asyncio.to_thread(channels, settings)
        if check(found):  # type: ignore[operator]
            return found
        await asyncio.sleep(0.3)
    raise AssertionError(f"channels never as expected: {found}")


def up(found: list[list[str]], prefix: str) -> bool:
    return any(c[0].startswith(prefix) and c[4] == "Up" for c in found)


def done(call: Call) -> bool:
    return call.ended_at is not None


async def test_ring_pops_up_then_attended_transfer_to_the_duty_judge(
        bridge: BridgeProcess, console: None, staff: None, settings: Settings,
        sessions: async_sessionmaker[AsyncSession], page: Page, tmp_path: Path) -> None:
    await set_mode(sessions, "open")
    try:
        with await phone(sessions, AGENT_EXT, 25181, tmp_path), \
                await phone(sessions, JUDGE_EXT, 25191, tmp_path):
            await log_in(page, "lisi")
            # Logging in to the console signs the agent in to the seats queue.
            await expect(page).to_have_url(f"{CONSOLE}/desk")
            await expect(page.locator("#presence-state")).to_have_text("空闲")
            await expect(page.locator("#device-state")).to_have_text("空闲", timeout=10_000)
            await expect(page.locator("#duty-judge")).to_contain_text("王法官")

            caller = asyncio.create_task(place_call(settings, sipp.speak(40), tmp_path))
            popup = page.locator("#call")
            # SIPp starts once its caller's audio is made: on a busy machine that takes a while.
            await expect(page.locator("#call-body")).to_be_visible(timeout=60_000)
            await expect(page.locator("#call-number")).to_have_text(CALLER)
            await expect(page.locator("#call-state")).to_have_text("通话中", timeout=10_000)
            pops = await page.evaluate("window.hotlinePops")
            assert len(pops) == 1 and pops[0]["call_id"] == await popup.get_attribute(
                "data-call-id")
            assert pops[0]["ami_time"] > 0, "the pop carries Asterisk's time of the ring"

            await page.click("#btn-transfer-attended")
            await expect(page.locator("#call-state")).to_have_text("咨询中")
            # The agent and the judge talk while the caller holds.
            await wait_channels(settings, lambda f: up(f, f"PJSIP/{JUDGE_EXT}-"))
            await page.click("#btn-transfer-complete")
            # The agent leaves; the caller and the judge stay, talking.
            after = await wait_channels(settings, lambda f: up(f, f"PJSIP/{JUDGE_EXT}-")
                                        and not any(c[0].startswith(f"PJSIP/{AGENT_EXT}-")
                                                    for c in f))
            assert up(after, "PJSIP/carrier-")
            # The call stays on the desk for its log (wrap-up) until the agent ends it.
            await expect(popup).to_have_attribute("data-state", "wrap_up", timeout=10_000)
            await page.click("#btn-wrap-up-end")
            await expect(page.locator("#call-body")).to_be_hidden(timeout=10_000)
            await expect(page.locator("#presence-state")).to_have_text("空闲")

            result = await caller
            assert result.returncode == 0, result.output
            call = await wait_call(sessions, done)
    finally:
        await set_mode(sessions, "closed")
        await page.close()

    kinds = [e.kind for e in call.events]
    assert call.agent in {AGENT_EXT, "李四"}
    judge_rings = [e.detail for e in call.events if e.kind == "judge-ringing"]
    assert judge_rings == [{"kind": "attended", "target": JUDGE_EXT, "back": ""}]
    transfers = [e.detail for e in call.events if e.kind == "transfer"]
    assert transfers and transfers[-1] == {"kind": "AttendedTransfer", "result": "Success"}
    assert kinds.index("agent") < kinds.index("transfer") < kinds.index("hangup")


async def test_signing_in_pausing_and_out_changes_who_rings(
        bridge: BridgeProcess, console: None, staff: None, settings: Settings,
        sessions: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    """Through the JSON API, as another court system would drive it."""
    await set_mode(sessions, "open")
    async with httpx.AsyncClient(base_url=CONSOLE) as client:
        token = (await client.post("/api/login", json={"username": "lisi",
                                                       "password": PASSWORD})).json()
        client.headers["Authorization"] = f"Bearer {token['access_token']}"

        async def presence(action: str, reason: str = "") -> dict[str, str]:
            reply = await client.post("/api/desk/presence",
                                      json={"action": action, "reason": reason})
            assert reply.status_code == 200, reply.text
            return dict(reply.json())

        async def seat() -> dict[str, object]:
            return dict((await client.get("/api/desk/state")).json()["seat"])

        try:
            # The seat's phone is off (unregistered): signing in is refused, saying why,
            # and the seat is not left in the queue to show 空闲 and never ring.
            refused = await client.post("/api/desk/presence", json={"action": "sign_in"})
            assert refused.status_code == 409 and "未注册" in refused.json()["detail"]
            assert (await client.get("/api/desk/state")).json()["presence"]["state"] == "out"
            await _until(lambda s: s.get("member") is False, seat)
            with await phone(sessions, AGENT_EXT, 25281, tmp_path):
                assert (await presence("sign_in"))["state"] == "ready"
                await _until(lambda s: s.get("member") is True and not s.get("paused"), seat)
                first = await place_call(settings, sipp.speak(10), tmp_path)
                assert first.returncode == 0, first.output
                answered = await wait_call(sessions, done)
                assert answered.route == "queue" and answered.agent

                paused = await presence("pause", "break")
                assert {k: paused[k] for k in ("state", "reason", "reason_label")} == {
                    "state": "paused", "reason": "break", "reason_label": "小休"}
                await _until(lambda s: s.get("paused") is True, seat)
                # Nobody free to ring: the paused seat is skipped and the caller is
                # served by the voice menu (queues.conf joinempty includes paused).
                second = await place_call(settings, sipp.speak(10), tmp_path)
                assert second.returncode == 0, second.output
                unanswered = await wait_call(sessions, lambda c: done(c) and c.id != answered.id)
                assert not unanswered.agent

                bad = await client.post("/api/desk/presence",
                                        json={"action": "pause", "reason": "nap"})
                assert bad.status_code == 422 and "示忙原因" in bad.json()["detail"]

                await presence("resume")
                await _until(lambda s: s.get("member") is True and not s.get("paused"), seat)
                assert (await presence("sign_out"))["state"] == "out"
                await _until(lambda s: s.get("member") is False, seat)
        finally:
            await set_mode(sessions, "closed")


async def _until(check: object, read: object, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    value: object = None
    while asyncio.get_running_loop().time() < deadline:
        value = await read()  # type: ignore[operator]
        if check(value):  # type: ignore[operator]
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"never reached: {value}")


async def test_blind_transfer_to_a_staff_member_unanswered_comes_back_to_the_agent(
        bridge: BridgeProcess, console: None, staff: None, settings: Settings,
        sessions: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    """内外一号 (issue 15): the agent puts the caller through to a named member of staff of
    the court's directory, whose desk phone (a SIPp phone on 8101) rings unanswered."""
    async with session_scope(sessions) as session:
        clerk = await directory_db.save_entry(session, DirectoryItem(
            STAFF, "赵书记员", JUDGE_EXT, department="desk-执行局", title="书记员"))
        clerk_id = clerk.id
    await set_mode(sessions, "open")
    async with httpx.AsyncClient(base_url=CONSOLE) as client:
        token = (await client.post("/api/login", json={"username": "lisi",
                                                       "password": PASSWORD})).json()
        client.headers["Authorization"] = f"Bearer {token['access_token']}"
        judge = RingingPhone(JUDGE_EXT, await phone_password(sessions, JUDGE_EXT),
                             target=f"127.0.0.1:{PORTS['sip']}", port=port(25391),
                             media_port=port(26391), workdir=tmp_path)
        try:
            with await phone(sessions, AGENT_EXT, 25381, tmp_path), judge:
                signed = await client.post("/api/desk/presence", json={"action": "sign_in"})
                assert signed.status_code == 200, signed.text
                await asyncio.sleep(1.0)  # the seat's device state settles
                caller = asyncio.create_task(place_call(settings, sipp.speak(30), tmp_path))
                await _until(lambda s: (s.get("call") or {}).get("state") == "connected",
                             lambda: _json(client, "/api/desk/state"), timeout=60)

                moved = await client.post("/api/desk/transfer",
                                          json={"mode": "blind", "entry_id": clerk_id})
                assert moved.status_code == 200, moved.text
                assert moved.json() == {"mode": "blind", "judge": "desk-执行局 赵书记员（书记员）",
                                        "extension": JUDGE_EXT}
                # The clerk's phone rings unanswered; then the caller is back on the seat.
                back = await wait_channels(
                    settings, lambda f: up(f, f"PJSIP/{AGENT_EXT}-")
                    and not any(c[0].startswith(f"PJSIP/{JUDGE_EXT}-") for c in f),
                    timeout=settings.calls.transfer_ring_seconds + 10)
                assert up(back, "PJSIP/carrier-")
                result = await caller
                assert result.returncode == 0, result.output
                call = await wait_call(sessions, done)
        finally:
            await client.post("/api/desk/presence", json={"action": "sign_out"})
            await set_mode(sessions, "closed")

    details = [(e.kind, e.detail) for e in call.events
               if e.kind in {"judge-ringing", "transfer-returned"}]
    assert details == [
        ("judge-ringing", {"kind": "blind", "target": JUDGE_EXT, "back": AGENT_EXT}),
        ("transfer-returned", {"status": "NOANSWER", "target": JUDGE_EXT, "back": AGENT_EXT})]


async def _json(client: httpx.AsyncClient, path: str) -> dict[str, object]:
    return dict((await client.get(path)).json())


async def answered_on_record(sessions: async_sessionmaker[AsyncSession], call_id: str,
                             timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        async with session_scope(sessions) as db:
            call = await calls_db.get_call(db, call_id)
            if call is not None and any(e.kind == "agent" for e in call.events):
                return
        await asyncio.sleep(0.3)
    raise AssertionError(f"the bridge never wrote who answered {call_id}")


def queue_line(settings: Settings, ext: str) -> str:
    """The seat's line in Asterisk's own `queue show`."""
    out = pbx.cli(settings, "queue show seats")
    return next((line for line in out.splitlines() if f"PJSIP/{ext}" in line), "")


async def wait_queue_line(settings: Settings, ext: str, check: object,
                          timeout: float = 20.0) -> str:
    deadline = asyncio.get_running_loop().time() + timeout
    line = ""
    while asyncio.get_running_loop().time() < deadline:
        line = await asyncio.to_thread(queue_line, settings, ext)
        if check(line):  # type: ignore[operator]
            return line
        await asyncio.sleep(0.3)
    raise AssertionError(f"the seat's queue line never as expected: {line!r}")


# Two callers from the carrier, the second SECOND_AFTER seconds after the first, each on the
# line TALK seconds: the first is the agent's call; the second waits in the queue while the
# seat is busy (the desk's summary shows it) until the tests' queue_max_wait (15 s) offers
# it a callback.
TALK, SECOND_AFTER = 30, 8


async def test_a_whole_call_on_the_desk_log_beside_the_pop_wrap_up_until_saved(
        bridge: BridgeProcess, console: None, staff: None, settings: Settings,
        sessions: async_sessionmaker[AsyncSession], page: Page, tmp_path: Path) -> None:
    shots = tmp_path / "artifacts"
    shots.mkdir()
    # The integration modules share one database: names of this test's own.
    handler = await ensure_user(sessions, "desk-handler", DEPT_HANDLER, "执行专人", "")
    head = await ensure_user(sessions, "desk-head", DEPT_HEAD, "执行负责人", "")
    leader = await ensure_user(sessions, "desk-leader", LEADER, "分管领导", "")
    async with session_scope(sessions) as session:
        court = await departments.save_department(session, "执行局", handler_id=handler.id,
                                                  head_id=head.id, leader_id=leader.id)
    await set_mode(sessions, "open")
    try:
        with await phone(sessions, AGENT_EXT, 25581, tmp_path):
            await log_in(page, "lisi")
            await expect(page).to_have_url(f"{CONSOLE}/desk")
            await expect(page.locator("#device-state")).to_have_text("空闲", timeout=15_000)
            await expect(page.locator("#presence-state")).to_have_text("空闲")
            await expect(page.locator("#btn-sign-in")).to_be_disabled()
            await expect(page.locator("#btn-resume")).to_be_disabled()
            await expect(page.locator("#btn-transfer-blind")).to_be_hidden()
            await expect(page.locator("#queue-waiting")).to_have_text("0", timeout=10_000)

            callers = asyncio.create_task(asyncio.to_thread(
                sipp.call, sipp.speak(TALK), target=f"127.0.0.1:{PORTS['sip']}",
                local=f"127.0.0.1:{PORTS['carrier']}", caller=CALLER, media_port=MEDIA_PORT,
                workdir=tmp_path, count=2, every_ms=SECOND_AFTER * 1000,
                timeout=TALK + SECOND_AFTER + 60))
            popup = page.locator("#call")
            # SIPp starts once its caller's audio is made: on a busy machine that takes a while.
            await expect(page.locator("#call-state")).to_have_text("通话中", timeout=60_000)
            first = await popup.get_attribute("data-call-id")
            await expect(page.locator("#call-number")).to_have_text(CALLER)
            await expect(page.locator("#call-origin")).to_have_text("直接转人工座席")
            await expect(page.locator("#call-timer")).to_contain_text("通话 00:")
            await expect(page.locator("#btn-transfer-attended")).to_be_visible()
            # The second caller waits while the seat is busy: the queue summary shows it.
            await expect(page.locator("#queue-waiting")).to_have_text("1", timeout=20_000)
            await expect(page.locator("#queue-free")).to_have_text("0 / 1")
            assert await page.evaluate(
                "document.documentElement.scrollWidth <= window.innerWidth"), \
                "the desk scrolls sideways at 1366"
            await page.screenshot(path=str(shots / "desk-call.png"))

            # The log beside the pop, the number already in it; a field left out is named
            # beside it and what was typed stays.
            form = page.locator("#log-form")
            await expect(form.locator("[name=contact]")).to_have_value(CALLER)
            log_box, call_box = (await page.locator("#log").bounding_box(),
                                 await popup.bounding_box())
            assert log_box and call_box and log_box["x"] > call_box["x"] + call_box["width"] - 1
            assert log_box["y"] < call_box["y"] + call_box["height"], "the form is beside the pop"
            await form.locator("[name=caller_name]").fill("王五")
            await form.locator("[name=caller_kind]").select_option("party")
            await form.locator("[name=category]").select_option("consultation")
            await form.locator("[name=outcome]").select_option("forwarded")
            await form.locator("[name=answer]").fill("已告知立案须带起诉状和身份证明，材料问题转执行局。")
            # A log names its call once the bridge has written who answered it.
            await answered_on_record(sessions, first or "")
            await page.keyboard.press("Control+s")
            await expect(page.locator("#question-error")).to_contain_text("咨询问题")
            await expect(form.locator("[name=caller_name]")).to_have_value("王五")
            await form.locator("[name=question]").fill("咨询立案需要带什么材料")
            await expect(page.locator("#question-error")).to_have_count(0)
            # The ring called for attention: a chime and a desktop notification.
            alerts = await page.evaluate("window.hotlineAlerts || []")
            assert [a["title"] for a in alerts] == ["来电振铃"], alerts
            # The knowledge base beside it: / jumps to the search.
            await page.locator("#call-title").click()
            await page.keyboard.press("/")
            await expect(page.locator("#kb-q")).to_be_focused()

            # The first caller hangs up: wrap-up — the call stays, the seat is paused in the
            # queue until the log is saved.
            await expect(popup).to_have_attribute("data-state", "wrap_up",
                                                  timeout=(TALK + 30) * 1000)
            await expect(page.locator("#presence-state")).to_have_text("话后处理", timeout=10_000)
            await expect(page.locator("#call-timer")).to_contain_text("话后 00:")
            assert await popup.get_attribute("data-call-id") == first
            line = await wait_queue_line(settings, AGENT_EXT, lambda t: "paused" in t)
            assert "after_call" in line, line
            await page.screenshot(path=str(shots / "desk-wrap-up.png"))

            await page.keyboard.press("Control+s")
            await expect(page.locator("#log-ok")).to_have_text("来电登记已保存。")
            await expect(page.locator("#btn-log-forward")).to_be_visible()
            await expect(page.locator("#call-body")).to_be_hidden(timeout=10_000)
            await expect(page.locator("#presence-state")).to_have_text("空闲", timeout=10_000)
            await wait_queue_line(settings, AGENT_EXT, lambda t: t and "paused" not in t)
            result = await callers
            assert result.returncode == 0, result.output
            await page.keyboard.press("F2")
            await expect(page.locator("#presence-state")).to_have_text("未签入", timeout=10_000)
            await wait_queue_line(settings, AGENT_EXT, lambda t: not t)
            # The matter the log was saved for goes on to a department from its page.
            await page.locator("#btn-log-forward").click()
            await expect(page.get_by_role("heading", name="转办", exact=True)).to_be_visible()
            await page.get_by_label("转办部门").select_option(label="执行局")
            await page.get_by_role("button", name="转办", exact=True).click()
            await expect(page.get_by_text("已转办，部门专人已收到通知。")).to_be_visible()
    finally:
        await set_mode(sessions, "closed")
        await page.close()
        # A failure above may leave the seat signed in; the next modules expect none.
        await asyncio.to_thread(pbx.cli, settings,
                                f"queue remove member PJSIP/{AGENT_EXT} from seats")

    async with session_scope(sessions) as db:
        logs = await calllogs.logs_for_call(db, first or "")
    assert [(r.log.caller_name, r.log.question) for r in logs] == [("王五", "咨询立案需要带什么材料")]
    async with session_scope(sessions) as db:
        [matter] = (await db.scalars(select(Ticket).where(Ticket.call_id == first))).all()
    assert (matter.department_id, matter.status) == (court.id, "open")
    assert matter.forwarded_at is not None and matter.due_at is not None
