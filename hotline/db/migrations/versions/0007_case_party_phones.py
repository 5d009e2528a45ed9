"""parties' phones for bound case queries (issue 10)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('case_parties', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phone', sa.String(length=40), server_default='',
                                      nullable=False))
    with op.batch_alter_table('query_failures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_query_failures_at'), ['at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('query_failures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_query_failures_at'))
    with op.batch_alter_table('case_parties', schema=None) as batch_op:
        batch_op.drop_column('phone')
