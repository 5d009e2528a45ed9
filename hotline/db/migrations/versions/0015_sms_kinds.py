"""SMS to callers made from templates: their kind and values (issue 15)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('sms_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=30), server_default='',
                                      nullable=False))
        batch_op.add_column(sa.Column('params', sa.JSON(), server_default='{}',
                                      nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('sms_messages', schema=None) as batch_op:
        batch_op.drop_column('params')
        batch_op.drop_column('kind')
