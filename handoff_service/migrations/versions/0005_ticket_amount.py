"""Store the amount a ticket is about.

The bot now sends the amount the user gave ("500 USDT") when it opens a ticket
or as the detail arrives later (``PATCH /api/conversations/<id>/ticket``); it
is kept as the user's text, at most 64 characters. Nullable: most tickets,
and every older one, have none.

Revision ID: 0005_ticket_amount
Revises: 0004_durable_notifications
Create Date: 2026-12-17
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_ticket_amount"
down_revision = "0004_durable_notifications"
branch_labels = None
depends_on = None

_ACTIVE = sa.text("status IN ('open', 'assigned')")


def _is_sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade() -> None:
    """Add the nullable ``tickets.amount``."""
    # A nullable column is added in place on both dialects: no table rebuild.
    op.add_column("tickets", sa.Column("amount", sa.String(length=64), nullable=True))


def downgrade() -> None:
    """Drop ``tickets.amount`` (the amounts it held are lost)."""
    if not _is_sqlite():
        op.drop_column("tickets", "amount")
        return
    # SQLite: batch mode rebuilds the table (foreign keys are off meanwhile:
    # see handoff_service.db.upgrade) and loses the WHERE clause of the
    # partial index, so that one is made again (as in 0003).
    op.drop_index("uq_tickets_one_active_per_conversation", table_name="tickets")
    with op.batch_alter_table("tickets", recreate="always") as batch:
        batch.drop_column("amount")
    op.create_index(
        "uq_tickets_one_active_per_conversation",
        "tickets",
        ["conversation_id"],
        unique=True,
        sqlite_where=_ACTIVE,
        postgresql_where=_ACTIVE,
    )
