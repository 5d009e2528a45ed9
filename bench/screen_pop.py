"""Screen-pop delay: from the seat's ring (the AgentCalled event's own Asterisk timestamp)
to the agent's page in Chromium receiving the pop, over N real calls.

Everything is real: Asterisk with the repo's configuration, the bridge, `hotline console`,
SIPp desk phones for the seats and SIPp callers, Debian's Chromium. The baseline, measured
in the same run, is AMI itself: the delay from the same event's timestamp to a plain AMI
client (this process) receiving it. The ratio says what the console, the event stream and
the browser add on top of Asterisk's own event delivery.

    .venv/bin/python bench/screen_pop.py            # 100 calls, 4 seats, ~7 minutes
    .venv/bin/python bench/screen_pop.py --calls 20

Not a test: nothing here passes or fails; it prints the numbers (and --json writes them).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from playwright.async_api import Page, async_playwright, expect

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import pbx  # noqa: E402
from agent_console import accounts  # noqa: E402
from agent_console.texts import AGENT  # noqa: E402
from cli import health  # noqa: E402
from hotline import hours  # noqa: E402
from hotline.db import phones as phones_db  # noqa: E402
from hotline.db import state  # noqa: E402
from hotline.db.base import make_engine, make_sessionmaker, session_scope  # noqa: E402
from hotline.db.migrate import upgrade  # noqa: E402
from hotline.settings import Settings, load_settings  # noqa: E402
from tests.integration import sipp  # noqa: E402

PASSWORD = "bench-screen-pop"
SEATS = ("8001", "8002", "8003", "8004")
INTERVAL = 4.0  # seconds between callers
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
CONFIG = """
[paths]
data_dir = "{data}"
[pbx]
sip_port = {base}060
carrier_match = "127.0.0.1:{base}070"
ami_port = {base}038
agi_port = {base}573
rtp_start = 40000
rtp_end = 40999
[calls]
queue_max_wait = 600
[console]
port = {base}368
"""


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


class Rig:
    """The whole hotline on its own ports and data folder, started and stopped here."""

    def __init__(self, data: Path, base: int) -> None:
        config = data / "hotline.toml"
        config.write_text(CONFIG.format(data=data, base=base))
        self.env = {**os.environ, "HOTLINE_CONFIG": str(config)}
        self.settings: Settings = load_settings(env={}, config_path=config)
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self) -> None:
        upgrade(self.settings.database_url)
        pbx.start(self.settings)
        for argv in (["-m", "ivr"], ["-m", "cli", "console"]):
            log = open(self.settings.log_dir / f"bench-{argv[1]}.out", "ab")  # noqa: SIM115
            self.procs.append(subprocess.Popen([sys.executable, *argv], cwd=REPO, env=self.env,
                                               stdout=log, stderr=log))
            log.close()
        health.wait_bridge_healthy(self.settings)
        health.wait_console_healthy(self.settings)

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
            proc.wait(timeout=20)
        pbx.stop(self.settings)


async def prepare(settings: Settings) -> dict[str, str]:
    """Office hours forced open, one agent per seat; the seats' SIP passwords."""
    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    passwords = {}
    async with session_scope(sessions) as session:
        await state.set_state(session, hours.MODE_KEY, "open")
        for ext in SEATS:
            await accounts.add_user(session, f"agent{ext}", PASSWORD, AGENT, f"座席{ext}", ext)
            phone = await phones_db.get_phone(session, ext)
            passwords[ext] = phone.password
    await engine.dispose()
    return passwords


async def open_desk(page: Page, console: str, ext: str) -> None:
    await page.goto(f"{console}/login")
    await page.fill("input[name=username]", f"agent{ext}")
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await expect(page.locator("#device-state")).to_have_text("空闲", timeout=15_000)


async def measure(rig: Rig, calls: int, base: int, workdir: Path) -> dict[str, Any]:
    settings = rig.settings
    passwords = await prepare(settings)
    console = f"http://127.0.0.1:{settings.console.port}"
    ami_seen: dict[str, tuple[float, float]] = {}  # linkedid -> (event time, received)

    async def on_called(event: Any) -> None:
        ami_seen[str(event.get("Linkedid"))] = (float(event.get("Timestamp")), time.time())

    ami = pbx.console_client(settings)
    ami.on_event("AgentCalled", on_called)
    await ami.connect()
    phones = [sipp.Phone(ext, passwords[ext], target=f"127.0.0.1:{settings.pbx.sip_port}",
                         port=base * 1000 + 100 + 10 * i, media_port=base * 1000 + 500 + 10 * i,
                         workdir=workdir) for i, ext in enumerate(SEATS)]
    for phone in phones:
        phone.__enter__()
    try:
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path="/usr/bin/chromium",
                                              headless=True, args=CHROMIUM_ARGS)
            pages = [await (await browser.new_context()).new_page() for _ in SEATS]
            for page, ext in zip(pages, SEATS, strict=True):
                await open_desk(page, console, ext)
            await place_calls(settings, calls, workdir)
            await asyncio.sleep(2)
            pops = [pop for page in pages for pop in await page.evaluate("window.hotlinePops")]
            await browser.close()
    finally:
        for phone in phones:
            phone.__exit__()
        await ami.close()
    page_delays = [pop["received"] - pop["ami_time"] for pop in pops]
    if not pops or not ami_seen:
        logs = "\n".join(p.read_text()[-2000:] for p in settings.log_dir.glob("*.out"))
        raise SystemExit(f"no screen pops ({len(pops)}) or AMI events ({len(ami_seen)}):\n{logs}")
    ami_delays = [seen - stamp for stamp, seen in ami_seen.values()]
    return {"calls": calls, "pops": len(pops), "ami_events": len(ami_seen),
            "page_ms": summary(page_delays), "ami_ms": summary(ami_delays),
            "ratio_median": statistics.median(page_delays) / statistics.median(ami_delays)}


def summary(delays: list[float]) -> dict[str, float]:
    return {"median": statistics.median(delays) * 1000, "p99": percentile(delays, 0.99) * 1000,
            "max": max(delays) * 1000}


async def place_calls(settings: Settings, calls: int, workdir: Path) -> None:
    """Callers come in through the carrier trunk every INTERVAL seconds, slower than the
    seats answer (each seat has 5 s of wrap-up after a call, queues.conf), so every caller
    is rung and none gives up."""
    result = await asyncio.to_thread(
        sipp.call, sipp.speak(6), target=f"127.0.0.1:{settings.pbx.sip_port}",
        local=settings.pbx.carrier_match, caller="13800001234",
        media_port=settings.pbx.rtp_end + 1000, workdir=workdir,
        timeout=calls * INTERVAL + 120, count=calls, every_ms=int(INTERVAL * 1000))
    if result.returncode != 0:
        print(f"some calls failed (sipp exit {result.returncode}):\n{result.output[-1500:]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--base", type=int, default=35, help="ports are BASE060, BASE038 ...")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-pop-") as tmp:
        rig = Rig(Path(tmp), args.base)
        rig.start()
        try:
            result = asyncio.run(measure(rig, args.calls, args.base, Path(tmp)))
        finally:
            rig.stop()
    print(f"screen pop over {result['pops']} pops of {result['calls']} calls:")
    for name in ("page_ms", "ami_ms"):
        numbers = result[name]
        print(f"  {name:8} median {numbers['median']:7.1f} ms   p99 {numbers['p99']:7.1f} ms"
              f"   max {numbers['max']:7.1f} ms")
    print(f"  ratio (page / AMI baseline, medians): {result['ratio_median']:.1f}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
