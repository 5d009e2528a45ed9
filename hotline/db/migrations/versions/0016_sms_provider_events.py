"""SMS over HTTP: the receipts and inbound SMS a provider reported, each taken once (issue 19)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'sms_provider_events',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('key'),
    )
    op.create_index('ix_sms_provider_events_done_at', 'sms_provider_events', ['done_at'])


def downgrade() -> None:
    op.drop_index('ix_sms_provider_events_done_at', table_name='sms_provider_events')
    op.drop_table('sms_provider_events')
