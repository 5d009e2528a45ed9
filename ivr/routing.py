"""What the bridge routes by, kept in memory (the mode and calendar, the knowledge base, the
block list, the telephone directory, the courts): refresh_books reads the database once a
second, idle or not, so it asks first, in one statement, whether any book changed, and
reads a book again only if it did. A caller never waits for it (issue 12). The SIP ban
list's stamp rides in the same statement: the fail-to-ban guard reads the bans only when
it moved."""

from __future__ import annotations

from sqlalchemy import select

from hotline import blocklist, directory, hours, knowledge
from hotline.db import sip_bans
from hotline.db.base import session_scope
from ivr.services import Services
from pbx import sip_security

# The books' stamps, in this order, as one row.
_STAMPS = (hours.STAMP, knowledge.STAMP, blocklist.STAMP, directory.STAMP, sip_bans.STAMP)
_ROUTING_STAMPS = select(*(column for stamp in _STAMPS for column in stamp))
_SLICES = [slice(sum(map(len, _STAMPS[:i])), sum(map(len, _STAMPS[:i + 1])))
           for i in range(len(_STAMPS))]


async def refresh_books(services: Services,
                        guard: sip_security.SipGuard | None = None) -> list[str]:
    """Reload the books that changed, and the guard's bans if they did; what changed in the
    books, as lines for the log (the guard logs its own)."""
    changed = []
    async with session_scope(services.sessions) as session:
        found = tuple((await session.execute(_ROUTING_STAMPS)).one())
        when, what, blocked, book, bans = (found[part] for part in _SLICES)
        if await services.hours.refresh(session, found=when):
            changed.append(f"hotline mode {services.hours.mode}; calendar reloaded")
        if await services.knowledge.refresh(session, found=what):
            changed.append(f"consultation menu: {len(services.knowledge.entries)} "
                           "knowledge-base entries")
        if await services.blocked.refresh(session, found=blocked):
            changed.append(f"block list: {len(services.blocked.expiries)} numbers")
        if await services.directory.refresh(session, found=book):
            changed.append(f"telephone directory: {len(services.directory.by_key)} departments "
                           f"in the menu, {len(services.directory.by_extension)} extensions")
        if await services.courts.refresh(session):  # a few rows: read every time
            offered = len(services.courts.by_key) if services.courts.offered() else 0
            changed.append(f"voice menu: {offered} courts offered by key")
    if guard is not None:  # its own session, after this one: it may write the ACL
        await guard.refresh(found=bans)
    return changed
