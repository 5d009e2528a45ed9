"""hotline.integrations on each database: every change of a matter reaches a court system
once, in order, signed — through a local receiver that fails, then recovers, and a
"restart" (a new engine) in between; a failing endpoint raises its alert and clears it;
two deliverers never send to one endpoint at once; a wrong endpoint stops the start."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline import integrations, tickets
from hotline.db import outbox
from hotline.db.base import make_engine, make_sessionmaker, session_scope
from hotline.db.models import Alert, Department, OutboxEvent, Ticket, User
from hotline.db.tickets import create_ticket
from hotline.escalation import run_pass
from hotline.secrets import endpoint_secret
from hotline.settings import IntegrationsSettings, Settings, SettingsError, load_settings
from tests.local_http import serving

Sessions = async_sessionmaker[AsyncSession]
FORWARDED = datetime(2026, 2, 13, 2, 0, tzinfo=UTC)  # Fri 10:00 in Beijing


class Receiver:
    """A court system's receiver on a local port: answers 503 to the first `fail` posts,
    then 200; keeps what it accepted, and checks each signature."""

    def __init__(self, fail: int) -> None:
        self.fail, self.posts, self.accepted = fail, 0, []  # type: ignore[var-annotated]
        self.secret = ""
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.posts += 1
                if receiver.posts <= receiver.fail:
                    self.send_response(503)
                else:
                    stamp = self.headers["X-Hotline-Timestamp"]
                    mac = hmac.new(receiver.secret.encode(), stamp.encode() + b"." + body,
                                   hashlib.sha256).hexdigest()
                    assert self.headers["X-Hotline-Signature"] == "sha256=" + mac
                    event = json.loads(body)
                    assert event["id"] == self.headers["X-Hotline-Event"]
                    receiver.accepted.append(event)
                    self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/events"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver(fail=3)
    with serving(found.server):
        yield found


@pytest.fixture
def court(settings: Settings, receiver: Receiver) -> Iterator[Settings]:
    """Settings with one endpoint, the receiver; the outbox writes rows for it."""
    wired = dataclasses.replace(settings, integrations=IntegrationsSettings(
        endpoints=(f"court = {receiver.url}",), alert_minutes=1))
    receiver.secret = endpoint_secret(wired, "court")
    outbox.configure(("court",))
    yield wired
    outbox.configure(())


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


async def _matters(sessions: Sessions, settings: Settings) -> tuple[str, str]:
    """Two matters whose changes interleave: one forwarded, escalated, then closed outside
    the hotline by the head; one answered by a court system (its reference the proof)."""
    async with session_scope(sessions) as db:
        head = User(username="int-head", role="dept_head", password_hash="x")
        handler = User(username="int-handler", role="dept_handler", password_hash="x")
        db.add_all([head, handler])
        await db.flush()
        department = Department(name="对接测试庭", handler_id=handler.id, head_id=head.id)
        db.add(department)
        first = await create_ticket(db, "complaint", "13812345678", None, text="久未立案",
                                    now=FORWARDED)
        second = await tickets.create_for_system(db, "ssfw", "consultation", "13812345679",
                                                 "网上留言：何时开庭", "LY-1", FORWARDED)
        await tickets.forward(db, settings, first, department, None, FORWARDED)
        references = first.reference, second.reference
    await run_pass(sessions, settings, FORWARDED + timedelta(days=14))
    async with session_scope(sessions) as db:
        second = (await db.execute(select(Ticket).where(Ticket.reference == references[1]))
                  ).scalar_one()
        await tickets.answer_from_system(db, settings, second, "ssfw", "MSG-88", "已答复",
                                         "message", FORWARDED + timedelta(days=14))
        first = (await db.execute(select(Ticket).where(Ticket.reference == references[0]))
                 ).scalar_one()
        await tickets.close_outside(db, settings, first, head.id, "法官已用本人电话答复",
                                    "3月2日 王法官 138xxxx 通话 5 分钟")
    return references


async def test_every_event_arrives_once_in_order_through_failures_and_a_restart(
        sessions: Sessions, court: Settings, receiver: Receiver, db_url: str) -> None:
    first, second = await _matters(sessions, court)
    clock = Clock()

    said = await integrations.deliver(sessions, court, clock)  # 503: backs off 5 s
    assert said is not None and "failing (HTTP 503)" in said and receiver.accepted == []
    assert await integrations.deliver(sessions, court, clock) is None  # still backing off
    clock.now += timedelta(seconds=5)
    await integrations.deliver(sessions, court, clock)  # 2nd failure: 10 s
    clock.now += timedelta(seconds=70)
    # A restart: another engine, nothing kept in memory but the rows.
    engine = make_engine(db_url)
    try:
        restarted = make_sessionmaker(engine)
        await integrations.deliver(restarted, court, clock)  # 3rd failure, over 1 minute
        async with session_scope(restarted) as db:
            alert = (await db.execute(select(Alert).where(
                Alert.kind == integrations.ALERT_KIND))).scalar_one()
            assert alert.key == "court" and alert.resolved_at is None
        clock.now += timedelta(seconds=20)
        said = await integrations.deliver(restarted, court, clock)
        assert said == "court: 8 sent"
        assert await integrations.deliver(restarted, court, clock) is None  # nothing twice
        async with session_scope(restarted) as db:
            again = await db.get(Alert, alert.id)
            assert again is not None and again.resolved_at is not None
            rows = list((await db.execute(select(OutboxEvent))).scalars())
            assert all(r.delivered_at is not None for r in rows)
    finally:
        await engine.dispose()

    assert len({e["id"] for e in receiver.accepted}) == len(receiver.accepted) == 8
    kinds = {ref: [e["type"] for e in receiver.accepted if e["matter"]["reference"] == ref]
             for ref in (first, second)}
    assert kinds == {first: ["matter.created", "matter.forwarded", "matter.escalated",
                             "matter.escalated", "matter.closed"],
                     second: ["matter.created", "matter.answered", "matter.closed"]}
    closed = {e["matter"]["reference"]: e for e in receiver.accepted
              if e["type"] == "matter.closed"}
    assert closed[first]["matter"]["closing"] == "outside"
    assert closed[first]["detail"] == {"proof": "outside", "reason": "法官已用本人电话答复"}
    assert closed[second]["matter"]["closing"] == "proof"
    assert closed[second]["matter"]["source"] == "ssfw"
    assert "13812345678" not in json.dumps(receiver.accepted)  # no phone numbers


async def test_a_rolled_back_change_sends_nothing(sessions: Sessions, court: Settings) -> None:
    with pytest.raises(RuntimeError):
        async with session_scope(sessions) as db:
            await create_ticket(db, "complaint", "", None, text="x", now=FORWARDED)
            raise RuntimeError
    async with session_scope(sessions) as db:
        assert list((await db.execute(select(OutboxEvent))).scalars()) == []


async def test_one_deliverer_per_endpoint(sessions: Sessions, court: Settings) -> None:
    at = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    assert await integrations._claim(sessions, "court", at, "a:1")
    assert not await integrations._claim(sessions, "court", at, "b:2")
    # a holder that died: its lease runs out
    assert await integrations._claim(sessions, "court", at + timedelta(minutes=2), "b:2")


def test_backoff_doubles_from_5_seconds_up_to_an_hour() -> None:
    assert [integrations.backoff(n, 3600) for n in (1, 2, 3, 10, 20)] == [
        5, 10, 20, 2560, 3600]


def test_a_wrong_endpoint_names_its_line(tmp_path: Path) -> None:
    config = tmp_path / "hotline.toml"
    config.write_text('[integrations]\nendpoints = [\n  "a = http://10.0.0.5/x",\n'
                      '  "b = ftp://10.0.0.6/y",\n]\n')
    with pytest.raises(SettingsError, match=r"hotline.toml line 4: .*ftp://10.0.0.6/y"):
        load_settings(env={}, config_path=config)


def test_the_scheduler_delivers_only_where_endpoints_are_configured() -> None:
    from scheduler.jobs import all_jobs

    wired = Settings(integrations=IntegrationsSettings(endpoints=("a = http://10.0.0.5/",)))
    assert "integrations" in {job.name for job in all_jobs(wired)}
    assert "integrations" not in {job.name for job in all_jobs(Settings())}


def test_the_pushed_kinds_are_the_steps_own_names() -> None:
    from hotline import escalation, ratings

    assert set(outbox.EVENT_KINDS) == {
        tickets.FORWARDED, tickets.REPLY_CALL_ANSWERED, tickets.ANSWERED_SYSTEM,
        escalation.EVENT_KIND, tickets.CLOSED_EVENT, tickets.CLOSED_OUTSIDE,
        ratings.RATED_EVENT}
