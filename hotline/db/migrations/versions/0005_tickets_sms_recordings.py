"""tickets workflow sms recordings

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('alerts',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('raised_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alerts_resolved_at'), ['resolved_at'], unique=False)
        batch_op.create_index('ux_alerts_kind_key', ['kind', 'key'], unique=True)

    op.create_table('departments',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('handler_id', sa.Integer(), nullable=True),
    sa.Column('head_id', sa.Integer(), nullable=True),
    sa.Column('leader_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['handler_id'], ['users.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['head_id'], ['users.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['leader_id'], ['users.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('recording_access',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('recording_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=12), nullable=False),
    sa.Column('address', sa.String(length=60), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['recording_id'], ['recordings.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('recording_access', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recording_access_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_recording_access_recording_id'), ['recording_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_recording_access_user_id'), ['user_id'], unique=False)

    op.create_table('escalations',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('as_of', sa.DateTime(timezone=True), nullable=False),
    sa.Column('notified_user_id', sa.Integer(), nullable=True),
    sa.Column('sms_ids', sa.JSON(), nullable=False),
    sa.Column('notice_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['notified_user_id'], ['users.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('escalations', schema=None) as batch_op:
        batch_op.create_index('ux_escalations_ticket_level', ['ticket_id', 'level'], unique=True)

    op.create_table('notices',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notices_user_id'), ['user_id'], unique=False)

    op.create_table('ticket_events',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('ticket_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ticket_events_ticket_id'), ['ticket_id'], unique=False)

    with op.batch_alter_table('recordings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('part', sa.Integer(), nullable=False))
        batch_op.add_column(sa.Column('channels', sa.Integer(), nullable=False))
        batch_op.add_column(sa.Column('kept_path', sa.String(length=300), nullable=False))
        batch_op.add_column(sa.Column('kept_format', sa.String(length=12), nullable=False))
        batch_op.add_column(sa.Column('kept_size_bytes', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('original_deleted', sa.Boolean(), nullable=False))
        batch_op.add_column(sa.Column('level_dbfs', sa.Double(), nullable=True))
        batch_op.add_column(sa.Column('silent', sa.Boolean(), nullable=False))
        batch_op.add_column(sa.Column('process_state', sa.String(length=12), nullable=False))
        batch_op.add_column(sa.Column('process_error', sa.Text(), nullable=False))
        batch_op.add_column(sa.Column('processed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('legal_hold', sa.Boolean(), nullable=False))
        batch_op.add_column(sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_recordings_process_state'), ['process_state'], unique=False)

    with op.batch_alter_table('sms_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('direction', sa.String(length=3), nullable=False))
        batch_op.add_column(sa.Column('from_number', sa.String(length=40), nullable=False))
        batch_op.add_column(sa.Column('user_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), nullable=False))
        batch_op.add_column(sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('last_error', sa.Text(), nullable=False))
        batch_op.add_column(sa.Column('provider_ids', sa.JSON(), nullable=False))
        batch_op.add_column(sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('handled_by', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('handled_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_sms_messages_next_attempt_at'), ['next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_sms_messages_status'), ['status'], unique=False)
        batch_op.create_foreign_key('fk_sms_messages_user_id_users', 'users', ['user_id'], ['id'], ondelete='SET NULL')
        batch_op.create_foreign_key('fk_sms_messages_handled_by_users', 'users', ['handled_by'], ['id'], ondelete='SET NULL')

    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('department_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('forwarded_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('due_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('escalation_level', sa.Integer(), nullable=False))
        batch_op.add_column(sa.Column('next_escalation_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('reply_text', sa.Text(), nullable=False))
        batch_op.add_column(sa.Column('answer_call_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('answer_sms_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_tickets_department_id'), ['department_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tickets_next_escalation_at'), ['next_escalation_at'], unique=False)
        batch_op.create_foreign_key('fk_tickets_answer_sms_id', 'sms_messages', ['answer_sms_id'], ['id'], ondelete='SET NULL')
        batch_op.create_foreign_key('fk_tickets_department_id_departments', 'departments', ['department_id'], ['id'], ondelete='SET NULL')
        batch_op.create_foreign_key('fk_tickets_answer_call_id_calls', 'calls', ['answer_call_id'], ['id'], ondelete='SET NULL')

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mobile', sa.String(length=20), nullable=False))



def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('mobile')

    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_constraint('fk_tickets_answer_call_id_calls', type_='foreignkey')
        batch_op.drop_constraint('fk_tickets_department_id_departments', type_='foreignkey')
        batch_op.drop_constraint('fk_tickets_answer_sms_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_tickets_next_escalation_at'))
        batch_op.drop_index(batch_op.f('ix_tickets_department_id'))
        batch_op.drop_column('closed_at')
        batch_op.drop_column('answered_at')
        batch_op.drop_column('answer_sms_id')
        batch_op.drop_column('answer_call_id')
        batch_op.drop_column('reply_text')
        batch_op.drop_column('next_escalation_at')
        batch_op.drop_column('escalation_level')
        batch_op.drop_column('due_at')
        batch_op.drop_column('forwarded_at')
        batch_op.drop_column('department_id')

    with op.batch_alter_table('sms_messages', schema=None) as batch_op:
        batch_op.drop_constraint('fk_sms_messages_handled_by_users', type_='foreignkey')
        batch_op.drop_constraint('fk_sms_messages_user_id_users', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_sms_messages_status'))
        batch_op.drop_index(batch_op.f('ix_sms_messages_next_attempt_at'))
        batch_op.drop_column('handled_at')
        batch_op.drop_column('handled_by')
        batch_op.drop_column('delivered_at')
        batch_op.drop_column('sent_at')
        batch_op.drop_column('provider_ids')
        batch_op.drop_column('last_error')
        batch_op.drop_column('next_attempt_at')
        batch_op.drop_column('attempts')
        batch_op.drop_column('user_id')
        batch_op.drop_column('from_number')
        batch_op.drop_column('direction')

    with op.batch_alter_table('recordings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recordings_process_state'))
        batch_op.drop_column('deleted_at')
        batch_op.drop_column('legal_hold')
        batch_op.drop_column('processed_at')
        batch_op.drop_column('process_error')
        batch_op.drop_column('process_state')
        batch_op.drop_column('silent')
        batch_op.drop_column('level_dbfs')
        batch_op.drop_column('original_deleted')
        batch_op.drop_column('kept_size_bytes')
        batch_op.drop_column('kept_format')
        batch_op.drop_column('kept_path')
        batch_op.drop_column('channels')
        batch_op.drop_column('part')

    with op.batch_alter_table('ticket_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ticket_events_ticket_id'))

    op.drop_table('ticket_events')
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notices_user_id'))

    op.drop_table('notices')
    with op.batch_alter_table('escalations', schema=None) as batch_op:
        batch_op.drop_index('ux_escalations_ticket_level')

    op.drop_table('escalations')
    with op.batch_alter_table('recording_access', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recording_access_user_id'))
        batch_op.drop_index(batch_op.f('ix_recording_access_recording_id'))
        batch_op.drop_index(batch_op.f('ix_recording_access_at'))

    op.drop_table('recording_access')
    op.drop_table('departments')
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_index('ux_alerts_kind_key')
        batch_op.drop_index(batch_op.f('ix_alerts_resolved_at'))

    op.drop_table('alerts')
