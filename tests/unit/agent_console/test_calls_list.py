"""The call list (/calls) and how a call is named and told: its readable number (local day
and sequence), its timeline in Chinese, the player only for those who may hear it."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import pbx
from agent_console.recordings import event_detail
from hotline.db import calls
from hotline.db.base import session_scope
from hotline.db.models import CallEvent, Recording, RecordingAccess
from hotline.settings import DatabaseSettings, PathsSettings, PbxSettings, Settings
from tests.conftest import write_wav
from tests.unit.agent_console.conftest import ADMIN_NAME, log_in

Sessions = async_sessionmaker[AsyncSession]
TZ = "Asia/Shanghai"
# 2026-12-01 00:30 in Beijing: the first call of the court's day, though UTC says 11-30.
FIRST = datetime(2026, 11, 30, 16, 30, tzinfo=UTC)


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return dataclasses.replace(
        Settings(), paths=PathsSettings(data_dir=tmp_path), database=DatabaseSettings(url=db_url),
        pbx=PbxSettings(mode="sandbox", sandbox_dir=tmp_path / "sandbox"))


async def _calls(sessions: Sessions, root: Path) -> None:
    """Four calls: the day before (23:50 Beijing), then three on 2026-12-01 — a menu call,
    one 张三 answered (recorded), one abandoned in the queue."""
    async with session_scope(sessions) as db:
        await calls.ensure_call(db, "1.0", caller_number="13900000000",
                                started_at=FIRST - timedelta(minutes=40), route="menu")
        await calls.ensure_call(db, "2.0", caller_number="13812345678", started_at=FIRST,
                                ended_at=FIRST + timedelta(minutes=3, seconds=5), route="menu")
        await calls.ensure_call(db, "3.0", caller_number="01062345678",
                                started_at=FIRST + timedelta(hours=9), route="queue",
                                agent="张三", ended_at=FIRST + timedelta(hours=9, seconds=42))
        await calls.ensure_call(db, "4.0", caller_number="13700001111",
                                started_at=FIRST + timedelta(hours=10), route="queue")
        db.add(CallEvent(call_id="3.0", kind="agent", at=FIRST + timedelta(hours=9),
                         detail={"agent": "张三", "extension": "8001"}))
        write_wav(root / "2026/12/01/3.0-0.wav", 1.0)
        db.add(Recording(call_id="3.0", path="2026/12/01/3.0-0.wav", status="complete",
                         duration_seconds=1.0))
        db.add(CallEvent(call_id="2.0", kind="recording", at=FIRST,
                         detail={"path": "2026/12/01/2.0-0.wav", "kind": "call"}))
        db.add(CallEvent(call_id="2.0", kind="prompt", at=FIRST, detail={"prompt": "welcome"}))
        db.add(CallEvent(call_id="2.0", kind="route", at=FIRST, detail={"route": "menu"}))
        db.add(CallEvent(call_id="2.0", kind="menu", at=FIRST,
                         detail={"prompt": "case-query-input", "key": "<18 digits>",
                                 "timeout": "no"}))
        db.add(CallEvent(call_id="2.0", kind="hangup", at=FIRST, detail={"cause": "16"}))


async def test_a_calls_readable_number_is_its_local_day_and_place(sessions: Sessions,
                                                                  root: Path) -> None:
    await _calls(sessions, root)
    async with session_scope(sessions) as db:
        found = list((await db.execute(calls.list_query())).scalars())
        numbers = await calls.readable_numbers(db, found, TZ)
        assert numbers == {"1.0": "20261130-0001", "2.0": "20261201-0001",
                           "3.0": "20261201-0002", "4.0": "20261201-0003"}
        assert await calls.call_id_by_number(db, "20261201-0002", TZ) == "3.0"
        assert await calls.call_id_by_number(db, " 20261201 - 3 ", TZ) == "4.0"
        assert await calls.call_id_by_number(db, "20261201-0009", TZ) is None
        assert await calls.call_id_by_number(db, "20261301-0001", TZ) is None


@pytest.fixture
def root(settings: Settings) -> Path:
    return pbx.instance_for(settings).recordings_dir


def _rows(html: str) -> list[str]:
    return re.findall(r'<tr id="call-([0-9-]+)">', html)


async def test_the_call_list_filters_by_number_route_agent_and_outcome(
        client: httpx.AsyncClient, sessions: Sessions, root: Path) -> None:
    await _calls(sessions, root)
    await log_in(client, ADMIN_NAME)
    page = await client.get("/calls")
    assert page.status_code == 200 and "共 4 条" in page.text
    assert _rows(page.text) == ["20261201-0003", "20261201-0002", "20261201-0001",
                                "20261130-0001"]
    assert "138****5678" in page.text and "13812345678" not in page.text  # masked (admin)
    assert "3分05秒" in page.text and "人工座席" in page.text and "语音菜单" in page.text
    assert "1.0" not in re.sub(r'src="[^"]*"', "", page.text)  # no Asterisk ids shown

    async def rows(**params: str) -> list[str]:
        found = await client.get("/calls", params=params)
        assert found.status_code == 200
        return _rows(found.text)

    assert await rows(q="138 1234 5678") == ["20261201-0001"]
    assert await rows(q="20261201-0002") == ["20261201-0002"]
    assert await rows(q="20261201-0099") == []
    assert await rows(route="queue") == ["20261201-0003", "20261201-0002"]
    assert await rows(outcome="answered") == ["20261201-0002"]
    assert await rows(outcome="abandoned") == ["20261201-0003"]
    assert await rows(agent="zhang") == ["20261201-0002"]
    assert await rows(start="2026-11-30", end="2026-11-30") == ["20261130-0001"]
    letters = await client.get("/calls", params={"q": "张三"})
    assert "号码应为数字" in letters.text and "共 4 条" in letters.text
    bad = await client.get("/calls", params={"route": "moon", "start": "30/11"})
    assert bad.status_code == 200 and "去向不在可选范围内" in bad.text
    assert "开始日期格式不正确" in bad.text and "共 4 条" in bad.text


async def test_the_player_shows_only_for_who_may_hear_and_a_play_is_logged(
        client: httpx.AsyncClient, sessions: Sessions, root: Path) -> None:
    await _calls(sessions, root)
    await log_in(client)  # 张三, who answered 20261201-0002
    page = await client.get("/calls")
    async with session_scope(sessions) as db:
        rec = (await db.execute(select(Recording))).scalar_one()
    assert page.text.count("<audio ") == 1 and f'/api/recordings/{rec.id}/audio' in page.text
    assert "13812345678" in page.text  # agents see numbers whole
    played = await client.get(f"/api/recordings/{rec.id}/audio")
    assert played.status_code == 200
    async with session_scope(sessions) as db:
        actions = [a.action for a in (await db.execute(select(RecordingAccess))).scalars()]
    assert actions == ["play"]


async def test_the_call_lists_json_twin_pages_masks_and_hides_asterisk_ids(
        client: httpx.AsyncClient, sessions: Sessions, root: Path) -> None:
    """/api/calls: the list's filters and paging headers; numbers masked by role; the PBX's
    id only for administrators; the audio only for those who may hear it."""
    await _calls(sessions, root)
    await log_in(client)  # 张三, an agent: numbers whole, no Asterisk ids
    listed = await client.get("/api/calls")
    assert listed.status_code == 200 and listed.headers["X-Total-Count"] == "4"
    rows = listed.json()
    assert [r["number"] for r in rows] == ["20261201-0003", "20261201-0002", "20261201-0001",
                                           "20261130-0001"]
    answered = rows[1]
    assert answered["caller_number"] == "01062345678" and answered["agent"] == "张三"
    assert answered["route"] == "queue" and answered["route_label"] == "人工座席"
    assert answered["started_at"] == "2026-12-01 09:30" and answered["duration"] == "42秒"
    assert answered["duration_seconds"] == 42 and answered["recorded"] is True
    async with session_scope(sessions) as db:
        rec = (await db.execute(select(Recording))).scalar_one()
    assert answered["audio_urls"] == [f"/api/recordings/{rec.id}/audio"]
    assert all(r["asterisk_id"] is None for r in rows)
    assert not any(".0" in str(value) for r in rows for value in r.values())
    assert rows[0]["duration_seconds"] is None and rows[0]["audio_urls"] == []

    queue = await client.get("/api/calls", params={"route": "queue", "outcome": "abandoned"})
    assert [r["number"] for r in queue.json()] == ["20261201-0003"]
    assert (await client.get("/api/calls", params={"q": "20261201-0002"})).json()[0][
        "number"] == "20261201-0002"
    wrong = await client.get("/api/calls", params={"route": "moon"})
    assert wrong.status_code == 422 and "去向不在可选范围内" in wrong.text
    playlist = await client.get("/api/calls/20261201-0002/recordings")
    assert playlist.status_code == 200 and len(playlist.json()["parts"]) == 1

    client.cookies.clear()
    await log_in(client, ADMIN_NAME)
    admin = (await client.get("/api/calls", params={"start": "2026-12-01"})).json()
    assert [r["asterisk_id"] for r in admin] == ["4.0", "3.0", "2.0"]
    assert admin[2]["caller_number"] == "138****5678"


async def test_the_call_lists_json_twin_links_its_pages(
        client: httpx.AsyncClient, sessions: Sessions, monkeypatch: pytest.MonkeyPatch) -> None:
    async with session_scope(sessions) as db:
        for n in range(5):
            await calls.ensure_call(db, f"9{n}.0", caller_number="13812345678",
                                    started_at=FIRST + timedelta(minutes=n), route="menu")
    from agent_console import recordings

    real = recordings.call_spec
    monkeypatch.setattr(recordings, "call_spec",
                        lambda *a: dataclasses.replace(real(*a), page_size=2))
    await log_in(client)
    second = await client.get("/api/calls", params={"page": "2", "route": "menu"})
    assert second.headers["X-Total-Count"] == "5" and len(second.json()) == 2
    assert second.headers["Link"] == ('</api/calls?route=menu&page=3>; rel="next", '
                                      '</api/calls?route=menu>; rel="prev"')


async def test_the_call_page_names_the_call_and_tells_its_steps_in_chinese(
        client: httpx.AsyncClient, sessions: Sessions, root: Path) -> None:
    await _calls(sessions, root)
    await log_in(client, ADMIN_NAME)
    page = await client.get("/calls/20261201-0001")
    assert page.status_code == 200
    assert '<strong id="call-number">20261201-0001</strong>' in page.text
    timeline = page.text[page.text.index('id="timeline"'):]
    for words in ("整通通话录音", "“您好，这里是幺二三六八诉讼服务热线", "转入语音菜单",
                  "输入 18 位号码（不显示）", "正常挂机"):
        assert words in timeline
    for leak in ("path=", "kind=", "route=", "prompt=", "welcome", ".wav", "2.0"):
        assert leak not in timeline
    assert (await client.get("/calls/2.0")).status_code == 200  # the id still works


@pytest.mark.parametrize(("kind", "detail", "words"), [
    ("menu", {"prompt": "main-menu", "key": "*", "timeout": "no"}, "按键 星号"),
    ("menu", {"prompt": "main-menu", "key": "", "timeout": "yes"}, "未按键（超时）"),
    ("queue", {"queue": "seats", "position": "2"}, "排队第 2 位"),
    ("transfer-returned", {"status": "NOANSWER", "target": "8101"}, "无人接听"),
    ("transfer", {"kind": "AttendedTransfer", "result": "Success"}, "询问后转接成功"),
    ("hangup", {"cause": "99"}, "挂机原因代码 99"),
    ("prompt", {"prompt": "kb-7"}, "语音提示"),
    ("fallback", {"agi_status": "FAILURE"}, ""),
    ("record", {"path": "2026/12/01/m.wav"}, "来电人留言"),
    ("ticket", {"reference": "2612010003", "type": "callback"}, "事项编号 2612010003"),
    ("sms", {"to": "party", "kind": "case_query", "count": "2"}, "发给案件当事人（2 个号码）"),
    ("queue-wait", {"position": "3"}, "排队第 3 位"),
])
def test_each_event_detail_reads_as_words(kind: str, detail: dict[str, str],
                                          words: str) -> None:
    assert event_detail(kind, detail) == words
