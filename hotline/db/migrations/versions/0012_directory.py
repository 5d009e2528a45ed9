"""the court's telephone directory: departments and named staff, their numbers and office
hours (内外一号, issue 15)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'directory_entries',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('name', sa.String(length=60), nullable=False),
        sa.Column('department', sa.String(length=60), nullable=False),
        sa.Column('title', sa.String(length=20), nullable=False),
        sa.Column('number', sa.String(length=20), nullable=False),
        sa.Column('menu_key', sa.String(length=2), nullable=False),
        sa.Column('hours', sa.String(length=60), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ux_directory_entries_department_name', 'directory_entries',
                    ['department', 'name'], unique=True)


def downgrade() -> None:
    op.drop_index('ux_directory_entries_department_name', table_name='directory_entries')
    op.drop_table('directory_entries')
