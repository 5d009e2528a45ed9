"""A backup of the running hotline restored on a new data folder (issue 16): a real call
through the real Asterisk leaves its recording and a matter; `hotline backup` while the
bridge runs; `hotline restore` into a folder nobody used, with its own settings file; the
call, its matter, its recording's bytes, the phones and the secrets are there, the database
is at the migrations' head, and the console starts on it. (A second restore refused,
a damaged archive, pruning: tests/unit/hotline/test_backup.py.)"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import pbx
from cli import health
from hotline.db import phones as phones_db
from hotline.db import tickets
from hotline.db.base import make_engine, make_sessionmaker, session_scope
from hotline.db.models import Call, Recording, Ticket
from hotline.settings import REPO_ROOT, Settings, load_settings
from tests.integration import sipp
from tests.integration.conftest import BridgeProcess, port
from tests.integration.test_walking_skeleton import (
    place_call,
    recording_done,
    set_mode,
    wait_call,
)

CALLER = "13800016001"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cli", *args], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


async def test_a_backup_of_the_running_hotline_restores_on_a_new_data_folder(
        bridge: BridgeProcess, settings: Settings, env: dict[str, str],
        sessions: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    await set_mode(sessions, "closed")
    result = await place_call(settings, sipp.quiet(3.0), tmp_path, caller=CALLER)
    assert result.returncode == 0, result.output
    call = await wait_call(sessions, recording_done, caller=CALLER)
    [rec] = call.recordings
    async with session_scope(sessions) as session:
        matter = await tickets.create_ticket(session, "suggestion", CALLER, call.id,
                                             text="备份恢复测试")
        reference = matter.reference
        phones = {p.extension: p.password for p in await phones_db.list_phones(session)}
    recording = pbx.instance_for(settings).recordings_dir / rec.path
    assert recording.is_file()

    folder = tmp_path / "nas"
    made = run_cli(env, "backup", "--to", str(folder))
    assert made.returncode == 0, made.stdout + made.stderr
    [archive] = folder.glob("hotline-backup-*.tar")

    new = tmp_path / "new"
    new.mkdir()
    (new / "hotline.toml").write_text("# the shipped settings of a fresh machine\n")
    new_env = {**env, "HOTLINE_CONFIG": str(new / "hotline.toml"),
               "HOTLINE_PATHS_DATA_DIR": str(new / "data"),
               "HOTLINE_CONSOLE_PORT": str(port(28369))}
    restored = load_settings(env={k: v for k, v in new_env.items() if k != "HOTLINE_CONFIG"},
                             config_path=Path(env["HOTLINE_CONFIG"]))
    new_root = pbx.instance_for(restored).recordings_dir
    try:
        done = run_cli(new_env, "restore", str(archive))
        assert done.returncode == 0, done.stdout + done.stderr
        await check_restored(restored, call.id, reference, phones)
        assert sha256(new_root / rec.path) == sha256(recording)
        assert sha256(new / "hotline.toml") == sha256(Path(env["HOTLINE_CONFIG"]))
        assert sha256(new / "data" / "secrets.toml") == sha256(settings.data_dir / "secrets.toml")
        start_console(restored, new_env)
    finally:
        shutil.rmtree(new_root.parent, ignore_errors=True)


async def check_restored(restored: Settings, call_id: str, reference: str,
                         phones: dict[str, str]) -> None:
    """The restored database, at head (the restore migrated it), holds the call, its
    recording, the matter and the phones, whose SIP accounts render as before."""
    engine = make_engine(restored.database_url)
    try:
        async with session_scope(make_sessionmaker(engine)) as session:
            call = await session.get(Call, call_id)
            assert call is not None and call.caller_number == CALLER
            statuses = (await session.execute(
                select(Recording.status).where(Recording.call_id == call_id))).scalars()
            assert list(statuses) == ["complete"]
            matter = (await session.execute(
                select(Ticket).where(Ticket.reference == reference))).scalar_one()
            assert matter.call_id == call_id and matter.text == "备份恢复测试"
            rows = await phones_db.list_phones(session)
    finally:
        await engine.dispose()
    assert {p.extension: p.password for p in rows} == phones
    rendered = pbx.render_pjsip(restored.pbx, rows)
    assert all(f"password = {password}" in rendered for password in phones.values())


def start_console(restored: Settings, env: dict[str, str]) -> None:
    """The console as `hotline up` starts it, on the restored data folder."""
    restored.log_dir.mkdir(parents=True, exist_ok=True)
    log = open(restored.log_dir / "console-test.out", "ab")  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, "-m", "cli", "console"], cwd=REPO_ROOT, env=env,
                            stdout=log, stderr=log)
    log.close()
    try:
        health.wait_console_healthy(restored)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
