"""Numbers no column can hold, in any route's path or query, are refused (422), never a 500:
every route of the app is tried, as an administrator and as an agent."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
from fastapi.routing import APIRoute

from agent_console.texts import MESSAGES

from .conftest import ADMIN_NAME, AGENT_NAME, csrf_of, log_in

HUGE = "99999999999999999999999"


def _routes(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, APIRoute]]:
    """Every route of the app, with its full path (routers are included, not flattened)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield prefix + route.path, route
        elif hasattr(route, "original_router"):
            yield from _routes(route.original_router.routes,
                               prefix + route.include_context.prefix)


def _int_params(route: APIRoute) -> tuple[list[str], list[str]]:
    def ints(params: list) -> list[str]:  # type: ignore[type-arg]
        return [p.name for p in params if p.field_info.annotation in (int, int | None)]
    return ints(route.dependant.path_params), ints(route.dependant.query_params)


def _fill(path: str, ints: list[str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: HUGE if m[1] in ints else "x", path)


async def test_huge_ids_anywhere_are_refused_not_a_500(client: httpx.AsyncClient) -> None:
    app = client._transport.app  # type: ignore[attr-defined]
    tried = []
    for username in (ADMIN_NAME, AGENT_NAME):
        client.cookies.clear()
        await log_in(client, username)
        headers = {"X-CSRF-Token": csrf_of((await client.get("/")).text)}
        for full_path, route in _routes(app.routes):
            path_ints, query_ints = _int_params(route)
            if not path_ints and not query_ints:
                continue
            path = _fill(full_path, path_ints)
            for method in route.methods:
                response = await client.request(method, path, headers=headers,
                                                params=dict.fromkeys(query_ints, HUGE))
                tried.append(f"{method} {full_path}")
                assert response.status_code != 500, f"{username}: {method} {path}"

    assert {"GET /api/recordings/{recording_id}/audio", "GET /api/tickets/{ticket_id}",
            "GET /api/calllogs/{log_id}", "POST /api/notices/{notice_id}/read"} <= set(tried)


async def test_the_named_routes_answer_422_in_chinese(client: httpx.AsyncClient) -> None:
    await log_in(client, ADMIN_NAME)
    headers = {"X-CSRF-Token": csrf_of((await client.get("/")).text)}

    for method, path in (("GET", f"/api/recordings/{HUGE}/audio"),
                         ("GET", f"/api/tickets/{HUGE}"), ("GET", f"/api/calllogs/{HUGE}"),
                         ("POST", f"/api/notices/{HUGE}/read"), ("GET", f"/tickets/{HUGE}")):
        response = await client.request(method, path, headers=headers)
        assert response.status_code in (404, 422), f"{method} {path}"
        if response.status_code == 422:
            assert response.json() == {"detail": MESSAGES["out_of_range"]}
