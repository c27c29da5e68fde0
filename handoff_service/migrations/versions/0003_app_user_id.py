"""Store the wallet app's user id with a ticket.

The chat channel signs the app's user id into the session; the bot sends it
with the escalation so an agent knows which app account the chat belongs to.
Nullable: anonymous chats and every older ticket have none.

Revision ID: 0003_app_user_id
Revises: 0002_derived_ref
Create Date: 2026-12-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_app_user_id"
down_revision = "0002_derived_ref"
branch_labels = None
depends_on = None

_ACTIVE = sa.text("status IN ('open', 'assigned')")


def _is_sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade() -> None:
    """Add the nullable ``tickets.app_user_id``."""
    # Adding a nullable column is in place on both dialects: no table rebuild.
    op.add_column("tickets", sa.Column("app_user_id", sa.String(length=128), nullable=True))


def downgrade() -> None:
    """Drop ``tickets.app_user_id`` (the ids it held are lost)."""
    if not _is_sqlite():
        op.drop_column("tickets", "app_user_id")
        return
    # SQLite: batch mode rebuilds the table (foreign keys are off meanwhile:
    # see handoff_service.db.upgrade), and the rebuild loses the WHERE clause
    # of the partial index, so that one is made again (as in 0002).
    op.drop_index("uq_tickets_one_active_per_conversation", table_name="tickets")
    with op.batch_alter_table("tickets", recreate="always") as batch:
        batch.drop_column("app_user_id")
    op.create_index(
        "uq_tickets_one_active_per_conversation",
        "tickets",
        ["conversation_id"],
        unique=True,
        sqlite_where=_ACTIVE,
        postgresql_where=_ACTIVE,
    )
