"""Derive the ticket reference from the id instead of storing it.

``ref`` ("T-000123") was written by an UPDATE right after the INSERT that
assigned the id: a second write of every new row and one more unique index
to maintain. The reference is now computed from the id where it is shown and
parsed back to the id where it is looked up.

Revision ID: 0002_derived_ref
Revises: 0001_initial
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_derived_ref"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

_ACTIVE = sa.text("status IN ('open', 'assigned')")


def _is_sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade() -> None:
    """Drop ``tickets.ref`` and its unique constraint."""
    if not _is_sqlite():
        op.drop_constraint("uq_tickets_ref", "tickets", type_="unique")
        op.drop_column("tickets", "ref")
        return
    # SQLite cannot drop a column that a UNIQUE constraint names, so batch
    # mode rebuilds the table (foreign keys are off meanwhile: see
    # handoff_service.db.upgrade). The rebuild keeps the CHECK constraints
    # but not the WHERE clause of a partial index, so that one is made again.
    op.drop_index("uq_tickets_one_active_per_conversation", table_name="tickets")
    with op.batch_alter_table("tickets", recreate="always") as batch:
        batch.drop_constraint("uq_tickets_ref", type_="unique")
        batch.drop_column("ref")
    _create_active_index()


def downgrade() -> None:
    """Store ``tickets.ref`` again, filled from the ids."""
    sqlite = _is_sqlite()
    if sqlite:
        op.drop_index("uq_tickets_one_active_per_conversation", table_name="tickets")
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("ref", sa.String(length=16), nullable=True))
    fill = "printf('T-%06d', id)" if sqlite else "'T-' || lpad(id::text, 6, '0')"
    op.execute(f"UPDATE tickets SET ref = {fill}")
    with op.batch_alter_table("tickets") as batch:
        batch.create_unique_constraint("uq_tickets_ref", ["ref"])
    if sqlite:
        _create_active_index()


def _create_active_index() -> None:
    op.create_index(
        "uq_tickets_one_active_per_conversation",
        "tickets",
        ["conversation_id"],
        unique=True,
        sqlite_where=_ACTIVE,
        postgresql_where=_ACTIVE,
    )
