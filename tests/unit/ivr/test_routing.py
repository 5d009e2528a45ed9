"""ivr.routing: the bridge's books of routing data, read again only when one changed, each
change seen by the next refresh, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import cast

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.blocklist import check_entry, save_block
from hotline.db import knowledge as knowledge_db
from hotline.db.base import session_scope, utcnow
from hotline.db.directory import save_entry
from hotline.db.models import Court
from hotline.db.state import set_state
from hotline.directory import DEPARTMENT, DirectoryItem
from hotline.hours import MODE_KEY
from hotline.settings import Settings
from ivr.routing import RoutingBooks
from ivr.services import Services
from ivr.writebehind import WriteBehind, WriterThread
from pbx import PbxInstance


async def test_each_book_is_read_again_when_it_changes_and_only_then(
        services: Services) -> None:
    refresh_books = RoutingBooks(services).refresh
    first = await refresh_books()
    assert [line.split(":")[0].split(" ")[0] for line in first] == [
        "hotline", "consultation", "block", "telephone", "voice"], "all loaded at first"
    assert await refresh_books() == [], "nothing changed: nothing read again"

    async with session_scope(services.sessions) as db:
        await set_state(db, MODE_KEY, "closed")
    assert await refresh_books() == ["hotline mode closed; calendar reloaded"]
    assert services.hours.mode == "closed"

    async with session_scope(services.sessions) as db:
        await knowledge_db.upsert_entry(db, "诉讼费怎么交", "可以网上缴纳。", menu_key="8")
    assert [line.split(":")[0] for line in await refresh_books()] == [
        "consultation menu"]
    assert services.knowledge.entries["8"].answer == "可以网上缴纳。"

    now = utcnow()
    async with session_scope(services.sessions) as db:
        await save_block(db, check_entry("13700150001", "骚扰", now + timedelta(days=1), now),
                         None, now)
    assert await refresh_books() == ["block list: 1 numbers"]
    assert services.blocked.blocks("13700150001", now)

    async with session_scope(services.sessions) as db:
        await save_entry(db, DirectoryItem(DEPARTMENT, "立案庭", "8001", menu_key="1"))
    assert [line.split(":")[0] for line in await refresh_books()] == [
        "telephone directory"]
    assert services.directory.by_key["1"].name == "立案庭"

    async with session_scope(services.sessions) as db:  # no stamp of its own: read each time
        await db.execute(update(Court).where(Court.id == 1).values(short_name="洛阳中院"))
    assert await refresh_books() == ["voice menu: 0 courts offered by key"]
    assert services.courts.active[0].label == "洛阳中院"
    assert await refresh_books() == []


async def test_the_look_each_second_is_one_hop_to_the_writers_thread_and_no_session(
        settings: Settings, sessions: async_sessionmaker[AsyncSession], db_url: str,
        tmp_path: Path) -> None:
    opened: list[AsyncSession] = []

    def counting() -> AsyncSession:
        opened.append(sessions())
        return opened[-1]

    writer = WriteBehind(sessions, thread=WriterThread(db_url))
    services = Services(settings, cast(async_sessionmaker[AsyncSession], counting),
                        PbxInstance(chroot=None, pbx_root=tmp_path / "pbx"), writer=writer)
    books = RoutingBooks(services)
    try:
        assert len(await books.refresh()) == 5 and len(opened) == 1, "all read at first"
        assert await books.refresh() == [] and len(opened) == 1, \
            "nothing changed: the stamps and the courts came from the writer's thread"
        async with session_scope(sessions) as db:
            await set_state(db, MODE_KEY, "closed")
            await db.execute(update(Court).where(Court.id == 1).values(short_name="洛阳中院"))
        assert await books.refresh() == ["hotline mode closed; calendar reloaded",
                                         "voice menu: 0 courts offered by key"]
        assert len(opened) == 2 and services.courts.active[0].label == "洛阳中院"
    finally:
        await writer.close()
