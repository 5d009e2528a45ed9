"""Lists that follow the database (issue 13): a list's stamp changes when what its reader may
see of it changes — a matter arrives, is closed, is pushed (督办), takes a step; a notice is
read — and only then (another department's matter leaves a handler's stamp alone); the
stream says `changed` to a page whose stamp is stale and nothing to one that is current."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agent_console import accounts, listing
from agent_console.notices import NOTICE_CHANGES
from agent_console.texts import DEPT_HANDLER
from agent_console.tickets import TICKET_CHANGES
from hotline.db import notices
from hotline.db import tickets as db_tickets
from hotline.db.base import session_scope
from hotline.db.models import Department, Notice, Ticket, TicketEvent

from .conftest import AGENT_NAME, PASSWORD, Clock, log_in

Sessions = async_sessionmaker[AsyncSession]


async def _matter(sessions: Sessions, department: int | None) -> int:
    async with session_scope(sessions) as db:
        ticket = await db_tickets.create_ticket(db, "complaint", "13812345678", None,
                                                text="立案窗口推诿")
        if department is not None:
            ticket.department_id, ticket.forwarded_at = department, ticket.created_at
        return ticket.id


async def _handler_stamp(sessions: Sessions, handler: int) -> str:
    async with session_scope(sessions) as db:
        return await listing.stamp(db, db_tickets.handler_list(handler), None, *TICKET_CHANGES)


@pytest.fixture
async def desks(sessions: Sessions, staff: None) -> dict[str, int]:
    """Two handlers, each of their own department."""
    async with session_scope(sessions) as db:
        ids = {}
        for name in ("zhao", "qian"):
            user = await accounts.add_user(db, name, PASSWORD, DEPT_HANDLER, name)
            department = Department(name=f"{name}庭", handler_id=user.id)
            db.add(department)
            await db.flush()
            ids[name], ids[f"{name}_dept"] = user.id, department.id
        return ids


async def test_a_handlers_stamp_follows_their_matters_only(
        sessions: Sessions, desks: dict[str, int]) -> None:
    first = await _handler_stamp(sessions, desks["zhao"])
    assert first == await _handler_stamp(sessions, desks["zhao"]), "same list, same stamp"

    await _matter(sessions, desks["qian_dept"])
    await _matter(sessions, None)
    assert await _handler_stamp(sessions, desks["zhao"]) == first, \
        "another department's matter, or one not forwarded, is not on zhao's list"

    mine = await _matter(sessions, desks["zhao_dept"])
    arrived = await _handler_stamp(sessions, desks["zhao"])
    assert arrived != first

    seen = {first, arrived}
    for change in ("event", "escalation", "closed"):
        async with session_scope(sessions) as db:
            ticket = await db.get(Ticket, mine)
            assert ticket is not None
            if change == "event":
                db.add(TicketEvent(ticket_id=mine, kind="replied", detail={}))
            elif change == "escalation":
                ticket.escalation_level = 1
            else:
                ticket.status = "closed"
        now = await _handler_stamp(sessions, desks["zhao"])
        assert now not in seen, f"a matter's {change} leaves the stamp as it was"
        seen.add(now)


async def test_a_narrowed_list_stamps_only_what_the_search_keeps(
        sessions: Sessions, desks: dict[str, int]) -> None:
    spec = listing.Spec(search=(Ticket.text,))
    wanted = listing.read_query({"q": "退费"}, spec, "Asia/Shanghai")

    async def stamped() -> str:
        async with session_scope(sessions) as db:
            return await listing.stamp(db, db_tickets.handler_list(desks["zhao"]), wanted,
                                       *TICKET_CHANGES)

    before = await stamped()
    await _matter(sessions, desks["zhao_dept"])  # 立案窗口推诿: not found by 退费
    assert await stamped() == before


async def test_a_notice_read_changes_the_notices_stamp(
        sessions: Sessions, desks: dict[str, int], clock: Clock) -> None:
    async def stamped() -> str:
        async with session_scope(sessions) as db:
            return await listing.stamp(db, notices.list_query(desks["zhao"]), None,
                                       *NOTICE_CHANGES)

    empty = await stamped()
    async with session_scope(sessions) as db:
        db.add(Notice(user_id=desks["qian"], kind="forwarded", text="给钱的"))
    assert await stamped() == empty, "another user's notice"
    async with session_scope(sessions) as db:
        db.add(Notice(user_id=desks["zhao"], kind="forwarded", text="给赵的"))
    unread = await stamped()
    assert unread != empty
    async with session_scope(sessions) as db:
        assert await notices.mark_read(db, desks["zhao"], clock()) == 1
    assert await stamped() not in (empty, unread)


async def test_the_stream_says_changed_to_a_stale_page_only(
        client: httpx.AsyncClient, sessions: Sessions, desks: dict[str, int],
        monkeypatch: pytest.MonkeyPatch) -> None:
    # one stream of 0.3 s, read every 0.05 s: long enough to say what it has to say
    monkeypatch.setattr(listing, "LIVE_LIFETIME_SECONDS", 0.3)
    monkeypatch.setattr(listing, "LIVE_POLL_SECONDS", 0.05)
    await log_in(client, "zhao")
    await _matter(sessions, desks["zhao_dept"])
    page = await client.get("/handler")
    assert page.status_code == 200
    current = await _handler_stamp(sessions, desks["zhao"])
    assert f'data-stamp="{current}"' in page.text and 'data-live="/api/tickets/changes"' \
        in page.text

    quiet = await client.get("/api/tickets/changes", params={"since": current})
    assert quiet.headers["content-type"].startswith("text/event-stream")
    assert "event: changed" not in quiet.text

    await _matter(sessions, desks["qian_dept"])
    still = await client.get("/api/tickets/changes", params={"since": current})
    assert "event: changed" not in still.text, "another department's matter"

    await _matter(sessions, desks["zhao_dept"])
    told = await client.get("/api/tickets/changes", params={"since": current})
    fresh = await _handler_stamp(sessions, desks["zhao"])
    assert told.text.count("event: changed") == 1
    assert f'"stamp": "{fresh}"' in told.text

    # the page's own query narrows what the stream follows
    narrowed = await client.get("/api/tickets/changes", params={"since": current, "q": "退费"})
    assert "event: changed" in narrowed.text  # its stamp is of another list: stale
    stamp_of_search = narrowed.text.split('"stamp": "')[1].split('"')[0]
    await _matter(sessions, desks["zhao_dept"])
    after = await client.get("/api/tickets/changes", params={"since": stamp_of_search,
                                                             "q": "退费"})
    assert "event: changed" not in after.text, "a matter the search does not find"


async def _token(client: httpx.AsyncClient, username: str) -> dict[str, str]:
    response = await client.post("/api/login", json={"username": username,
                                                     "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def test_each_lists_stream_answers_its_own_readers(
        client: httpx.AsyncClient, desks: dict[str, int],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(listing, "LIVE_LIFETIME_SECONDS", 0.1)
    handler = await _token(client, "zhao")
    for path, status in (("/api/notices/changes", 200), ("/api/tickets/changes", 200),
                         ("/api/sms/inbox/changes", 403), ("/api/consultations/changes", 403),
                         ("/api/tickets/callbacks/changes", 403)):
        response = await client.get(path, headers=handler)
        assert response.status_code == status, path
    agent = await _token(client, AGENT_NAME)
    for path in ("/api/sms/inbox/changes", "/api/consultations/changes",
                 "/api/tickets/callbacks/changes", "/api/tickets/changes"):
        response = await client.get(path, headers=agent)
        # no since: any stamp is news
        assert response.status_code == 200 and "event: changed" in response.text, path
