"""Consultations: the agent sends, today's duty judge answers, the agent reads the answer."""

from __future__ import annotations

from datetime import date

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agent_console import accounts
from agent_console.texts import DUTY_JUDGE
from hotline.db import calls, recording_access, roster
from hotline.db.base import session_scope

from .conftest import ADMIN_NAME, AGENT_NAME, PASSWORD, csrf_of, log_in

Sessions = async_sessionmaker[AsyncSession]
TODAY = date(2026, 12, 1)


async def _judge_on_duty(sessions: Sessions, username: str = "wang") -> None:
    async with session_scope(sessions) as db:
        judge = await accounts.add_user(db, username, PASSWORD, DUTY_JUDGE, "王法官", "8101")
        await roster.set_duty(db, TODAY, judge)


async def test_without_a_duty_judge_the_question_is_kept_and_the_reason_shown(
        client: httpx.AsyncClient) -> None:
    await log_in(client)
    page = await client.get("/consultations")
    assert "今日值班法官：<strong class=\"duty-judge\">未排班" in page.text

    response = await client.post("/consultations", data={
        "question": "能否延期举证？", "contact": "13812345678", "csrf_token": csrf_of(page.text)})

    assert response.status_code == 422
    assert "今日值班表中没有值班法官，无法发送咨询单" in response.text
    assert "能否延期举证？</textarea>" in response.text and 'value="13812345678"' in response.text


async def test_the_judge_answers_and_the_agent_reads_it(client: httpx.AsyncClient,
                                                        sessions: Sessions) -> None:
    await _judge_on_duty(sessions)
    await log_in(client)
    csrf = csrf_of((await client.get("/consultations")).text)
    empty = await client.post("/consultations", data={"question": " ", "csrf_token": csrf})
    assert empty.status_code == 422 and "请填写咨询问题。" in empty.text
    long = await client.post("/consultations", data={
        "question": "能否延期举证？", "contact": "138123456789012", "csrf_token": csrf})
    assert long.status_code == 422 and "联系电话有误：手机号码应为11位，现为15位" in long.text
    assert 'value="138123456789012"' in long.text, "what was typed is kept"
    sent = await client.post("/consultations", data={
        "question": "能否延期举证？", "contact": "13812345678", "csrf_token": csrf})
    assert sent.status_code == 303
    mine = (await client.get(sent.headers["location"])).text
    assert "咨询单已发送给今日值班法官" in mine and "待答复" in mine

    client.cookies.clear()
    await log_in(client, "wang")
    page = await client.get("/judge/consultations")
    assert page.status_code == 200 and "能否延期举证？" in page.text
    assert "138****5678" in page.text and "13812345678" not in page.text, "masked for judges"
    ticket_id = page.text.split('action="/judge/consultations/')[1].split("/")[0]
    judge_csrf = csrf_of(page.text)
    blank = await client.post(f"/judge/consultations/{ticket_id}/answer",
                              data={"answer": "", "csrf_token": judge_csrf})
    assert blank.status_code == 422 and "请填写答复内容。" in blank.text
    done = await client.post(f"/judge/consultations/{ticket_id}/answer",
                             data={"answer": "可以书面申请延期。", "csrf_token": judge_csrf})
    assert done.status_code == 303
    assert "暂无待答复的咨询" in (await client.get("/judge/consultations")).text

    client.cookies.clear()
    await log_in(client)
    mine = (await client.get("/consultations")).text
    assert "已答复" in mine and "可以书面申请延期。" in mine


async def test_roles_and_assignment_are_checked(client: httpx.AsyncClient,
                                                sessions: Sessions) -> None:
    await _judge_on_duty(sessions)
    async with session_scope(sessions) as db:
        await accounts.add_user(db, "zhao", PASSWORD, DUTY_JUDGE, "赵法官")
    tokens = {}
    for name in ("zhang", "wang", "zhao", ADMIN_NAME):
        reply = await client.post("/api/login", json={"username": name, "password": PASSWORD})
        tokens[name] = {"Authorization": f"Bearer {reply.json()['access_token']}"}

    sent = await client.post("/api/consultations", headers=tokens["zhang"],
                             json={"question": "调解期限？"})
    assert sent.status_code == 201 and sent.json()["judge"] == "王法官"
    ticket_id = sent.json()["id"]
    assert (await client.post("/api/consultations", headers=tokens["wang"],
                              json={"question": "x"})).status_code == 403
    assert (await client.get("/api/consultations", headers=tokens[ADMIN_NAME])).status_code == 403
    other_judge = await client.post(f"/api/consultations/{ticket_id}/answer",
                                    headers=tokens["zhao"], json={"answer": "我来答"})
    assert other_judge.status_code == 404, "only the judge it was sent to answers"
    answered = await client.post(f"/api/consultations/{ticket_id}/answer",
                                 headers=tokens["wang"], json={"answer": "三十日。"})
    assert answered.status_code == 200 and answered.json()["status"] == "answered"
    again = await client.post(f"/api/consultations/{ticket_id}/answer",
                              headers=tokens["wang"], json={"answer": "再答"})
    assert again.status_code == 422 and again.json()["detail"]["errors"] == {"answer": "已答复。"}
    [mine] = (await client.get("/api/consultations", headers=tokens["zhang"])).json()
    assert mine["answer"] == "三十日。" and mine["status_label"] == "已答复"


async def test_a_consultation_names_only_a_call_the_agent_answered(
        client: httpx.AsyncClient, sessions: Sessions) -> None:
    """Issue 10: a consultation naming any call was accepted (and owning it counted as
    having handled the call). Now another agent's call, or none, is refused and logged."""
    await _judge_on_duty(sessions)
    async with session_scope(sessions) as db:
        await calls.ensure_call(db, "1795747054.7", caller_number="13900001111")
        await calls.add_event(db, "1795747054.7", "agent", {"agent": "李四", "extension": "8002"})
    await log_in(client)
    csrf = csrf_of((await client.get("/consultations")).text)
    for call in ("1795747054.7", "1795747054.9"):
        refused = await client.post("/consultations", data={
            "question": "能否延期举证？", "call_id": call, "csrf_token": csrf})
        assert refused.status_code == 403
        assert "不是您接听的通话" in refused.text and "能否延期举证？</textarea>" in refused.text
        api = await client.post("/api/consultations", headers={"X-CSRF-Token": csrf},
                                json={"question": "能否延期举证？", "call_id": call})
        assert api.status_code == 403
    assert (await client.get("/api/consultations")).json() == []
    async with session_scope(sessions) as db:
        denied = await recording_access.list_access(db, action=recording_access.DENIED)
    assert [row.username for row in denied] == [AGENT_NAME] * 4

    async with session_scope(sessions) as db:
        await calls.add_event(db, "1795747054.7", "agent", {"agent": "张三", "extension": "8001"})
    sent = await client.post("/consultations", data={
        "question": "能否延期举证？", "call_id": "1795747054.7", "csrf_token": csrf})
    assert sent.status_code == 303, "the agent who answered the call may"
