"""appointments: kind, case, preferred half-days and the confirmed slot (issue 15)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'appointments',
        sa.Column('ticket_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('case_number', sa.String(length=60), nullable=False),
        sa.Column('case_code', sa.String(length=20), nullable=False),
        sa.Column('preferred', sa.JSON(), nullable=False),
        sa.Column('guidance', sa.String(length=20), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('slot_day', sa.Date(), nullable=True),
        sa.Column('slot_half', sa.String(length=2), nullable=False),
        sa.Column('place', sa.String(length=200), nullable=False),
        sa.Column('bring', sa.Text(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('ticket_id'),
    )


def downgrade() -> None:
    op.drop_table('appointments')
