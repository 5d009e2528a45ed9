"""courts (issue 17): the centre answers 12368 for the city's courts; departments, staff,
phones, matters, cases, the duty roster and calendar overrides each belong to one. The
installation as it stood becomes court 1, the centre, named from [court] name.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every table whose rows belong to a court; what is in them now is court 1's.
COURT_TABLES = ('departments', 'users', 'phones', 'tickets', 'cases', 'duty_roster',
                'calendar_overrides')
# Court 1's name when [court] name is empty (it can be changed under 法院管理).
UNNAMED = '本院'


def upgrade() -> None:
    courts = op.create_table(
        'courts',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('name', sa.String(length=60), nullable=False),
        sa.Column('short_name', sa.String(length=20), nullable=False),
        sa.Column('case_prefix', sa.String(length=20), nullable=False),
        sa.Column('phones', sa.String(length=200), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('centre', sa.Boolean(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('name', name='uq_courts_name'),
    )
    config = op.get_context().config
    name = (config.attributes.get('court_name', '') if config else '') or UNNAMED
    op.bulk_insert(courts, [{'id': 1, 'name': name[:60], 'short_name': '', 'case_prefix': '',
                             'phones': '', 'position': 1, 'centre': True, 'active': True}])
    if op.get_bind().dialect.name == 'postgresql':  # the next court is 2, not 1 again
        op.execute("SELECT setval(pg_get_serial_sequence('courts', 'id'), 1)")
    for table in COURT_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column('court_id', sa.Integer(), nullable=False,
                                       server_default='1'))
            batch.create_foreign_key(f'fk_{table}_court_id', 'courts', ['court_id'], ['id'])
            batch.create_index(f'ix_{table}_court_id', ['court_id'])


def downgrade() -> None:
    for table in COURT_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_index(f'ix_{table}_court_id')
            batch.drop_constraint(f'fk_{table}_court_id', type_='foreignkey')
            batch.drop_column('court_id')
    op.drop_table('courts')
