"""The null bridge: bench/load.py's yardstick for the bridge's CPU per call.

The same FastAGI server as the bridge (ivr.fastagi), with one route that does nothing but
play the welcome and the main menu, in a loop, until the caller hangs up: no menu logic, no
call record, no database, no AMI. Its session has the bridge's share of the cores. What the
real bridge costs a call beyond this is what the hotline's own work costs (issue 12
measured such a bridge at 1.4-2 ms a call).

    python -m bench.null_bridge --port 47574 --sounds /path/to/sounds/zh
"""

from __future__ import annotations

import argparse
import asyncio
import signal

from hotline import cpushare
from ivr.fastagi import AgiError, AgiSession, FastAgiServer, RouteTable

PROMPTS = ("welcome", "main-menu")


def routes(sounds: str) -> RouteTable:
    table = RouteTable()

    async def play(agi: AgiSession) -> None:
        try:
            while not agi.hung_up:
                for prompt in PROMPTS:
                    await agi.stream_file(f"{sounds}/{prompt}")
        except AgiError:  # the caller hung up (mid-prompt: STREAM FILE answers -1)
            return

    table.add("null", play)
    return table


async def serve(port: int, sounds: str) -> None:
    server = FastAgiServer(routes(sounds), "127.0.0.1", port)
    await server.start()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--sounds", required=True, help="the prompts' folder, as Asterisk sees it")
    args = parser.parse_args()
    cpushare.set_session_nice(cpushare.BRIDGE_NICE, "null bridge")  # the bridge's share
    asyncio.run(serve(args.port, args.sounds))


if __name__ == "__main__":
    main()
