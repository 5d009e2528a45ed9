"""法院管理 (issue 17): administrators list, add and change courts on the page, with each
wrong field named beside it; the API does the same; agents may not."""

from __future__ import annotations

import httpx

from agent_console.courts import department_choices
from hotline.db.models import Court, Department

from .conftest import ADMIN_NAME, AGENT_NAME, PASSWORD, csrf_of, log_in

FORM = {"court_name": "洛阳市西工区人民法院", "short_name": "西工区法院",
        "case_prefix": "豫0303", "court_phones": "0379-63211234", "position": "",
        "court_active": "on"}


async def test_the_page_adds_a_court_and_names_wrong_fields(client: httpx.AsyncClient) -> None:
    await log_in(client, ADMIN_NAME)
    page = await client.get("/admin/courts")
    assert page.status_code == 200 and 'href="/admin/courts"' in page.text
    csrf = csrf_of(page.text)

    wrong = await client.post("/admin/courts", data={**FORM, "case_prefix": "0303",
                                                     "csrf_token": csrf})
    assert wrong.status_code == 422
    assert "案号代字应为省份简称加数字" in wrong.text and 'value="洛阳市西工区人民法院"' in wrong.text
    added = await client.post("/admin/courts", data={**FORM, "csrf_token": csrf})
    assert added.status_code == 303
    listed = (await client.get("/admin/courts")).text
    assert "洛阳市西工区人民法院" in listed and "豫0303" in listed and "（热线中心）" in listed
    again = await client.post("/admin/courts", data={**FORM, "csrf_token": csrf})
    assert again.status_code == 422 and "法院名称已存在" in again.text
    centre_off = await client.post("/admin/courts?edit=1", data={
        "court_name": "本院", "csrf_token": csrf, "short_name": "", "case_prefix": "豫03",
        "court_phones": "", "position": "1"})
    assert centre_off.status_code == 422 and "热线中心所在的法院不能停用" in centre_off.text


async def test_the_api_for_administrators_only(client: httpx.AsyncClient) -> None:
    async def token(name: str) -> dict[str, str]:
        login = await client.post("/api/login", json={"username": name, "password": PASSWORD})
        return {"Authorization": f"Bearer {login.json()['access_token']}"}
    admin, agent = await token(ADMIN_NAME), await token(AGENT_NAME)

    made = await client.post("/api/courts", headers=admin, json={
        "name": "洛阳市老城区人民法院", "case_prefix": "豫0302"})
    assert made.status_code == 201 and made.json()["position"] == 2
    changed = await client.put(f"/api/courts/{made.json()['id']}", headers=admin, json={
        "name": "洛阳市老城区人民法院", "case_prefix": "豫0302", "phones": "0379-1"})
    assert changed.json()["phones"] == "0379-1"
    listed = (await client.get("/api/courts", headers=admin)).json()
    assert [(c["id"], c["centre"]) for c in listed] == [(1, True), (made.json()["id"], False)]
    assert (await client.get("/api/courts", headers=agent)).status_code == 403
    assert (await client.post("/api/courts", headers=agent,
                              json={"name": "某法院"})).status_code == 403


def test_the_forwarding_picker_offers_the_matters_court_first() -> None:
    centre = Court(id=1, name="洛阳市中级人民法院", short_name="洛阳中院", position=1)
    xigong = Court(id=2, name="洛阳市西工区人民法院", short_name="西工区法院", position=2)
    departments = [Department(id=1, name="立案庭", court_id=1),
                   Department(id=2, name="执行局", court_id=1),
                   Department(id=3, name="西工区立案庭", court_id=2)]

    assert list(department_choices(departments, [centre, xigong], 2).items()) == [
        ("3", "西工区立案庭"), ("2", "洛阳中院·执行局"), ("1", "洛阳中院·立案庭")]
    assert department_choices(departments[:2], [centre], 1) == {"1": "立案庭", "2": "执行局"}


async def test_staff_are_given_a_court_on_the_page_and_by_the_api(
        client: httpx.AsyncClient) -> None:
    await log_in(client, ADMIN_NAME)
    csrf = csrf_of((await client.get("/admin/courts")).text)
    await client.post("/admin/courts", data={**FORM, "csrf_token": csrf})

    moved = await client.post("/admin/courts/staff", data={
        "username": AGENT_NAME, "staff_court": "2", "csrf_token": csrf})
    assert moved.status_code == 303
    assert "洛阳市西工区人民法院：1 人" in (await client.get("/admin/courts")).text
    unknown = await client.post("/admin/courts/staff", data={
        "username": "nobody", "staff_court": "2", "csrf_token": csrf})
    assert unknown.status_code == 422 and "用户名不存在或已停用" in unknown.text
    login = await client.post("/api/login", json={"username": ADMIN_NAME, "password": PASSWORD})
    admin = {"Authorization": f"Bearer {login.json()['access_token']}"}
    back = await client.put("/api/courts/1/staff", headers=admin, json={"username": AGENT_NAME})
    assert back.json() == {"username": AGENT_NAME, "court_id": 1}
    missing = await client.put("/api/courts/9/staff", headers=admin,
                               json={"username": AGENT_NAME})
    assert missing.status_code == 422 and "staff_court" in missing.json()["detail"]["errors"]
