"""the court a caller chose in the voice menu (issue 17): the call record keeps it, and the
voice messages left on the call are that court's matters. Empty with one court, and for
the calls before it.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-01
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0021'
down_revision: str | None = '0020'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('calls') as batch:
        batch.add_column(sa.Column('court_id', sa.Integer(), nullable=True))
        batch.create_foreign_key('fk_calls_court_id', 'courts', ['court_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('calls') as batch:
        batch.drop_constraint('fk_calls_court_id', type_='foreignkey')
        batch.drop_column('court_id')
