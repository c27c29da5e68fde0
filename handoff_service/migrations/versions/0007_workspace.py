"""The agents' workspace: roles, notes, tags, canned replies, and what an agent has seen.

- ``agents.role`` (``agent`` or ``admin``; every existing agent becomes an
  ``agent``), ``agents.console_language`` and ``agents.last_seen_at`` (who is
  online, for the public queue estimate);
- ``messages.seen_by_agent_at``: when the assignee first had a user line on
  screen, so the chat can say "Seen";
- ``ticket_notes`` (agents' notes, never part of the transcript),
  ``ticket_tags`` and ``canned_replies``;
- indexes on ``tickets.app_user_id`` and ``tickets.contact_email`` for the
  other tickets of the same user.

Revision ID: 0007_workspace
Revises: 0006_attachments
Create Date: 2026-12-04
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from handoff_service.models import UTCDateTime

revision = "0007_workspace"
down_revision = "0006_attachments"
branch_labels = None
depends_on = None

_LANGUAGES = ("zh", "en")
_UNMAILED = sa.text("author = 'agent' AND seen_at IS NULL AND emailed_at IS NULL")


def _is_sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _enum(values: tuple[str, ...], name: str) -> sa.Enum:
    # As models._enum: plain strings with a named CHECK constraint.
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


_CHECKS = (
    ("ck_agents_agent_role", "role IN ('agent', 'admin')"),
    ("ck_agents_console_language", "console_language IN ('zh', 'en')"),
)


def _agents_batch() -> Any:
    # SQLite adds a column in place but not a CHECK constraint: there the
    # table is rebuilt (foreign keys are off meanwhile, see handoff_service.db);
    # PostgreSQL alters it in place.
    return op.batch_alter_table("agents", recreate="always" if _is_sqlite() else "auto")


def upgrade() -> None:
    """Add the agents' and messages' columns, the three tables and the two indexes."""
    with _agents_batch() as batch:
        # Every existing agent becomes an ``agent``; admins are made with the CLI.
        batch.add_column(
            sa.Column("role", sa.String(length=32), nullable=False, server_default="agent")
        )
        batch.add_column(sa.Column("console_language", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("last_seen_at", UTCDateTime(), nullable=True))
        for name, condition in _CHECKS:
            batch.create_check_constraint(op.f(name), condition)
    op.add_column("messages", sa.Column("seen_by_agent_at", UTCDateTime(), nullable=True))
    op.create_index("ix_tickets_app_user_id", "tickets", ["app_user_id"])
    op.create_index("ix_tickets_contact_email", "tickets", ["contact_email"])
    op.create_table(
        "ticket_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("author_name", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"],
            name=op.f("fk_ticket_notes_ticket_id_tickets"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_notes")),
    )
    op.create_index("ix_ticket_notes_ticket_id_id", "ticket_notes", ["ticket_id", "id"])
    op.create_table(
        "ticket_tags",
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"],
            name=op.f("fk_ticket_tags_ticket_id_tickets"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("ticket_id", "tag", name=op.f("pk_ticket_tags")),
    )
    op.create_index("ix_ticket_tags_tag", "ticket_tags", ["tag"])
    op.create_table(
        "canned_replies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shortcut", sa.String(length=32), nullable=False),
        sa.Column("language", _enum(_LANGUAGES, "language"), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_canned_replies")),
        sa.UniqueConstraint(
            "language", "shortcut", name=op.f("uq_canned_replies_language_shortcut")
        ),
    )


def downgrade() -> None:
    """Drop what :func:`upgrade` made (notes, tags, canned replies and roles are lost)."""
    op.drop_table("canned_replies")
    op.drop_index("ix_ticket_tags_tag", table_name="ticket_tags")
    op.drop_table("ticket_tags")
    op.drop_index("ix_ticket_notes_ticket_id_id", table_name="ticket_notes")
    op.drop_table("ticket_notes")
    op.drop_index("ix_tickets_contact_email", table_name="tickets")
    op.drop_index("ix_tickets_app_user_id", table_name="tickets")
    if not _is_sqlite():
        op.drop_column("messages", "seen_by_agent_at")
    else:
        # SQLite: batch mode rebuilds the table and loses the WHERE clause of
        # the partial index on messages, so that one is made again (as in 0005).
        op.drop_index("ix_messages_unmailed_replies", table_name="messages")
        with op.batch_alter_table("messages", recreate="always") as batch:
            batch.drop_column("seen_by_agent_at")
        op.create_index(
            "ix_messages_unmailed_replies", "messages", ["created_at"],
            sqlite_where=_UNMAILED, postgresql_where=_UNMAILED,
        )
    with _agents_batch() as batch:
        for name, _condition in _CHECKS:
            batch.drop_constraint(op.f(name), type_="check")
        for name in ("last_seen_at", "console_language", "role"):
            batch.drop_column(name)
