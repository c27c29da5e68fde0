"""Screenshots: the attachments that passed screening, and their bytes.

Users (and agents) can send images; each is screened for recovery phrases and
keys before anything is written, and only accepted ones get a row here.
``attachments`` holds the metadata and the text read from the image;
``attachment_blobs`` holds the bytes when the database is the store (the
production profile, so that every replica serves them); with the file store
the bytes are files under the state folder. Both cascade with the ticket.

Revision ID: 0006_attachments
Revises: 0005_ticket_amount
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from handoff_service.models import UTCDateTime

revision = "0006_attachments"
down_revision = "0005_ticket_amount"
branch_labels = None
depends_on = None

_AUTHORS = ("user", "bot", "agent", "system")


def upgrade() -> None:
    """Create ``attachments`` and ``attachment_blobs``."""
    op.create_table(
        "attachments",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("conversation_id", sa.String(length=255), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column(
            "author",
            sa.Enum(*_AUTHORS, name="author", native_enum=False, create_constraint=True,
                    length=32),
            nullable=False,
        ),
        sa.Column("author_name", sa.String(length=64), nullable=True),
        sa.Column("mime", sa.String(length=32), nullable=False),
        sa.Column("thumbnail_mime", sa.String(length=32), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"],
            name=op.f("fk_attachments_ticket_id_tickets"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"],
            name=op.f("fk_attachments_message_id_messages"), ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachments")),
        sa.UniqueConstraint("message_id", name=op.f("uq_attachments_message_id")),
        sa.UniqueConstraint(
            "conversation_id", "external_id", name=op.f("uq_attachments_conversation_external")
        ),
    )
    op.create_index(
        "ix_attachments_conversation_id_created_at",
        "attachments",
        ["conversation_id", "created_at"],
    )
    op.create_index("ix_attachments_ticket_id", "attachments", ["ticket_id"])
    op.create_index("ix_attachments_created_at", "attachments", ["created_at"])
    op.create_table(
        "attachment_blobs",
        sa.Column("attachment_id", sa.String(length=40), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("thumbnail", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["attachment_id"], ["attachments.id"],
            name=op.f("fk_attachment_blobs_attachment_id_attachments"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("attachment_id", name=op.f("pk_attachment_blobs")),
    )


def downgrade() -> None:
    """Drop both tables (the images they describe are lost)."""
    op.drop_table("attachment_blobs")
    op.drop_index("ix_attachments_created_at", table_name="attachments")
    op.drop_index("ix_attachments_ticket_id", table_name="attachments")
    op.drop_index("ix_attachments_conversation_id_created_at", table_name="attachments")
    op.drop_table("attachments")
