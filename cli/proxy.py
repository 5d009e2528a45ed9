"""`hotline proxy up|down|status`: the SIP proxy (Kamailio) in front of the PBX nodes,
run on the proxy's host with the cluster's hotline.toml (pbx/proxy.py, docs/cluster.md)."""

from __future__ import annotations

import argparse

import pbx
from hotline.settings import Settings


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `proxy` command to hotline's subcommands."""
    p = sub.add_parser("proxy", help="the SIP proxy (Kamailio) in front of the PBX nodes")
    p.add_argument("action", choices=["up", "down", "status", "render"],
                   help="render: write kamailio.cfg and check it, start nothing")
    p.set_defaults(func=cmd_proxy)


def cmd_proxy(settings: Settings, args: argparse.Namespace) -> int:
    proxy = pbx.proxy
    if args.action == "up":
        pid = proxy.start(settings)
        print(f"SIP proxy up (pid {pid}) on {settings.cluster.proxy}; "
              f"configuration {proxy.paths(settings).config}")
    elif args.action == "down":
        print("SIP proxy stopped" if proxy.stop(settings) else "SIP proxy was not running")
    elif args.action == "render":
        where = proxy.write(settings)
        checked = proxy.check_config(where.config)
        print(f"{where.config}: " + ("ok" if checked.returncode == 0 else
                                     "REFUSED\n" + checked.stderr[-2000:]))
        return 0 if checked.returncode == 0 else 1
    else:
        lines = proxy.status_lines(settings)
        print("\n".join(lines))
        return 1 if any("UNHEALTHY" in line for line in lines) else 0
    return 0
