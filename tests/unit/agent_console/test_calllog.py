"""The call log form and its API: each wrong field named in Chinese, nothing typed lost,
owner-only edits, masking by role."""

from __future__ import annotations

import re
from datetime import date

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agent_console import accounts
from agent_console.calllog import check_log
from agent_console.forms import Invalid
from agent_console.texts import AGENT, DUTY_JUDGE, LEADER, SEES_PERSONAL_DATA
from hotline.db import calls, recording_access, roster
from hotline.db.base import session_scope

from .conftest import ADMIN_NAME, PASSWORD, csrf_of, log_in

Sessions = async_sessionmaker[AsyncSession]
PHONE, ID_NUMBER = "13812345678", "11010519491231002X"
GOOD = {"caller_name": "王五", "caller_kind": "party", "contact": PHONE,
        "id_number": ID_NUMBER, "case_number": "(2026)京0105民初1234号",
        "category": "consultation", "question": "上诉期限是多久？", "answer": "十五日。",
        "outcome": "answered"}
TODAY = date(2026, 12, 1)  # the conftest clock, in the court's time zone


def _errors(raw: dict[str, str]) -> dict[str, str]:
    with pytest.raises(Invalid) as refused:
        check_log(raw)
    return refused.value.errors


def test_a_good_log_is_normalised() -> None:
    fields = check_log({**GOOD, "contact": " 138-1234 5678 ", "id_number": "11010519491231002x"})
    assert fields.contact == PHONE and fields.id_number == ID_NUMBER
    assert fields.case_number == "（2026）京0105民初1234号"


def test_every_missing_field_is_named_in_chinese() -> None:
    errors = _errors({})
    assert errors == {
        "caller_name": "请填写来电人姓名。", "caller_kind": "请选择来电人类型。",
        "contact": "请填写联系电话。", "category": "请选择事项类别。",
        "question": "请填写咨询问题。", "outcome": "请选择处理结果。"}


@pytest.mark.parametrize(("field", "value", "message"), [
    ("contact", "call me", "联系电话有误：电话号码只能包含数字"),
    ("contact", "138123456789012", "联系电话有误：手机号码应为11位，现为15位"),
    ("contact", "0379-651100", "联系电话有误："),
    ("id_number", "1101051949123100", "身份证号码应为18位"),
    ("id_number", "110105194912310021", "身份证号码的校验位不正确"),
    ("case_number", "garbage", "案号格式不正确"),
    ("caller_kind", "robot", "请选择来电人类型"),
    ("category", "weather", "请选择事项类别"),
    ("outcome", "ignored", "请选择处理结果"),
    ("caller_name", "名" * 61, "来电人姓名不能超过60个字"),
    ("answer", "", "当场解答或告知属实体法律问题时，请填写答复内容"),
])
def test_each_wrong_field_is_named(field: str, value: str, message: str) -> None:
    errors = _errors({**GOOD, field: value})
    assert list(errors) == [field] and errors[field].startswith(message)


def test_answer_may_be_empty_when_the_matter_is_forwarded() -> None:
    assert check_log({**GOOD, "answer": "", "outcome": "forwarded"}).answer == ""


async def _agent(client: httpx.AsyncClient) -> str:
    await log_in(client)
    return csrf_of((await client.get("/calls/log")).text)


async def test_errors_are_shown_beside_the_fields_and_every_value_kept(
        client: httpx.AsyncClient) -> None:
    csrf = await _agent(client)
    typed = {**GOOD, "id_number": "110105194912310021", "case_number": "乱写一通",
             "caller_name": "", "question": "如何<b>立案</b>？"}

    response = await client.post("/calls/log", data={**typed, "csrf_token": csrf})

    assert response.status_code == 422
    page = response.text
    assert 'id="id_number-error" role="alert">身份证号码的校验位不正确，请核对。' in page
    assert 'id="case_number-error" role="alert">案号格式不正确' in page
    assert 'id="caller_name-error" role="alert">请填写来电人姓名。' in page
    assert 'value="110105194912310021"' in page and 'value="乱写一通"' in page
    assert f'value="{PHONE}"' in page
    assert "如何&lt;b&gt;立案&lt;/b&gt;？</textarea>" in page, "kept, and escaped"
    assert '<option value="party" selected>' in page
    assert '<option value="answered" selected>' in page


async def test_a_saved_log_is_the_agents_and_appears_in_my_logs(
        client: httpx.AsyncClient) -> None:
    csrf = await _agent(client)

    response = await client.post("/calls/log", data={**GOOD, "csrf_token": csrf})

    assert response.status_code == 303
    assert re.fullmatch(r"/calls/logs\?saved=\d+", response.headers["location"])
    page = (await client.get(response.headers["location"])).text
    assert "我的来电登记" in page and "已保存" in page
    assert PHONE in page and ID_NUMBER in page, "the agent sees the numbers whole"
    assert "（2026）京0105民初1234号" in page and "当场解答" in page and "诉讼咨询" in page


async def test_the_form_is_refused_without_csrf(client: httpx.AsyncClient) -> None:
    await _agent(client)
    assert (await client.post("/calls/log", data=GOOD)).status_code == 403


async def _answered_by_zhang(sessions: Sessions, call_id: str) -> None:
    """A call seat 8001 (conftest's 张三) answered from the queue, as the bridge writes it."""
    async with session_scope(sessions) as db:
        await calls.ensure_call(db, call_id, caller_number="13900001111")
        await calls.add_event(db, call_id, "agent", {"agent": "张三", "extension": "8001"})


async def test_a_log_is_linked_to_the_call_its_agent_answered(
        client: httpx.AsyncClient, sessions: Sessions) -> None:
    await _answered_by_zhang(sessions, "1795747054.7")
    await log_in(client)
    form = await client.get("/calls/log", params={"call": "1795747054.7"})
    assert form.status_code == 200
    assert 'value="13900001111"' in form.text, "the caller's number is filled in"

    response = await client.post("/calls/log", data={
        **GOOD, "call_id": "1795747054.7", "csrf_token": csrf_of(form.text)})
    assert response.status_code == 303
    [log] = (await client.get("/api/calllogs")).json()
    assert log["call_id"] == "1795747054.7"


async def _denials(sessions: Sessions) -> list[tuple[str, int | None, str]]:
    async with session_scope(sessions) as db:
        rows = await recording_access.list_access(db, action=recording_access.DENIED)
    return [(row.username, row.recording_id, row.reason) for row in rows]


async def test_a_call_the_agent_did_not_answer_cannot_be_logged_nor_its_number_read(
        client: httpx.AsyncClient, sessions: Sessions) -> None:
    """Issue 10: a log naming any call was accepted, and its form showed the caller's whole
    number; the log then counted as having handled the call, recording included."""
    async with session_scope(sessions) as db:
        await accounts.add_user(db, "li", PASSWORD, AGENT, "李四", "8002")
    await _answered_by_zhang(sessions, "1795747054.7")
    await log_in(client, "li")
    token = await client.post("/api/login", json={"username": "li", "password": PASSWORD})
    bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}

    for call in ("1795747054.7", "1795747054.8"):  # another's call, and one that never was
        form = await client.get("/calls/log", params={"call": call})
        assert form.status_code == 403
        assert "13900001111" not in form.text and "不是您接听的通话" in form.text
        typed = await client.post("/calls/log", data={
            **GOOD, "call_id": call, "csrf_token": csrf_of(form.text)})
        assert typed.status_code == 403 and "上诉期限是多久？" in typed.text, "nothing lost"
        assert 'name="call_id" value=""' in typed.text, "saving again saves it unlinked"
        api = await client.post("/api/calllogs", json={**GOOD, "call_id": call},
                                headers=bearer)
        assert api.status_code == 403
        assert api.json()["detail"].startswith("该通话不存在，或不是您接听的通话")
    assert (await client.get("/api/calllogs", headers=bearer)).json() == []
    assert len(await _denials(sessions)) == 6
    assert {name for name, _, _ in await _denials(sessions)} == {"li"}


async def test_only_the_owner_edits_a_log(client: httpx.AsyncClient,
                                          sessions: Sessions) -> None:
    csrf = await _agent(client)
    location = (await client.post("/calls/log", data={**GOOD, "csrf_token": csrf})
                ).headers["location"]
    log_id = location.rsplit("=", 1)[1]
    form = await client.get(f"/calls/log/{log_id}")
    assert form.status_code == 200 and 'value="王五"' in form.text
    changed = await client.post(f"/calls/log/{log_id}", data={
        **GOOD, "caller_name": "王六", "csrf_token": csrf})
    assert changed.status_code == 303
    assert "王六" in (await client.get("/calls/logs")).text
    bad = await client.post(f"/calls/log/{log_id}", data={**GOOD, "contact": "",
                                                          "csrf_token": csrf})
    assert bad.status_code == 422 and "请填写联系电话。" in bad.text

    async with session_scope(sessions) as db:
        await accounts.add_user(db, "li", PASSWORD, "agent", "李四")
    client.cookies.clear()
    await log_in(client, "li")
    other = await client.get(f"/calls/log/{log_id}")
    assert other.status_code == 403 and "只有登记此记录的座席员本人可以修改" in other.text
    assert "王六" not in (await client.get("/calls/logs")).text, "li sees only li's logs"
    assert (await client.get("/calls/log/999")).status_code == 404


@pytest.mark.parametrize("reader", [LEADER, "admin"])
async def test_leaders_and_admins_read_every_log_with_numbers_masked(
        client: httpx.AsyncClient, sessions: Sessions, reader: str) -> None:
    assert reader not in SEES_PERSONAL_DATA
    csrf = await _agent(client)
    await client.post("/calls/log", data={**GOOD, "csrf_token": csrf})
    async with session_scope(sessions) as db:
        await accounts.add_user(db, "boss", PASSWORD, LEADER, "院领导")
    client.cookies.clear()
    await log_in(client, "boss" if reader == LEADER else ADMIN_NAME)

    page = await client.get("/calls/logs")
    assert page.status_code == 200 and "来电登记记录" in page.text and "张三" in page.text
    assert PHONE not in page.text and "138****5678" in page.text
    assert ID_NUMBER not in page.text and "110105********002X" in page.text
    [log] = (await client.get("/api/calllogs")).json()
    assert log["contact"] == "138****5678" and log["id_number"] == "110105********002X"
    assert log["editable"] is False
    assert (await client.get("/calls/log")).status_code == 403, "only agents write logs"


async def test_a_duty_judge_may_not_read_call_logs(client: httpx.AsyncClient,
                                                   sessions: Sessions) -> None:
    async with session_scope(sessions) as db:
        await accounts.add_user(db, "wang", PASSWORD, DUTY_JUDGE)
    await log_in(client, "wang")
    assert (await client.get("/calls/logs")).status_code == 403


async def _api_token(client: httpx.AsyncClient, username: str = "zhang") -> dict[str, str]:
    response = await client.post("/api/login", json={"username": username,
                                                     "password": PASSWORD})
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def test_the_api_names_each_wrong_field_and_saves_a_good_log(
        client: httpx.AsyncClient) -> None:
    auth = await _api_token(client)

    bad = await client.post("/api/calllogs", headers=auth,
                            json={**GOOD, "id_number": "110105194912310021", "contact": ""})
    assert bad.status_code == 422
    assert bad.json()["detail"]["errors"] == {"contact": "请填写联系电话。",
                                              "id_number": "身份证号码的校验位不正确，请核对。"}

    good = await client.post("/api/calllogs", headers=auth, json=GOOD)
    assert good.status_code == 201
    log = good.json()
    assert log["owner"] == "张三" and log["contact"] == PHONE and log["editable"] is True
    assert log["outcome_label"] == "当场解答" and log["caller_kind_label"] == "当事人"

    put = await client.put(f"/api/calllogs/{log['id']}", headers=auth,
                           json={**GOOD, "outcome": "substantive", "answer": "请咨询律师。"})
    assert put.status_code == 200 and put.json()["outcome_label"] == "告知属实体法律问题"
    assert (await client.get(f"/api/calllogs/{log['id']}", headers=auth)).json()["answer"] == (
        "请咨询律师。")


async def test_the_api_sends_the_question_to_todays_duty_judge(
        client: httpx.AsyncClient, sessions: Sessions) -> None:
    auth = await _api_token(client)
    asking = {**GOOD, "outcome": "duty_judge", "answer": "", "send_to_duty_judge": True}

    nobody = await client.post("/api/calllogs", headers=auth, json=asking)
    assert nobody.status_code == 422
    assert nobody.json()["detail"]["errors"]["consult"].startswith("今日值班表中没有值班法官")

    async with session_scope(sessions) as db:
        judge = await accounts.add_user(db, "wang", PASSWORD, DUTY_JUDGE, "王法官")
        await roster.set_duty(db, TODAY, judge)
    sent = await client.post("/api/calllogs", headers=auth, json=asking)
    assert sent.status_code == 201
    consultation = sent.json()["consultation"]
    assert consultation["status"] == "open" and consultation["status_label"] == "待答复"
    judge_auth = await _api_token(client, "wang")
    [ticket] = (await client.get("/api/consultations", headers=judge_auth)).json()
    assert ticket["question"] == GOOD["question"] and ticket["contact"] == "138****5678"
    assert ticket["reference"] == consultation["reference"]


async def test_the_api_refuses_other_roles_and_strangers(client: httpx.AsyncClient) -> None:
    assert (await client.post("/api/calllogs", json=GOOD)).status_code == 401
    admin = await _api_token(client, ADMIN_NAME)
    assert (await client.post("/api/calllogs", headers=admin, json=GOOD)).status_code == 403


async def test_openapi_lists_the_work_api_and_not_the_pages(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/api/openapi.json")).json()["paths"]

    for path in ("/api/calllogs", "/api/calllogs/{log_id}", "/api/consultations",
                 "/api/consultations/{ticket_id}/answer", "/api/roster", "/api/roster/today",
                 "/api/roster/{day}", "/api/roster/fill", "/api/kb"):
        assert path in paths, path
    assert not [p for p in paths if p.startswith(("/calls", "/kb", "/admin", "/judge"))]
