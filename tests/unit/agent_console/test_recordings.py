"""The console's recordings: audio with HTTP Range for allowed staff only, every play,
download and refusal in the access log, the call's page and the administrators' log."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import pbx
from agent_console import accounts
from agent_console.texts import AGENT
from hotline.db import calls
from hotline.db.base import session_scope
from hotline.db.models import Alert, CallEvent, Recording, RecordingAccess
from hotline.settings import DatabaseSettings, PathsSettings, PbxSettings, Settings
from tests.conftest import write_wav
from tests.unit.agent_console.conftest import ADMIN_NAME, AGENT_NAME, PASSWORD, log_in

Sessions = async_sessionmaker[AsyncSession]
CALL = "1795747054.0"
T0 = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    """A sandboxed PBX instance under tmp_path, so the recordings folder is the test's."""
    return dataclasses.replace(
        Settings(), paths=PathsSettings(data_dir=tmp_path), database=DatabaseSettings(url=db_url),
        pbx=PbxSettings(mode="sandbox", sandbox_dir=tmp_path / "sandbox"))


@pytest.fixture
def root(settings: Settings) -> Path:
    return pbx.instance_for(settings).recordings_dir


async def _recording(sessions: Sessions, root: Path, call_id: str = CALL, part: int = 0,
                     seconds: float = 2.0, **values: object) -> Recording:
    relative = f"2026/12/01/{call_id}-{part}.wav"
    write_wav(root / relative, seconds)
    async with session_scope(sessions) as db:
        await calls.ensure_call(db, call_id, caller_number="13812345678", started_at=T0)
        rec = Recording(call_id=call_id, path=relative, status="complete", part=part,
                        duration_seconds=seconds, **values)
        db.add(rec)
        await db.flush()
        return rec


@pytest.fixture
async def handled(sessions: Sessions, root: Path) -> Recording:
    """A call answered by 张三 (seat 8001, conftest's agent), recorded."""
    rec = await _recording(sessions, root)
    async with session_scope(sessions) as db:
        db.add(CallEvent(call_id=CALL, kind="agent", at=T0,
                         detail={"agent": "张三", "extension": "8001"}))
    return rec


@pytest.fixture
async def other_agent(sessions: Sessions) -> None:
    async with session_scope(sessions) as db:
        await accounts.add_user(db, "li", PASSWORD, AGENT, "李四", "8002")


async def _log(sessions: Sessions) -> list[tuple[str, int | None, int | None, str]]:
    async with session_scope(sessions) as db:
        rows = (await db.execute(select(RecordingAccess).order_by(RecordingAccess.id))).scalars()
        return [(r.action, r.recording_id, r.user_id, r.address) for r in rows]


async def _user_id(sessions: Sessions, username: str) -> int:
    async with session_scope(sessions) as db:
        user = await accounts.get_user(db, username)
        assert user is not None
        return user.id


async def test_ranges_give_the_exact_bytes_and_one_play_is_logged_once(
        client: httpx.AsyncClient, sessions: Sessions, root: Path, handled: Recording) -> None:
    data = (root / handled.path).read_bytes()
    await log_in(client)
    url = f"/api/recordings/{handled.id}/audio"

    start = await client.get(url, headers={"Range": "bytes=0-"})
    assert start.status_code == 206
    assert start.headers["accept-ranges"] == "bytes"
    assert start.headers["content-range"] == f"bytes 0-{len(data) - 1}/{len(data)}"
    assert start.headers["content-type"] == "audio/wav"
    assert start.content == data
    # The player seeking: more ranges of the same playback.
    middle = await client.get(url, headers={"Range": "bytes=1000-1999"})
    assert middle.status_code == 206
    assert middle.headers["content-range"] == f"bytes 1000-1999/{len(data)}"
    assert middle.content == data[1000:2000]
    tail = await client.get(url, headers={"Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.content == data[-10:]
    beyond = await client.get(url, headers={"Range": f"bytes={len(data) + 10}-"})
    assert beyond.status_code == 416

    agent = await _user_id(sessions, AGENT_NAME)
    assert [(a, r, u) for a, r, u, _ in await _log(sessions)] == [("play", handled.id, agent)]
    # A fresh start (no Range at all) is a new play.
    whole = await client.get(url)
    assert whole.status_code == 200 and whole.content == data
    assert [a for a, *_ in await _log(sessions)] == ["play", "play"]


async def test_another_agents_recording_is_refused_and_the_attempt_logged(
        client: httpx.AsyncClient, sessions: Sessions, handled: Recording,
        other_agent: None) -> None:
    await log_in(client, "li")
    for path in (f"/api/recordings/{handled.id}/audio",
                 f"/api/recordings/{handled.id}/audio?download=1"):
        refused = await client.get(path, headers={"Range": "bytes=0-"})
        assert refused.status_code == 403
        assert refused.json()["detail"] == "该通话不存在，或您无权收听其录音。本次访问已记录。"
        assert not refused.content.startswith(b"RIFF")
    playlist = await client.get(f"/api/calls/{CALL}/recordings")
    assert playlist.status_code == 403
    page = await client.get(f"/calls/{CALL}")
    assert page.status_code == 403 and "无权收听" in page.text and "<audio" not in page.text

    li = await _user_id(sessions, "li")
    logged = await _log(sessions)
    assert [(a, r, u) for a, r, u, _ in logged] == [("denied", handled.id, li)] * 4
    assert all(address for *_, address in logged), "the address is recorded"


async def test_a_call_that_does_not_exist_looks_like_one_refused(
        client: httpx.AsyncClient, sessions: Sessions, handled: Recording,
        other_agent: None) -> None:
    """Issue 10: call ids are predictable (epoch.N); a 404 for a missing call beside a 403
    for another's told an outsider which calls exist. Administrators may see every call,
    so for them it can only be missing."""
    await log_in(client, "li")
    pairs = [(f"/api/recordings/{handled.id}/audio", f"/api/recordings/{handled.id + 1}/audio"),
             (f"/api/calls/{CALL}/recordings", "/api/calls/1795747000.1/recordings"),
             (f"/calls/{CALL}", "/calls/1795747000.1")]
    for existing, missing in pairs:
        there, absent = await client.get(existing), await client.get(missing)
        assert (there.status_code, there.text) == (absent.status_code, absent.text)
        assert there.status_code == 403
    li = await _user_id(sessions, "li")
    assert [(a, u) for a, _, u, _ in await _log(sessions)] == [("denied", li)] * 6, \
        "probing for calls is logged too"

    client.cookies.clear()
    await log_in(client, ADMIN_NAME)
    for _, missing in pairs:
        assert (await client.get(missing)).status_code == 404


async def test_a_stored_path_never_leads_outside_the_recordings_folder(
        client: httpx.AsyncClient, sessions: Sessions, root: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.wav"
    write_wav(secret, 1.0)
    absolute = await _recording(sessions, root, part=1)
    climbing = await _recording(sessions, root, part=2)
    async with session_scope(sessions) as db:
        for rec, path in ((absolute, str(secret)),
                          (climbing, "../" * 40 + str(secret).lstrip("/"))):
            await db.execute(update(Recording).where(Recording.id == rec.id).values(path=path))
    await log_in(client, ADMIN_NAME)
    for rec in (absolute, climbing):
        reply = await client.get(f"/api/recordings/{rec.id}/audio")
        assert reply.status_code == 404 and not reply.content.startswith(b"RIFF")


async def test_download_is_an_attachment_and_logged_as_such(
        client: httpx.AsyncClient, sessions: Sessions, root: Path, handled: Recording) -> None:
    await log_in(client)
    saved = await client.get(f"/api/recordings/{handled.id}/audio?download=1")
    assert saved.status_code == 200
    assert saved.headers["content-disposition"].startswith("attachment;")
    assert f"{CALL}-0.wav" in saved.headers["content-disposition"]
    assert saved.content == (root / handled.path).read_bytes()
    assert [a for a, *_ in await _log(sessions)] == ["download"]


async def test_the_kept_copy_is_played_once_processed(
        client: httpx.AsyncClient, sessions: Sessions, root: Path) -> None:
    kept = "2026/12/01/kept.mp3"
    (root / "2026/12/01").mkdir(parents=True)
    (root / kept).write_bytes(b"ID3" + bytes(range(256)) * 8)
    rec = await _recording(sessions, root, process_state="done", kept_path=kept,
                           kept_format="mp3", original_deleted=True)
    (root / rec.path).unlink()  # post-processing deleted the original
    await log_in(client, ADMIN_NAME)
    reply = await client.get(f"/api/recordings/{rec.id}/audio", headers={"Range": "bytes=3-6"})
    assert reply.status_code == 206 and reply.headers["content-type"] == "audio/mpeg"
    assert reply.content == bytes([0, 1, 2, 3])


async def test_a_deleted_or_lost_recording_is_not_found(
        client: httpx.AsyncClient, sessions: Sessions, root: Path) -> None:
    gone = await _recording(sessions, root, deleted_at=T0)
    lost = await _recording(sessions, root, part=1)
    (root / lost.path).unlink()
    await log_in(client, ADMIN_NAME)
    for rec in (gone, lost):
        reply = await client.get(f"/api/recordings/{rec.id}/audio")
        assert reply.status_code == 404 and "没有找到该录音" in reply.json()["detail"]
    assert (await client.get("/api/recordings/999/audio")).status_code == 404
    assert await _log(sessions) == []


async def test_the_parts_of_one_call_play_in_order(
        client: httpx.AsyncClient, sessions: Sessions, root: Path) -> None:
    second = await _recording(sessions, root, part=1, seconds=1.0)
    first = await _recording(sessions, root, part=0, seconds=3.0)
    await log_in(client, ADMIN_NAME)
    playlist = (await client.get(f"/api/calls/{CALL}/recordings")).json()
    assert [(p["id"], p["part"]) for p in playlist["parts"]] == [(first.id, 0), (second.id, 1)]
    assert playlist["parts"][0]["url"] == f"/api/recordings/{first.id}/audio"
    assert all(p["available"] and p["format"] == "wav" for p in playlist["parts"])

    page = await client.get(f"/calls/{CALL}")
    assert page.status_code == 200
    assert page.text.index(f'src="/api/recordings/{first.id}/audio"') < page.text.index(
        f'src="/api/recordings/{second.id}/audio"')
    assert "第 2 段" in page.text and "/static/recordings.js" in page.text
    # Looking at the page is not a play: the player's own request is.
    assert await _log(sessions) == []


async def test_the_call_page_shows_the_timeline_waveform_and_a_masked_number(
        client: httpx.AsyncClient, sessions: Sessions, root: Path) -> None:
    rec = await _recording(sessions, root, process_state="done",
                           kept_path="2026/12/01/k.opus", kept_format="opus")
    (root / "2026/12/01/k.opus").write_bytes(b"OggS")
    (root / "2026/12/01/k.opus.peaks.json").write_text(
        '{"version":1,"duration_seconds":2.0,"peaks":' + str([0.5] * 1000) + "}")
    async with session_scope(sessions) as db:
        db.add(CallEvent(call_id=CALL, kind="judge-ringing", at=T0,
                         detail={"kind": "blind", "target": "8101", "back": "8001"}))
    await log_in(client, ADMIN_NAME)
    page = await client.get(f"/calls/{CALL}")
    assert page.status_code == 200
    assert "转接值班法官" in page.text and "转接至 分机 8101" in page.text
    assert page.text.count("<rect ") == 400  # the peaks, drawn as the page's bars
    assert f'src="/api/recordings/{rec.id}/audio"' in page.text
    # Administrators do not need the caller's number whole.
    assert "138****5678" in page.text and "13812345678" not in page.text


async def test_the_access_log_page_filters_and_shows_open_alerts(
        client: httpx.AsyncClient, sessions: Sessions, handled: Recording,
        other_agent: None) -> None:
    await log_in(client, "li")
    await client.get(f"/api/recordings/{handled.id}/audio")
    async with session_scope(sessions) as db:
        db.add(Alert(kind="recording-missing", key=CALL, message="通话没有录音文件", raised_at=T0))
    client.cookies.clear()
    await log_in(client)
    await client.get(f"/api/recordings/{handled.id}/audio")
    client.cookies.clear()
    await log_in(client, ADMIN_NAME)

    page = await client.get("/admin/recording-access")
    assert page.status_code == 200
    assert "通话没有录音文件" in page.text
    assert page.text.count('class="access-') == 2 and "拒绝访问" in page.text
    only_li = await client.get("/admin/recording-access", params={"user": "li"})
    assert only_li.text.count('class="access-') == 1 and "李四（li）" in only_li.text
    later = await client.get("/admin/recording-access", params={"start": "2026-12-02"})
    assert 'id="no-access"' in later.text
    bad = await client.get("/admin/recording-access", params={"start": "12/01"})
    assert "开始日期格式不正确" in bad.text

    api = await client.get("/api/recording-access", params={"action": "denied"})
    assert [(r["username"], r["call_id"]) for r in api.json()] == [("li", CALL)]
    wrong = await client.get("/api/recording-access", params={"end": "yesterday"})
    assert wrong.status_code == 422 and "end" in wrong.json()["detail"]["errors"]


async def test_only_administrators_see_the_access_log(
        client: httpx.AsyncClient) -> None:
    await log_in(client)
    assert (await client.get("/admin/recording-access")).status_code == 403
    assert (await client.get("/api/recording-access")).status_code == 403
