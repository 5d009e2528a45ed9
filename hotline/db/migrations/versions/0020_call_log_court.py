"""the court an agent picked on a call log (issue 17): its matter is that court's. Empty
for the logs before it (and with one court): their matter's court comes from the case
number, else the centre's, as before.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-01
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0020'
down_revision: str | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('call_logs') as batch:
        batch.add_column(sa.Column('court_id', sa.Integer(), nullable=True))
        batch.create_foreign_key('fk_call_logs_court_id', 'courts', ['court_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('call_logs') as batch:
        batch.drop_constraint('fk_call_logs_court_id', type_='foreignkey')
        batch.drop_column('court_id')
