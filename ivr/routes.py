"""The one table of voice-menu actions: the name in agi://host:port/<name> → its handler."""

from __future__ import annotations

from ivr.fastagi import RouteTable
from ivr.modules.entry import Entry
from ivr.services import Services


def build_routes(services: Services) -> RouteTable:
    routes = RouteTable()
    routes.add("entry", Entry(services).handle)
    return routes
