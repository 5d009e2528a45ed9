"""the SIP ban list: addresses blocked after repeated failed authentications (issue 16)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-01
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0019'
down_revision: str | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'sip_bans',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('address', sa.String(length=45), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('reason', sa.String(length=40), nullable=False),
        sa.Column('banned_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('lifted_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('lifted_by', sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_sip_bans_address', 'sip_bans', ['address'])
    op.create_index('ix_sip_bans_expires_at', 'sip_bans', ['expires_at'])


def downgrade() -> None:
    op.drop_index('ix_sip_bans_expires_at', table_name='sip_bans')
    op.drop_index('ix_sip_bans_address', table_name='sip_bans')
    op.drop_table('sip_bans')
