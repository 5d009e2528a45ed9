"""One extension, one user (issue 18): a second user given a seat someone has is refused,
naming the field and the holder, in accounts, the console's users page, its API and
`hotline user`; moving it is explicit and signs the former holder out; a sign-in on a seat
leaves nobody else signed in on it, so the call's agent is who signed in last."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agent_console import accounts
from agent_console import cli as console_cli
from agent_console.accounts import ExtensionRefused
from agent_console.texts import AGENT
from hotline.db import presence
from hotline.db.base import session_scope
from hotline.db.migrate import upgrade
from hotline.db.recording_access import user_on_extension
from hotline.settings import load_settings

from .conftest import ADMIN_NAME, AGENT_NAME, PASSWORD, csrf_of, log_in

Sessions = async_sessionmaker[AsyncSession]
AT = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
TAKEN = "分机号 8001 已分配给用户 zhang（张三）"


async def _extensions(sessions: Sessions) -> dict[str, str]:
    async with session_scope(sessions) as db:
        return {u.username: u.extension for u in await accounts.list_users(db)}


async def test_a_second_user_cannot_be_given_a_seat_someone_has(
        sessions: Sessions, staff: None) -> None:
    with pytest.raises(ExtensionRefused, match=TAKEN):
        async with session_scope(sessions) as db:
            await accounts.add_user(db, "li", PASSWORD, AGENT, "李四", "8001")
    with pytest.raises(ExtensionRefused, match=TAKEN):
        async with session_scope(sessions) as db:
            await accounts.set_extension(db, ADMIN_NAME, "8001")

    assert await _extensions(sessions) == {AGENT_NAME: "8001", ADMIN_NAME: ""}


async def test_an_extension_is_digits(sessions: Sessions, staff: None) -> None:
    with pytest.raises(ExtensionRefused, match="分机号只能由数字组成"):
        async with session_scope(sessions) as db:
            await accounts.set_extension(db, ADMIN_NAME, "80 01x")


async def test_moving_a_seat_is_explicit_and_signs_its_holder_out(
        sessions: Sessions, staff: None) -> None:
    async with session_scope(sessions) as db:
        zhang = await accounts.get_user(db, AGENT_NAME)
        assert zhang is not None
        await presence.set_presence(db, zhang.id, "8001", presence.READY, "", AT)
        li = await accounts.add_user(db, "li", PASSWORD, AGENT, "李四", "8001",
                                     move_extension=True)
        li_id, zhang_id = li.id, zhang.id

    assert await _extensions(sessions) == {AGENT_NAME: "", ADMIN_NAME: "", "li": "8001"}
    async with session_scope(sessions) as db:
        row = await presence.get_presence(db, zhang_id)
        assert row is not None and row.state == presence.OUT
        assert await user_on_extension(db, "8001") is None, "li has not signed in yet"
        await presence.set_presence(db, li_id, "8001", presence.READY, "", AT)
        assert await user_on_extension(db, "8001") == li_id


async def test_assigning_says_which_seats_lost_their_sign_ins(
        sessions: Sessions, staff: None) -> None:
    """What the console takes out of the PBX's queue after a change."""
    async with session_scope(sessions) as db:
        zhang, admin = (await accounts.get_user(db, AGENT_NAME),
                        await accounts.get_user(db, ADMIN_NAME))
        assert zhang is not None and admin is not None
        assert await accounts.assign_extension(db, zhang, "8001") == []
        assert await accounts.assign_extension(db, zhang, "8005") == ["8001"]
        assert await accounts.assign_extension(db, admin, "8005", move=True) == ["8005"]
        assert await accounts.assign_extension(db, admin, "") == ["8005"]
        assert await accounts.assign_extension(db, zhang, "8001") == []


async def test_a_sign_in_on_a_seat_signs_out_whoever_was_on_it(
        sessions: Sessions, staff: None) -> None:
    """A database from before the rule (two users on one seat, both signed in): the last
    to sign in is the one the call is credited to, not nobody and not the first."""
    async with session_scope(sessions) as db:
        zhang = await accounts.get_user(db, AGENT_NAME)
        admin = await accounts.get_user(db, ADMIN_NAME)
        assert zhang is not None and admin is not None
        await presence.set_presence(db, zhang.id, "8001", presence.READY, "", AT)
        await presence.set_presence(db, admin.id, "8001", presence.READY, "", AT)

        assert await user_on_extension(db, "8001") == admin.id
        signed = await presence.signed_in(db)
        assert [(p.user_id, p.extension) for p, _ in signed] == [(admin.id, "8001")]


async def _admin_page(client: httpx.AsyncClient) -> str:
    await log_in(client, ADMIN_NAME)
    page = await client.get("/admin/users")
    assert page.status_code == 200
    return csrf_of(page.text)


async def test_the_users_page_refuses_then_moves_when_asked(
        client: httpx.AsyncClient, sessions: Sessions) -> None:
    csrf = await _admin_page(client)
    async with session_scope(sessions) as db:
        admin = await accounts.get_user(db, ADMIN_NAME)
        assert admin is not None
        admin_id = admin.id

    refused = await client.post(f"/admin/users/{admin_id}/extension",
                                data={"extension": "8001", "csrf_token": csrf})
    assert refused.status_code == 422
    assert TAKEN in refused.text and 'aria-invalid="true"' in refused.text
    assert await _extensions(sessions) == {AGENT_NAME: "8001", ADMIN_NAME: ""}

    moved = await client.post(f"/admin/users/{admin_id}/extension",
                              data={"extension": "8001", "move": "on", "csrf_token": csrf})
    assert moved.status_code == 200 and "用户 admin 的分机已设为：8001" in moved.text
    assert await _extensions(sessions) == {AGENT_NAME: "", ADMIN_NAME: "8001"}


async def _token(client: httpx.AsyncClient, username: str) -> dict[str, str]:
    reply = await client.post("/api/login", json={"username": username, "password": PASSWORD})
    return {"Authorization": f"Bearer {reply.json()['access_token']}"}


async def test_the_api_refuses_then_moves_when_asked(
        client: httpx.AsyncClient, sessions: Sessions) -> None:
    admin = await _token(client, ADMIN_NAME)

    refused = await client.put(f"/api/users/{ADMIN_NAME}/extension", headers=admin,
                               json={"extension": "8001"})
    assert refused.status_code == 422
    assert TAKEN in refused.json()["detail"]["errors"]["extension"]

    moved = await client.put(f"/api/users/{ADMIN_NAME}/extension", headers=admin,
                             json={"extension": "8001", "move": True})
    assert moved.status_code == 200 and moved.json()["extension"] == "8001"
    cleared = await client.put(f"/api/users/{ADMIN_NAME}/extension", headers=admin,
                               json={"extension": ""})
    assert cleared.json()["extension"] == ""
    assert await _extensions(sessions) == {AGENT_NAME: "", ADMIN_NAME: ""}

    agent = await _token(client, AGENT_NAME)
    assert (await client.put(f"/api/users/{AGENT_NAME}/extension", headers=agent,
                             json={"extension": "8002"})).status_code == 403


def _hotline_user(*argv: str) -> int:
    """What `hotline user ...` does (cli/main.py registers agent_console.cli)."""
    parser = argparse.ArgumentParser(prog="hotline")
    console_cli.register(parser.add_subparsers(required=True, metavar="COMMAND"))
    args = parser.parse_args(["user", *argv])
    return int(args.func(load_settings(), args))


def test_the_cli_refuses_then_moves_when_asked(
        tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "hotline.toml"
    config.write_text(f'[paths]\ndata_dir = "data"\n[database]\nurl = "{db_url}"\n',
                      encoding="utf-8")
    monkeypatch.setenv("HOTLINE_CONFIG", str(config))
    monkeypatch.setenv(console_cli.PASSWORD_VAR, PASSWORD)
    upgrade(db_url)
    assert _hotline_user("add", "zhang", "--role", AGENT, "--name", "张三",
                         "--extension", "8001") == 0

    assert _hotline_user("add", "li", "--role", AGENT, "--extension", "8001") == 2
    assert TAKEN in capsys.readouterr().err
    assert _hotline_user("add", "li", "--role", AGENT) == 0
    assert _hotline_user("extension", "li", "8001") == 2
    assert "--move-extension" in capsys.readouterr().err

    assert _hotline_user("extension", "li", "8001", "--move-extension") == 0
    capsys.readouterr()
    assert _hotline_user("list") == 0
    listed = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
    assert " 8001 " in listed["li"] and " 8001 " not in listed["zhang"]
