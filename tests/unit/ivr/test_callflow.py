"""ivr.callflow: a prompt that fails as the caller hangs up ends the call quietly, with no
command to the dead channel; one that fails on a live channel is an error. Asterisk's end
is a real TCP peer speaking AGI."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from ivr.callflow import CallFlow
from ivr.fastagi import AgiError, AgiHangup, AgiSession
from ivr.services import Services

STEP = 2.0
Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class Asterisk:
    """Asterisk's end of the call's FastAGI connection."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def command(self) -> str:
        return (await asyncio.wait_for(self.reader.readline(), STEP)).decode().rstrip("\n")

    async def send(self, *lines: str) -> None:
        self.writer.write("".join(f"{line}\n" for line in lines).encode())
        await self.writer.drain()


@pytest.fixture
async def connection() -> AsyncIterator[tuple[AgiSession, Asterisk]]:
    accepted: asyncio.Future[Streams] = asyncio.get_running_loop().create_future()

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.set_result((reader, writer))

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    reader, writer = await asyncio.open_connection("127.0.0.1",
                                                   server.sockets[0].getsockname()[1])
    ours = await accepted
    yield AgiSession(ours[0], ours[1], {}), Asterisk(reader, writer)
    writer.close()
    ours[1].close()
    server.close()


async def welcome_asked(agi: AgiSession, asterisk: Asterisk,
                        services: Services) -> asyncio.Task[str]:
    """The call's welcome prompt, sent to Asterisk and waiting for its reply."""
    flow = CallFlow(agi, services, "1795747054.0", "13812345678")
    playing = asyncio.create_task(flow.play("welcome"))
    assert (await asterisk.command()).startswith('STREAM FILE "')
    return playing


async def test_a_caller_gone_mid_prompt_ends_the_call_without_asking_the_channel(
        connection: tuple[AgiSession, Asterisk], services: Services) -> None:
    agi, asterisk = connection
    playing = await welcome_asked(agi, asterisk, services)
    await asterisk.send("200 result=-1 endpos=4000", "HANGUP")  # Asterisk's order

    with pytest.raises(AgiHangup):
        await asyncio.wait_for(playing, STEP)
    agi._writer.close()
    assert await asyncio.wait_for(asterisk.reader.read(), STEP) == b""  # no CHANNEL STATUS


async def test_a_prompt_failing_on_a_live_channel_is_an_error(
        connection: tuple[AgiSession, Asterisk], services: Services) -> None:
    agi, asterisk = connection
    playing = await welcome_asked(agi, asterisk, services)
    await asterisk.send("200 result=-1 endpos=0")  # e.g. the sound file is missing
    assert await asterisk.command() == "CHANNEL STATUS"  # no HANGUP came: ask
    await asterisk.send("200 result=6")

    with pytest.raises(AgiError) as raised:
        await asyncio.wait_for(playing, STEP)
    assert type(raised.value) is AgiError  # a failure to look into, not a hang-up
