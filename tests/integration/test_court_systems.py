"""The court's systems and the console, as in production: `hotline console` over HTTP on
the session's database, tokens made with `hotline integrations token`, escalation run with
`hotline escalate` (issue 19).

- The inbound API: a system creates a matter, reads it, records the answer made there
  (which closes it with that proof), each only with a token holding the scope; a missing,
  refused or revoked token is answered 401/403; the routes are in the OpenAPI.
- A matter answered outside the hotline: the department's head closes it on its page with
  a reason, a proof and an attachment; a handler may not; its escalation stops there."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from subprocess import CompletedProcess
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agent_console import accounts
from agent_console.texts import DEPT_HANDLER, DEPT_HEAD
from hotline.db.base import session_scope, utcnow
from hotline.db.models import Department, Escalation, Ticket, TicketEvent
from hotline.db.tickets import create_ticket
from tests.integration.conftest import PORTS

CONSOLE = f"http://127.0.0.1:{PORTS['console']}"
PASSWORD = "cs-h8-12368"
Cli = Callable[..., CompletedProcess[str]]


def _token(hotline_cli: Cli, *scopes: str) -> str:
    args = [a for scope in scopes for a in ("--scope", scope)]
    done = hotline_cli("integrations", "token", "add", "ssfw-cs", *args)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_court_system_creates_reads_and_answers_a_matter(
        console: None, hotline_cli: Cli) -> None:
    writer = _token(hotline_cli, "matters:create", "matters:read")
    answerer = _token(hotline_cli, "matters:answer")
    matter = {"type": "consultation", "caller_number": "13812340019",
              "text": "网上留言：申请延期开庭的手续", "reference": "SSFW-2026-77"}
    async with httpx.AsyncClient(base_url=CONSOLE, timeout=30) as client:
        assert (await client.post("/api/systems/matters", json=matter)).status_code == 401
        refused = await client.post("/api/systems/matters", json=matter,
                                    headers=_bearer(answerer))
        assert refused.status_code == 403 and "matters:create" in refused.json()["detail"]
        made = await client.post("/api/systems/matters", json=matter, headers=_bearer(writer))
        assert made.status_code == 201, made.text
        reference = made.json()["reference"]
        assert made.json()["source"] == "ssfw-cs" and made.json()["status"] == "open"

        answer = {"reference": "SSFW-MSG-901", "channel": "message", "text": "已网上答复"}
        path = f"/api/systems/matters/{reference}"
        assert (await client.post(path + "/answer", json=answer,
                                  headers=_bearer(writer))).status_code == 403
        done = await client.post(path + "/answer", json=answer, headers=_bearer(answerer))
        assert done.status_code == 200, done.text
        assert (done.json()["status"], done.json()["closing"]) == ("closed", "proof")
        again = await client.post(path + "/answer", json=answer, headers=_bearer(answerer))
        assert again.status_code == 409

        state = (await client.get(path, headers=_bearer(writer))).json()
        # ... and the caller was told by SMS it is closed, as with any other proof
        assert state["events"] == ["created", "answered_system", "closed", "caller_told"]
        assert (await client.get(path, headers=_bearer(answerer))).status_code == 403
        assert (await client.get("/api/systems/matters/0000000000",
                                 headers=_bearer(writer))).status_code == 404

        listed = hotline_cli("integrations", "token", "list").stdout
        token_id = next(line.split("\t")[0] for line in listed.splitlines()
                        if "matters:create matters:read" in line and "live" in line)
        assert hotline_cli("integrations", "token", "revoke", token_id).returncode == 0
        assert (await client.get(path, headers=_bearer(writer))).status_code == 401

        schema = (await client.get("/api/openapi.json")).json()
        assert {"/api/systems/matters", "/api/systems/matters/{reference}",
                "/api/systems/matters/{reference}/answer"} <= set(schema["paths"])


async def _department_with_matters(sessions: async_sessionmaker[AsyncSession]
                                   ) -> tuple[int, int]:
    """A department (head, handler) with two matters past their reply deadline."""
    past = utcnow() - timedelta(days=10)
    async with session_scope(sessions) as db:
        head = await accounts.add_user(db, "cs_head", PASSWORD, DEPT_HEAD, "赵庭长")
        handler = await accounts.add_user(db, "cs_handler", PASSWORD, DEPT_HANDLER, "钱专人")
        department = Department(name="系统外答复测试庭", head_id=head.id, handler_id=handler.id)
        db.add(department)
        await db.flush()
        ids = []
        for text in ("要求法官回电", "同一部门的另一件"):
            ticket = await create_ticket(db, "contact_judge", "13812340020", None, text=text)
            ticket.department_id, ticket.assignee_id = department.id, handler.id
            ticket.forwarded_at, ticket.due_at = past, past + timedelta(days=2)
            ticket.next_escalation_at = ticket.due_at
            ids.append(ticket.id)
        return ids[0], ids[1]


async def _logged_in(client: httpx.AsyncClient, username: str) -> None:
    form = await client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert csrf
    done = await client.post("/login", data={"username": username, "password": PASSWORD,
                                              "csrf_token": csrf.group(1)})
    assert done.status_code == 303, done.text


async def test_a_head_closes_a_matter_answered_outside_and_its_escalation_stops(
        console: None, hotline_cli: Cli, sessions: async_sessionmaker[AsyncSession]) -> None:
    closed_id, control_id = await _department_with_matters(sessions)
    async with httpx.AsyncClient(base_url=CONSOLE, timeout=30) as handler:
        token = (await handler.post("/api/login", json={"username": "cs_handler",
                                                        "password": PASSWORD})).json()
        refused = await handler.post(f"/api/tickets/{closed_id}/close-outside",
                                     json={"reason": "x", "proof": "y"},
                                     headers=_bearer(token["access_token"]))
        assert refused.status_code == 403
    async with httpx.AsyncClient(base_url=CONSOLE, timeout=30) as head:
        await _logged_in(head, "cs_head")
        page = await head.get(f"/tickets/{closed_id}")
        assert f'action="/tickets/{closed_id}/close-outside"' in page.text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert csrf
        form: dict[str, Any] = {"csrf_token": csrf.group(1),
                                "outside_reason": "王法官已用本人手机答复当事人",
                                "outside_proof": "12月1日 10:05 王法官手机通话记录，约6分钟"}
        empty = await head.post(f"/tickets/{closed_id}/close-outside",
                                data={**form, "outside_proof": ""})
        assert empty.status_code == 422 and "请填写答复证明" in empty.text
        done = await head.post(f"/tickets/{closed_id}/close-outside", data=form,
                               files={"outside_attachment": ("通话截图.png", b"\x89PNG-h8",
                                                             "image/png")})
        assert done.status_code == 303, done.text
        shown = await head.get(f"/tickets/{closed_id}")
        assert "系统外答复办结" in shown.text and "王法官已用本人手机答复当事人" in shown.text
        link = re.search(r'href="(/tickets/\d+/outside-proof/[0-9a-f]+\.png)"', shown.text)
        assert link, shown.text
        assert (await head.get(link.group(1))).content == b"\x89PNG-h8"

    far = (utcnow() + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M")
    assert hotline_cli("escalate", "--now", far).returncode == 0
    async with session_scope(sessions) as db:
        ticket = await db.get(Ticket, closed_id)
        assert ticket is not None
        assert (ticket.status, ticket.close_kind, ticket.next_escalation_at) == (
            "closed", "outside", None)
        escalated = set((await db.execute(select(Escalation.ticket_id).where(
            Escalation.ticket_id.in_((closed_id, control_id))))).scalars())
        assert escalated == {control_id}  # the pass ran; the closed one was left alone
        kinds = list((await db.execute(select(TicketEvent.kind).where(
            TicketEvent.ticket_id == closed_id))).scalars())
        assert "closed_outside" in kinds
