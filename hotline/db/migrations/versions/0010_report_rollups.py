"""the reports' daily roll-ups, the marks of the days to count again, tickets by forwarding
day (issue 14)

report_days keeps each court day's additive figures (reports/rollup.py); report_dirty gets
the UTC hour of every call and matter written, changed or deleted, from triggers that
hotline.db.migrate installs after the migrations (hotline/db/report_marks.py).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from hotline.db import report_marks

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'report_days',
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('stamp', sa.String(length=40), nullable=False),
        sa.Column('parts', sa.JSON(), nullable=False),
        sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('day'),
    )
    op.create_table(
        'report_dirty',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('hour', sa.String(length=13), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_tickets_forwarded_at', 'tickets', ['forwarded_at'])


def downgrade() -> None:
    report_marks.remove(op.get_bind())
    op.drop_index('ix_tickets_forwarded_at', table_name='tickets')
    op.drop_table('report_dirty')
    op.drop_table('report_days')
