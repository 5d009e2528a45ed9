"""satisfaction ratings: keyed after a seat's call, or replied to an SMS ask (issue 15)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'ratings',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('channel', sa.String(length=4), nullable=False),
        sa.Column('score', sa.Integer(), nullable=True),
        sa.Column('caller_number', sa.String(length=40), nullable=False),
        sa.Column('call_id', sa.String(length=64), nullable=True),
        sa.Column('ticket_id', sa.Integer(), nullable=True),
        sa.Column('agent_id', sa.Integer(), nullable=True),
        sa.Column('department_id', sa.Integer(), nullable=True),
        sa.Column('asked_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('rated_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('ask_sms_id', sa.Integer(), nullable=True),
        sa.Column('reply_sms_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['call_id'], ['calls.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['agent_id'], ['users.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['department_id'], ['departments.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['ask_sms_id'], ['sms_messages.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['reply_sms_id'], ['sms_messages.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
    )
    for column in ('call_id', 'ticket_id', 'agent_id', 'department_id', 'rated_at'):
        op.create_index(f'ix_ratings_{column}', 'ratings', [column])
    op.create_index('ix_ratings_caller_asked', 'ratings', ['caller_number', 'asked_at'])
    op.create_index('ux_ratings_call', 'ratings', ['call_id'], unique=True,
                    sqlite_where=sa.text("channel = 'call'"),
                    postgresql_where=sa.text("channel = 'call'"))


def downgrade() -> None:
    op.drop_index('ux_ratings_call', table_name='ratings')
    op.drop_index('ix_ratings_caller_asked', table_name='ratings')
    for column in ('call_id', 'ticket_id', 'agent_id', 'department_id', 'rated_at'):
        op.drop_index(f'ix_ratings_{column}', table_name='ratings')
    op.drop_table('ratings')
