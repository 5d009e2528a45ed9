"""Seats changed in the console while a caller talks to a seat: PJSIP reloads with the new
phones and passwords, and the call in progress stays connected to its end."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import pbx
from hotline.settings import REPO_ROOT, Settings
from tests.integration import sipp
from tests.integration.conftest import (
    PORTS,
    BridgeProcess,
    live_channels,
    phone_password,
    port,
)
from tests.integration.test_walking_skeleton import place_call, recording_done, set_mode, wait_call

CALLER = "13600000305"
TALK_SECONDS = 16
ADMIN, ADMIN_PASSWORD = "seat-admin", "seat-admin-12368"


async def talking(settings: Settings, timeout: float = 20.0) -> list[dict[str, str]]:
    """The caller's and seat 8001's channels, once both are up and bridged together."""
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        found = await asyncio.to_thread(live_channels, settings)
        seat = [c for c in found if c["Channel"].startswith("PJSIP/8001-")]
        if seat and seat[0].get("BridgeId") and all(c["ChannelStateDesc"] == "Up"
                                                    for c in found):
            return found
        await asyncio.sleep(0.3)
    raise AssertionError("the caller was not put through to seat 8001")


def endpoint(settings: Settings, ext: str) -> str:
    return pbx.cli(settings, f"pjsip show endpoint {ext}")


async def test_seat_reload_keeps_the_call_in_progress(
        bridge: BridgeProcess, console: None, settings: Settings, env: dict[str, str],
        sessions: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    added = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "cli", "user", "add", ADMIN, "--role",
                         "admin"], cwd=REPO_ROOT, capture_output=True, text=True,
        env={**env, "HOTLINE_NEW_PASSWORD": ADMIN_PASSWORD}, timeout=60)
    assert added.returncode == 0, added.stderr
    assert "Unable to find object 8005" in await asyncio.to_thread(endpoint, settings, "8005")
    old_8002 = await phone_password(sessions, "8002")
    target = f"127.0.0.1:{PORTS['sip']}"
    await set_mode(sessions, "open")
    try:
        with sipp.Phone("8001", await phone_password(sessions, "8001"), target=target,
                        port=port(25091), media_port=port(26200), workdir=tmp_path):
            await asyncio.to_thread(pbx.with_control, settings,
                                    lambda control: control.join("8001", "8001"))
            await asyncio.sleep(1.0)  # the seat's device state settles after registering
            caller = asyncio.create_task(
                place_call(settings, sipp.speak(TALK_SECONDS), tmp_path, caller=CALLER))
            before = await talking(settings)

            async with httpx.AsyncClient(
                    base_url=f"http://127.0.0.1:{PORTS['console']}", timeout=30) as client:
                login = await client.post("/api/login", json={"username": ADMIN,
                                                              "password": ADMIN_PASSWORD})
                headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
                add = await client.post("/api/phones", headers=headers,
                                        json={"extension": "8005", "kind": "seat"})
                reset = await client.post("/api/phones/8002/reset-password", headers=headers)
                listed = await client.get("/api/phones", headers=headers)

            # Asterisk took the new configuration ...
            assert add.status_code == 200 and add.json()["reloaded"] is True, add.text
            assert reset.status_code == 200 and reset.json()["reloaded"] is True, reset.text
            shown = await asyncio.to_thread(endpoint, settings, "8005")
            assert "Endpoint:  8005" in shown and "Unable to find" not in shown
            by_ext = {p["extension"]: p for p in listed.json()}
            assert by_ext["8001"]["registered"] is True
            assert by_ext["8005"]["registered"] is False
            # ... and the call was not touched: the same two channels, still bridged.
            after = await asyncio.to_thread(live_channels, settings)
            assert sorted(c["Channel"] for c in after) == sorted(c["Channel"] for c in before)
            assert all(c["ChannelStateDesc"] == "Up" and c.get("BridgeId") for c in after)

            result = await caller
    finally:
        await asyncio.to_thread(pbx.with_control, settings,
                                lambda control: control.leave("8001"))
        await set_mode(sessions, "closed")

    # The caller's script ran to its own BYE: no hang-up from the hotline cut it short.
    assert result.returncode == 0, result.output
    assert result.seconds >= TALK_SECONDS
    call = await wait_call(sessions, recording_done, caller=CALLER)
    assert (call.route, call.agent, call.disposition) == ("queue", "8001", "answered")
    assert call.answered_at is not None and call.ended_at is not None
    # The whole talk is on record (less a second: the answer's time is Asterisk's event
    # time, the end's the bridge's, and one run found them 16 ms short of 16 s).
    assert (call.ended_at - call.answered_at).total_seconds() >= TALK_SECONDS - 1

    # 8002's new password is the one Asterisk asks for now; the old one is refused.
    new_8002 = reset.json()["password"]
    assert new_8002 == await phone_password(sessions, "8002") != old_8002
    await asyncio.to_thread(sipp.Phone("8002", new_8002, target=target, port=port(25093),
                                       media_port=port(26202), workdir=tmp_path).register)
    with pytest.raises(AssertionError, match="could not register"):
        await asyncio.to_thread(sipp.Phone("8002", old_8002, target=target, port=port(25095),
                                           media_port=port(26204), workdir=tmp_path).register)


async def test_a_disabled_seat_is_gone_from_pjsip_and_the_queue(
        asterisk: pbx.PbxInstance, console: None, settings: Settings, env: dict[str, str],
        hotline_cli: object) -> None:
    await asyncio.to_thread(pbx.with_control, settings,
                            lambda control: control.join("8004", "8004"))

    done = await asyncio.to_thread(hotline_cli, "phones", "disable", "8004")  # type: ignore[arg-type]

    assert done.returncode == 0, done.stdout + done.stderr
    assert "Unable to find object 8004" in await asyncio.to_thread(endpoint, settings, "8004")
    queue = await asyncio.to_thread(pbx.cli, settings, "queue show seats")
    assert "PJSIP/8004" not in queue
    again = await asyncio.to_thread(hotline_cli, "phones", "enable", "8004")  # type: ignore[arg-type]
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Endpoint:  8004" in await asyncio.to_thread(endpoint, settings, "8004")
