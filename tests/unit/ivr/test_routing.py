"""ivr.routing: the bridge's books of routing data, read again only when one changed, each
change seen by the next refresh, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from hotline.blocklist import check_entry, save_block
from hotline.db import knowledge as knowledge_db
from hotline.db.base import session_scope, utcnow
from hotline.db.directory import save_entry
from hotline.db.models import Court
from hotline.db.state import set_state
from hotline.directory import DEPARTMENT, DirectoryItem
from hotline.hours import MODE_KEY
from ivr.routing import refresh_books
from ivr.services import Services


async def test_each_book_is_read_again_when_it_changes_and_only_then(
        services: Services) -> None:
    first = await refresh_books(services)
    assert [line.split(":")[0].split(" ")[0] for line in first] == [
        "hotline", "consultation", "block", "telephone", "voice"], "all loaded at first"
    assert await refresh_books(services) == [], "nothing changed: nothing read again"

    async with session_scope(services.sessions) as db:
        await set_state(db, MODE_KEY, "closed")
    assert await refresh_books(services) == ["hotline mode closed; calendar reloaded"]
    assert services.hours.mode == "closed"

    async with session_scope(services.sessions) as db:
        await knowledge_db.upsert_entry(db, "诉讼费怎么交", "可以网上缴纳。", menu_key="8")
    assert [line.split(":")[0] for line in await refresh_books(services)] == [
        "consultation menu"]
    assert services.knowledge.entries["8"].answer == "可以网上缴纳。"

    now = utcnow()
    async with session_scope(services.sessions) as db:
        await save_block(db, check_entry("13700150001", "骚扰", now + timedelta(days=1), now),
                         None, now)
    assert await refresh_books(services) == ["block list: 1 numbers"]
    assert services.blocked.blocks("13700150001", now)

    async with session_scope(services.sessions) as db:
        await save_entry(db, DirectoryItem(DEPARTMENT, "立案庭", "8001", menu_key="1"))
    assert [line.split(":")[0] for line in await refresh_books(services)] == [
        "telephone directory"]
    assert services.directory.by_key["1"].name == "立案庭"

    async with session_scope(services.sessions) as db:  # no stamp of its own: read each time
        await db.execute(update(Court).where(Court.id == 1).values(short_name="洛阳中院"))
    assert await refresh_books(services) == ["voice menu: 0 courts offered by key"]
    assert services.courts.active[0].label == "洛阳中院"
    assert await refresh_books(services) == []
