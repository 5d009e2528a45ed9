"""The console's log: its own lines and uvicorn's, access lines too, in console.log with the
numbers masked (a path or a search holds the number blocked or looked for)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import socket
from pathlib import Path

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from agent_console.cli import configure_logging, uvicorn_config
from hotline.settings import Settings


async def test_access_lines_go_to_console_log_masked(tmp_path: Path) -> None:
    async def blocked(request: Request) -> PlainTextResponse:
        logging.getLogger("agent_console.blocklist").info(
            "number %s removed from the block list", request.path_params["number"])
        return PlainTextResponse("", status_code=204)
    app = Starlette(routes=[Route("/api/blocklist/{number}", blocked, methods=["DELETE"])])
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    settings = Settings()
    settings = dataclasses.replace(
        settings, paths=dataclasses.replace(settings.paths, data_dir=tmp_path),
        console=dataclasses.replace(settings.console, host="127.0.0.1",
                                    port=sock.getsockname()[1]))
    # As a test before this one may have left them: a Config with uvicorn's own logging.
    uvicorn.Config(app, log_level="warning")
    configure_logging(settings)
    server = uvicorn.Server(uvicorn_config(settings, app))  # type: ignore[arg-type]
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        for _ in range(500):
            if server.started or task.done():
                break
            await asyncio.sleep(0.02)
        assert server.started, "the server did not start"
        async with httpx.AsyncClient(trust_env=False) as client:
            answer = await client.delete(
                f"http://127.0.0.1:{sock.getsockname()[1]}/api/blocklist/13812340077?q=13812340078")
        assert answer.status_code == 204
    finally:
        server.should_exit = True
        await task
        sock.close()
        logging.basicConfig(handlers=[logging.NullHandler()], force=True)

    text = (settings.log_dir / "console.log").read_text()
    assert "removed from the block list" in text, "the console's own INFO lines are kept"
    assert '"DELETE /api/blocklist/' in text, "uvicorn's access line is in the file"
    assert "13812340077" not in text and "13812340078" not in text
