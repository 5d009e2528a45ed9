"""The one table of FastAGI routes: the name in agi://host:port/<name> → its handler."""

from __future__ import annotations

from hotline.prompts import manifest
from ivr.actions import build_actions
from ivr.fastagi import RouteTable
from ivr.menu import MENU_FILE, MenuStore
from ivr.modules.directory import DirectoryMissed
from ivr.modules.entry import Entry
from ivr.modules.queue_callback import QueueCallback
from ivr.modules.rating import Rating
from ivr.services import Services


def build_routes(services: Services) -> RouteTable:
    actions = build_actions()
    menus = MenuStore(MENU_FILE, set(manifest()), actions.checks())
    entry = Entry(services, menus, actions)
    routes = RouteTable()
    routes.add("entry", entry.handle)
    routes.add("menu", entry.menu_only)
    routes.add("rating", Rating(services).handle)
    callback = QueueCallback(services)
    routes.add("queue-offer", callback.offer)
    routes.add("queue-closing", callback.closing)
    routes.add("directory-missed", DirectoryMissed(services).handle)
    return routes
