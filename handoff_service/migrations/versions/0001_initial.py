"""Create agents, tickets, messages and audit events.

Revision ID: 0001_initial
Revises:
Create Date: 2025-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from handoff_service.models import UTCDateTime

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None

_ACTIVE = sa.text("status IN ('open', 'assigned')")


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


def upgrade() -> None:
    """Create the whole schema."""
    op.create_table(
        "agents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agents")),
        sa.UniqueConstraint("name", name=op.f("uq_agents_name")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_agents_token_hash")),
    )
    op.create_table(
        "tickets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ref", sa.String(length=16), nullable=True),
        sa.Column("conversation_id", sa.String(length=255), nullable=False),
        sa.Column(
            "category",
            _enum("category", "account", "assets", "trading", "technical", "security", "policy"),
            nullable=False,
        ),
        sa.Column("priority", _enum("priority", "urgent", "high", "normal"), nullable=False),
        sa.Column("priority_rank", sa.SmallInteger(), nullable=False),
        sa.Column(
            "status", _enum("status", "open", "assigned", "resolved", "closed"), nullable=False
        ),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("language", _enum("language", "zh", "en"), nullable=False),
        sa.Column("contact_email", sa.String(length=254), nullable=True),
        sa.Column("tx_hash", sa.String(length=128), nullable=True),
        sa.Column("wallet_address", sa.String(length=128), nullable=True),
        sa.Column("chain", sa.String(length=32), nullable=True),
        sa.Column("occurred_at_text", sa.String(length=200), nullable=True),
        sa.Column("occurred_at", UTCDateTime(), nullable=True),
        sa.Column(
            "escalation_reason",
            _enum(
                "escalation_reason", "requested_human", "self_help_failed", "fallback", "security"
            ),
            nullable=False,
        ),
        sa.Column("summary", sa.JSON(), nullable=True),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("first_agent_reply_at", UTCDateTime(), nullable=True),
        sa.Column("resolved_at", UTCDateTime(), nullable=True),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("csat", sa.SmallInteger(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.CheckConstraint(
            "csat IS NULL OR (csat >= 1 AND csat <= 5)", name=op.f("ck_tickets_csat_range")
        ),
        sa.CheckConstraint(
            "priority_rank >= 0 AND priority_rank <= 2",
            name=op.f("ck_tickets_priority_rank_range"),
        ),
        sa.ForeignKeyConstraint(
            ["assignee_id"], ["agents.id"], name=op.f("fk_tickets_assignee_id_agents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tickets")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_tickets_idempotency_key")),
        sa.UniqueConstraint("ref", name=op.f("uq_tickets_ref")),
    )
    op.create_index(
        op.f("ix_tickets_conversation_id"), "tickets", ["conversation_id"], unique=False
    )
    op.create_index(
        "uq_tickets_one_active_per_conversation",
        "tickets",
        ["conversation_id"],
        unique=True,
        sqlite_where=_ACTIVE,
        postgresql_where=_ACTIVE,
    )
    op.create_index("ix_tickets_queue", "tickets", ["status", "priority_rank", "created_at", "id"])
    op.create_index(
        "ix_tickets_category_queue",
        "tickets",
        ["category", "status", "priority_rank", "created_at", "id"],
    )
    op.create_index("ix_tickets_priority_age", "tickets", ["priority_rank", "created_at", "id"])
    op.create_index("ix_tickets_updated_at", "tickets", ["updated_at"])
    op.create_table(
        "messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("author", _enum("author", "user", "bot", "agent", "system"), nullable=False),
        sa.Column("author_name", sa.String(length=64), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_messages_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
        sa.UniqueConstraint("ticket_id", "external_id", name="uq_messages_ticket_external"),
    )
    op.create_index("ix_messages_ticket_id_id", "messages", ["ticket_id", "id"])
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_audit_events_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    op.create_index(op.f("ix_audit_events_ticket_id"), "audit_events", ["ticket_id"], unique=False)


def downgrade() -> None:
    """Drop the whole schema."""
    op.drop_index(op.f("ix_audit_events_ticket_id"), table_name="audit_events")
    op.drop_table("audit_events")
    op.drop_index("ix_messages_ticket_id_id", table_name="messages")
    op.drop_table("messages")
    op.drop_index("ix_tickets_updated_at", table_name="tickets")
    op.drop_index("ix_tickets_priority_age", table_name="tickets")
    op.drop_index("ix_tickets_category_queue", table_name="tickets")
    op.drop_index("ix_tickets_queue", table_name="tickets")
    op.drop_index("uq_tickets_one_active_per_conversation", table_name="tickets")
    op.drop_index(op.f("ix_tickets_conversation_id"), table_name="tickets")
    op.drop_table("tickets")
    op.drop_table("agents")
