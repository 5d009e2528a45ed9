"""an extension belongs to one user (issue 18)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""
import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")
# "" is no extension, which any number of users have.
CLAIMED = sa.text("extension <> ''")


def upgrade() -> None:
    connection = op.get_bind()
    for extension in _shared_extensions(connection):
        _keep_one_holder(connection, extension)
    op.create_index('uq_users_extension', 'users', ['extension'], unique=True,
                    sqlite_where=CLAIMED, postgresql_where=CLAIMED)


def downgrade() -> None:
    op.drop_index('uq_users_extension', table_name='users')


def _shared_extensions(connection: sa.Connection) -> list[str]:
    return list(connection.execute(sa.text(
        "SELECT extension FROM users WHERE extension <> '' "
        "GROUP BY extension HAVING COUNT(*) > 1 ORDER BY extension")).scalars())


def _keep_one_holder(connection: sa.Connection, extension: str) -> None:
    """The extension stays with the user signed in on it last (who the PBX rings), else an
    active user, else the first given it; the others lose it and are signed out of it. An
    administrator gives them another with `hotline user extension`."""
    holders = connection.execute(sa.text(
        "SELECT u.id, u.username FROM users u LEFT JOIN agent_presence p "
        "  ON p.user_id = u.id AND p.extension = u.extension AND p.state <> 'out' "
        "WHERE u.extension = :ext "
        "ORDER BY CASE WHEN p.user_id IS NULL THEN 1 ELSE 0 END, p.since DESC, "
        "  CASE WHEN u.active THEN 0 ELSE 1 END, u.id"), {"ext": extension}).all()
    keeper, others = holders[0], holders[1:]
    for user_id, username in others:
        connection.execute(sa.text("UPDATE users SET extension = '' WHERE id = :id"),
                           {"id": user_id})
        connection.execute(sa.text("UPDATE agent_presence SET state = 'out', reason = '' "
                                   "WHERE user_id = :id AND extension = :ext"),
                           {"id": user_id, "ext": extension})
        log.warning("extension %s was given to several users: kept by %s, taken from %s",
                    extension, keeper.username, username)
