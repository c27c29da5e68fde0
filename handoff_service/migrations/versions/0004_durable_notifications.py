"""Durable chat notifications, outgoing e-mails, and when a reply was seen.

Notifications to the chat and e-mails to the user were sent from memory and
lost when Rasa or the mail server was away; they are now rows written with the
agent's action and delivered by dispatchers. ``messages.seen_at`` records when
the widget showed an agent reply, ``messages.emailed_at`` when an e-mail
carried it instead.

Revision ID: 0004_durable_notifications
Revises: 0003_app_user_id
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from handoff_service.models import UTCDateTime

revision = "0004_durable_notifications"
down_revision = "0003_app_user_id"
branch_labels = None
depends_on = None



def _is_sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _delivery_columns() -> list[sa.Column]:
    return [
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("lease_until", UTCDateTime(), nullable=True),
        sa.Column("failed_at", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.String(length=200), nullable=True),
    ]


def upgrade() -> None:
    """Create ``chat_notifications`` and ``outgoing_emails``; add the message stamps."""
    op.create_table(
        "chat_notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=255), nullable=False),
        sa.Column("intent", sa.String(length=32), nullable=False),
        sa.Column("entities", sa.JSON(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("delivered_at", UTCDateTime(), nullable=True),
        *_delivery_columns(),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"],
            name=op.f("fk_chat_notifications_ticket_id_tickets"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_notifications")),
    )
    op.create_index(
        "ix_chat_notifications_conversation_id_id", "chat_notifications",
        ["conversation_id", "id"],
    )
    op.create_index(
        "ix_chat_notifications_pending", "chat_notifications",
        ["delivered_at", "failed_at", "next_attempt_at"],
    )
    op.create_table(
        "outgoing_emails",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("message_ids", sa.JSON(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        *_delivery_columns(),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"],
            name=op.f("fk_outgoing_emails_ticket_id_tickets"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outgoing_emails")),
    )
    op.create_index(
        "ix_outgoing_emails_pending", "outgoing_emails", ["sent_at", "failed_at", "next_attempt_at"]
    )
    op.create_index("ix_outgoing_emails_ticket_id", "outgoing_emails", ["ticket_id"])
    # Nullable columns are added in place on both dialects.
    op.add_column("messages", sa.Column("seen_at", UTCDateTime(), nullable=True))
    op.add_column("messages", sa.Column("emailed_at", UTCDateTime(), nullable=True))
    # Replies stored before the widget reported what it showed count as seen:
    # otherwise the first e-mail round would send every user all their old answers.
    op.execute("UPDATE messages SET seen_at = created_at WHERE author = 'agent'")
    unmailed = sa.text("author = 'agent' AND seen_at IS NULL AND emailed_at IS NULL")
    op.create_index(
        "ix_messages_unmailed_replies", "messages", ["created_at"],
        sqlite_where=unmailed, postgresql_where=unmailed,
    )


def downgrade() -> None:
    """Drop what :func:`upgrade` made (undelivered notifications and e-mails are lost)."""
    op.drop_index("ix_messages_unmailed_replies", table_name="messages")
    op.drop_table("outgoing_emails")
    op.drop_table("chat_notifications")
    if not _is_sqlite():
        op.drop_column("messages", "emailed_at")
        op.drop_column("messages", "seen_at")
        return
    with op.batch_alter_table("messages", recreate="always") as batch:
        batch.drop_column("emailed_at")
        batch.drop_column("seen_at")
