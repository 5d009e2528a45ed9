"""the nodes of a cluster (issue 17): each bridge and scheduler writes its row every few
seconds (cluster_nodes), which `hotline status` and the console show and the active
scheduler reads to close the calls a dead node left open; each call record keeps the node
whose Asterisk carried it (calls.node, empty on a single server), and why a call was ended
by something else than its hang-up (calls.ended_by: "node-lost").

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-01
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0022'
down_revision: str | None = '0021'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'cluster_nodes',
        sa.Column('node', sa.String(40), primary_key=True),
        sa.Column('role', sa.String(20), primary_key=True),
        sa.Column('host', sa.String(100), nullable=False, server_default=''),
        sa.Column('pid', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_seen', sa.DateTime(timezone=True), nullable=False),
        sa.Column('state', sa.String(20), nullable=False, server_default=''),
        sa.Column('detail', sa.JSON(), nullable=False),
    )
    with op.batch_alter_table('calls') as batch:
        batch.add_column(sa.Column('node', sa.String(40), nullable=False, server_default=''))
        batch.add_column(sa.Column('ended_by', sa.String(20), nullable=False,
                                   server_default=''))
    # The open calls of one node: what closing a dead node's calls looks up.
    op.create_index('ix_calls_node_open', 'calls', ['node', 'ended_at'])


def downgrade() -> None:
    op.drop_index('ix_calls_node_open', table_name='calls')
    with op.batch_alter_table('calls') as batch:
        batch.drop_column('ended_by')
        batch.drop_column('node')
    op.drop_table('cluster_nodes')
