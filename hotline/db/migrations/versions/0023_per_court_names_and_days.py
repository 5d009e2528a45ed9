"""per court (issue 17): a department's name is unique within its court (two courts may
each have a 立案庭), and each court has its own duty judge for a day and its own calendar
overrides: the duty roster's and the overrides' key becomes (court, day). Existing rows
are all court 1's (migration 0018), so none clash.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-01
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0023'
down_revision: str | None = '0022'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# SQLite's copy of the table names the UNIQUE(name) of 0005 by this (it has no name there).
_SQLITE_NAMES = {'uq': 'uq_%(table_name)s_%(column_0_name)s',
                 'pk': 'pk_%(table_name)s'}
DAY_TABLES = ('duty_roster', 'calendar_overrides')


def _old_name_unique() -> str:
    return ('departments_name_key' if op.get_bind().dialect.name == 'postgresql'
            else 'uq_departments_name')


def _pk(table: str) -> str:
    return f'{table}_pkey' if op.get_bind().dialect.name == 'postgresql' else f'pk_{table}'


def upgrade() -> None:
    with op.batch_alter_table('departments', naming_convention=_SQLITE_NAMES) as batch:
        batch.drop_constraint(_old_name_unique(), type_='unique')
        batch.create_unique_constraint('uq_departments_court_name', ['court_id', 'name'])
    for table in DAY_TABLES:
        with op.batch_alter_table(table, naming_convention=_SQLITE_NAMES) as batch:
            batch.drop_constraint(_pk(table), type_='primary')
            batch.create_primary_key(f'{table}_pkey', ['court_id', 'day'])


def downgrade() -> None:
    """Back to one name and one roster day for all courts: fails while two courts share
    a department's name or a day (the data would have to be merged by hand first)."""
    for table in DAY_TABLES:
        with op.batch_alter_table(table, naming_convention=_SQLITE_NAMES) as batch:
            batch.drop_constraint(f'{table}_pkey', type_='primary')
            batch.create_primary_key(f'{table}_pkey', ['day'])
    with op.batch_alter_table('departments') as batch:
        batch.drop_constraint('uq_departments_court_name', type_='unique')
        batch.create_unique_constraint(
            'departments_name_key' if op.get_bind().dialect.name == 'postgresql'
            else 'uq_departments_name', ['name'])
