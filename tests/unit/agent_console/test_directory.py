"""The directory's API (issue 15): the CSV import names every wrong line and imports nothing,
then imports and updates; agents read the transfer targets with outside numbers masked and
may not change the directory."""

from __future__ import annotations

import httpx

from .conftest import ADMIN_NAME, AGENT_NAME, PASSWORD

CSV = """类型,名称,所属部门,职务,号码,按键,办公时间
部门,立案庭,,,8201,1,
人员,张法官,民一庭,法官,13900001234,,
"""


async def _token(client: httpx.AsyncClient, username: str) -> dict[str, str]:
    login = await client.post("/api/login", json={"username": username, "password": PASSWORD})
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


async def test_import_targets_and_who_may_change_it(client: httpx.AsyncClient) -> None:
    admin = await _token(client, ADMIN_NAME)
    bad = CSV + "人员,李书记员,,,84,,\n"
    refused = await client.post("/api/directory/import", content=bad.encode("gb18030"),
                                headers={**admin, "Content-Type": "text/csv"})
    assert refused.status_code == 422
    errors = refused.json()["detail"]["errors"]
    assert set(errors) == {"第4行"}
    assert "所属部门" in errors["第4行"] and "号码" in errors["第4行"]
    assert (await client.get("/api/directory", headers=admin)).json() == []

    done = await client.post("/api/directory/import", content=CSV.encode(), headers=admin)
    assert done.json() == {"added": 2, "changed": 0}
    again = await client.post("/api/directory/import", content=CSV.encode(), headers=admin)
    assert again.json() == {"added": 0, "changed": 2}

    agent = await _token(client, AGENT_NAME)
    targets = (await client.get("/api/directory/targets", headers=agent)).json()
    assert [(t["label"], t["number"]) for t in targets] == [
        ("民一庭 张法官（法官）", "139****1234"), ("立案庭", "8201")]
    entry = targets[1]["id"]
    changed = await client.put(f"/api/directory/{entry}", headers=agent,
                               json={"kind": "department", "name": "立案庭", "number": "8202"})
    assert changed.status_code == 403
    taken = await client.post("/api/directory", headers=admin, json={
        "kind": "department", "name": "执行局", "number": "8301", "menu_key": "1"})
    assert taken.status_code == 422 and "按键1" in taken.json()["detail"]["errors"]["menu_key"]
