"""What the bridge routes by, kept in memory (the mode and calendar, the knowledge base, the
block list, the telephone directory, the courts): RoutingBooks.refresh looks at the
database once a second, idle or not, so it asks first, in one statement, whether any book
changed, and reads a book again only if it did. A caller never waits for it (issue 12).

The look is one hop to the writer's thread (WriteBehind.read): the books' stamps and the
few active courts, read on its synchronous connection. Through the async driver it was a
session and several hops between the loop and the driver's thread for each statement,
every second. The SIP ban list's stamp rides in the same statement: the fail-to-ban guard
reads the bans only when it moved."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.engine import Connection

from hotline import blocklist, directory, hours, knowledge
from hotline.courts import ACTIVE
from hotline.db import sip_bans
from hotline.db.base import session_scope
from ivr.services import Services
from pbx import sip_security

# The books' stamps, in this order, as one row; the SIP bans' last.
_STAMPS = (hours.STAMP, knowledge.STAMP, blocklist.STAMP, directory.STAMP, sip_bans.STAMP)
_ROUTING_STAMPS = select(*(column for stamp in _STAMPS for column in stamp))
_SLICES = [slice(sum(map(len, _STAMPS[:i])), sum(map(len, _STAMPS[:i + 1])))
           for i in range(len(_STAMPS))]
_BOOKS = slice(0, _SLICES[-1].start)


def _look(conn: Connection) -> tuple[tuple[Any, ...], list[Row[Any]]]:
    return tuple(conn.execute(_ROUTING_STAMPS).one()), list(conn.execute(ACTIVE))


class RoutingBooks:
    def __init__(self, services: Services,
                 guard: sip_security.SipGuard | None = None) -> None:
        self.services, self.guard = services, guard
        self._seen: tuple[Any, ...] | None = None  # the court's day and the books' stamps

    async def refresh(self) -> list[str]:
        """Reload the books that changed, and the guard's bans if they did; what changed in
        the books, as lines for the log (the guard logs its own)."""
        services, changed = self.services, []
        found, active = await services.writer.read(_look)
        when, what, blocked, book, bans = (found[part] for part in _SLICES)
        # The mode and calendar depend on the day too (hours.OpenHours.refresh).
        seen = (hours.court_today(services.settings), found[_BOOKS])
        if seen != self._seen:
            async with session_scope(services.sessions) as session:
                if await services.hours.refresh(session, found=when):
                    changed.append(f"hotline mode {services.hours.mode}; calendar reloaded")
                if await services.knowledge.refresh(session, found=what):
                    changed.append(f"consultation menu: {len(services.knowledge.entries)} "
                                   "knowledge-base entries")
                if await services.blocked.refresh(session, found=blocked):
                    changed.append(f"block list: {len(services.blocked.expiries)} numbers")
                if await services.directory.refresh(session, found=book):
                    changed.append(f"telephone directory: {len(services.directory.by_key)} "
                                   f"departments in the menu, "
                                   f"{len(services.directory.by_extension)} extensions")
            self._seen = seen
        if services.courts.load(active):  # a few rows: read every time
            offered = len(services.courts.by_key) if services.courts.offered() else 0
            changed.append(f"voice menu: {offered} courts offered by key")
        if self.guard is not None:  # its own session, after this one: it may write the ACL
            await self.guard.refresh(found=bans)
        return changed
