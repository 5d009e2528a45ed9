"""Migration 0018 (issue 17): a single-court installation with data becomes court 1, the
centre, named from [court] name, with nothing else changed (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from hotline.db.base import make_sync_engine
from hotline.db.migrate import upgrade

AT = datetime(2026, 11, 30, 8, tzinfo=UTC)
# table -> the rows an installation at 0017 holds, as inserted
OLD_ROWS: dict[str, list[dict[str, Any]]] = {
    "users": [{"id": 1, "username": "zhang", "display_name": "张三", "role": "agent",
               "password_hash": "x", "active": True, "extension": "8001", "mobile": "",
               "created_at": AT},
              {"id": 2, "username": "li", "display_name": "李四", "role": "dept_handler",
               "password_hash": "y", "active": True, "extension": "", "mobile": "13800000000",
               "created_at": AT}],
    "departments": [{"id": 1, "name": "立案庭", "handler_id": 2, "head_id": None,
                     "leader_id": None, "active": True}],
    "phones": [{"extension": "8001", "kind": "seat", "label": "座席1", "enabled": True,
                "password": "secret", "updated_at": AT}],
    "tickets": [{"id": 1, "reference": "2611300001", "type": "contact", "subtype": "",
                 "status": "forwarded", "caller_number": "13900000000", "audio_path": "",
                 "text": "约见法官", "detail": "{}", "created_at": AT, "owner_id": 1,
                 "department_id": 1, "escalation_level": 0, "reply_text": "",
                 "confidential": False, "answer_ref": "", "close_kind": ""}],
    "cases": [{"id": 1, "query_code": "A1B2C3", "case_number": "（2026）豫03民初1号",
               "stage": "审理中", "department": "民一庭", "judge": "王法官", "updated_at": AT}],
    "duty_roster": [{"day": date(2026, 12, 1), "judge_id": 1, "note": ""}],
    "calendar_overrides": [{"day": date(2026, 12, 31), "workday": False, "name": "闭院",
                            "updated_by": "admin", "updated_at": AT}],
}
KEYS = {"phones": "extension", "duty_roster": "day", "calendar_overrides": "day"}


def _engine_do(url: str, work: Any) -> Any:
    engine = make_sync_engine(url)  # foreign keys on, as the hotline runs
    try:
        with engine.begin() as connection:
            return work(connection)
    finally:
        engine.dispose()


def _rows(url: str, table: str) -> list[dict[str, Any]]:
    key = KEYS.get(table, "id")
    return _engine_do(url, lambda c: [dict(r._mapping) for r in c.execute(
        text(f"SELECT * FROM {table} ORDER BY {key}"))])


def _old_installation(url: str) -> dict[str, list[dict[str, Any]]]:
    upgrade(url, "0017")
    for table, rows in OLD_ROWS.items():
        columns = ", ".join(rows[0])
        values = ", ".join(f":{c}" for c in rows[0])
        _engine_do(url, lambda c, t=table, r=rows, cs=columns, vs=values: c.execute(
            text(f"INSERT INTO {t} ({cs}) VALUES ({vs})"), r))
    return {table: _rows(url, table) for table in OLD_ROWS}


def test_every_row_becomes_court_1s_and_nothing_else_changes(db_url: str) -> None:
    before = _old_installation(db_url)

    upgrade(db_url, court_name="洛阳市中级人民法院")

    courts = _engine_do(db_url, lambda c: [tuple(r) for r in c.execute(
        text("SELECT id, name, centre, active, position FROM courts"))])
    assert courts == [(1, "洛阳市中级人民法院", True, True, 1)]
    for table, old in before.items():
        new = _rows(db_url, table)
        assert [row.pop("court_id") for row in new] == [1] * len(old), table
        assert new == old, table

    # the next court is 2, and a row must name a court that exists
    _engine_do(db_url, lambda c: c.execute(text(
        "INSERT INTO courts (name, short_name, case_prefix, phones, position, centre, active) "
        "VALUES ('洛阳市西工区人民法院', '西工区法院', '豫0303', '', 2, false, true)")))
    ids = _engine_do(db_url, lambda c: list(c.execute(
        text("SELECT id FROM courts ORDER BY id")).scalars()))
    assert ids == [1, 2]
    with pytest.raises(IntegrityError):
        _engine_do(db_url, lambda c: c.execute(text(
            "UPDATE departments SET court_id = 9 WHERE id = 1")))
