"""confidential complaints about staff and the caller block list (issue 15)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('tickets') as batch:
        batch.add_column(sa.Column('confidential', sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column('accused_department_id', sa.Integer(), nullable=True))
        batch.create_foreign_key('fk_tickets_accused_department_id', 'departments',
                                 ['accused_department_id'], ['id'], ondelete='SET NULL')
    op.create_index('ix_tickets_confidential_call', 'tickets', ['call_id'],
                    sqlite_where=sa.text('confidential'),
                    postgresql_where=sa.text('confidential'))
    with op.batch_alter_table('call_logs') as batch:
        batch.add_column(sa.Column('confidential', sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
    op.create_table(
        'blocked_numbers',
        sa.Column('number', sa.String(length=40), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_by', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['created_by'], ['users.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('number'),
    )
    op.create_table(
        'block_changes',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('number', sa.String(length=40), nullable=False),
        sa.Column('action', sa.String(length=10), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('username', sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_block_changes_at', 'block_changes', ['at'])


def downgrade() -> None:
    op.drop_index('ix_block_changes_at', table_name='block_changes')
    op.drop_table('block_changes')
    op.drop_table('blocked_numbers')
    with op.batch_alter_table('call_logs') as batch:
        batch.drop_column('confidential')
    op.drop_index('ix_tickets_confidential_call', table_name='tickets')
    with op.batch_alter_table('tickets') as batch:
        batch.drop_constraint('fk_tickets_accused_department_id', type_='foreignkey')
        batch.drop_column('accused_department_id')
        batch.drop_column('confidential')
