"""Migration 0023 (issue 17): department names unique within a court, and each court its
own duty judge and calendar override for a day — on SQLite and PostgreSQL, on a database
with data, which keeps every row."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from hotline.db.migrate import upgrade
from tests.unit.hotline.db.test_migration_courts import AT, _engine_do, _rows

DAY = date(2026, 12, 1)


def _at_0022_with_two_courts(url: str) -> None:
    upgrade(url, "0022")
    _engine_do(url, lambda c: [c.execute(text(sql), params) for sql, params in [
        ("INSERT INTO courts (id, name, short_name, case_prefix, phones, position, centre,"
         " active) VALUES (2, '西工区法院', '', '豫0303', '', 2, false, true)", {}),
        ("INSERT INTO users (id, username, display_name, role, password_hash, active,"
         " extension, mobile, created_at, court_id) VALUES (1, 'wang', '王法官', 'duty_judge',"
         " 'x', true, '8101', '', :at, 1), (2, 'zhao', '赵法官', 'duty_judge', 'x', true,"
         " '8102', '', :at, 2)", {"at": AT}),
        ("INSERT INTO departments (id, name, active, court_id) VALUES (1, '立案庭', true, 1),"
         " (2, '西工区立案庭', true, 2)", {}),
        ("INSERT INTO duty_roster (day, judge_id, note, court_id) VALUES (:day, 1, '', 1)",
         {"day": DAY}),
        ("INSERT INTO calendar_overrides (day, workday, name, updated_by, updated_at, court_id)"
         " VALUES (:day, false, '闭院', 'admin', :at, 1)", {"day": DAY, "at": AT}),
    ]])


def _insert(url: str, sql: str, **params: object) -> None:
    _engine_do(url, lambda c: c.execute(text(sql), params))


def test_names_and_days_become_per_court_and_nothing_is_lost(db_url: str) -> None:
    _at_0022_with_two_courts(db_url)
    before = {t: _rows(db_url, t) for t in ("departments", "duty_roster", "calendar_overrides")}

    upgrade(db_url)

    assert {t: _rows(db_url, t) for t in before} == before
    # another court may have a department of the same name, a duty judge and an override
    # on the same day; the same court may not
    _insert(db_url, "INSERT INTO departments (id, name, active, court_id)"
            " VALUES (3, '立案庭', true, 2)")
    _insert(db_url, "INSERT INTO duty_roster (day, judge_id, note, court_id)"
            " VALUES (:day, 2, '', 2)", day=DAY)
    _insert(db_url, "INSERT INTO calendar_overrides (day, workday, name, updated_by, updated_at,"
            " court_id) VALUES (:day, true, '', 'admin', :at, 2)", day=DAY, at=AT)
    for sql, params in [
            ("INSERT INTO departments (id, name, active, court_id)"
             " VALUES (4, '立案庭', true, 1)", {}),
            ("INSERT INTO duty_roster (day, judge_id, note, court_id) VALUES (:day, 2, '', 1)",
             {"day": DAY}),
            ("INSERT INTO calendar_overrides (day, workday, name, updated_by, updated_at,"
             " court_id) VALUES (:day, true, '', 'a', :at, 1)", {"day": DAY, "at": AT})]:
        with pytest.raises(IntegrityError):
            _insert(db_url, sql, **params)
    assert len(_rows(db_url, "duty_roster")) == 2
