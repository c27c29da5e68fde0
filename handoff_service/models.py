"""Tables and enums of the handoff service (SQLAlchemy declarative, 2.0-style usage)."""

from __future__ import annotations

import enum
import re
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy import Enum as SAEnum
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import declarative_base, relationship
from sqlalchemy.types import TypeDecorator

# Stable constraint names, so Alembic migrations can refer to them on every dialect.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Base: Any = declarative_base(metadata=MetaData(naming_convention=NAMING_CONVENTION))


class Category(str, enum.Enum):
    """What the user's problem is about (the support guide's categories).

    The values are ``support_core.patterns.CATEGORIES``, spelled out so the
    type checker and the migrations see them; a test holds the two together,
    and a new value also needs a migration (the column's CHECK constraint).
    """

    ACCOUNT = "account"
    ASSETS = "assets"
    TRADING = "trading"
    TECHNICAL = "technical"
    SECURITY = "security"
    POLICY = "policy"


class Priority(str, enum.Enum):
    """How soon a human must look at the ticket."""

    URGENT = "urgent"
    HIGH = "high"
    NORMAL = "normal"

    @property
    def rank(self) -> int:
        """Sort key: the queue shows the lowest rank first (urgent = 0)."""
        return _PRIORITY_RANK[self]

    @classmethod
    def from_rank(cls, rank: int) -> Priority:
        """The priority stored as ``rank``."""
        return _RANK_PRIORITY[rank]


_PRIORITY_RANK = {Priority.URGENT: 0, Priority.HIGH: 1, Priority.NORMAL: 2}
_RANK_PRIORITY = {rank: priority for priority, rank in _PRIORITY_RANK.items()}


class TicketStatus(str, enum.Enum):
    """Where a ticket is in its life; allowed moves live in ``services.rules.TRANSITIONS``."""

    OPEN = "open"
    ASSIGNED = "assigned"
    RESOLVED = "resolved"
    CLOSED = "closed"


ACTIVE_STATUSES = (TicketStatus.OPEN, TicketStatus.ASSIGNED)


class Language(str, enum.Enum):
    """The language the user wrote in."""

    ZH = "zh"
    EN = "en"


class EscalationReason(str, enum.Enum):
    """Why the assistant handed the conversation over.

    The values are ``support_core.patterns.ESCALATION_REASONS`` (see :class:`Category`).
    """

    REQUESTED_HUMAN = "requested_human"
    SELF_HELP_FAILED = "self_help_failed"
    FALLBACK = "fallback"
    SECURITY = "security"


class AgentRole(str, enum.Enum):
    """What an agent may do: work tickets (``agent``), or also manage agents and canned replies."""

    AGENT = "agent"
    ADMIN = "admin"


class Author(str, enum.Enum):
    """Who wrote a message of the transcript."""

    USER = "user"
    BOT = "bot"
    AGENT = "agent"
    SYSTEM = "system"


_REF_RE = re.compile(r"T-([0-9]{6,12})", re.ASCII)
# Ids are 32-bit integer columns; a larger number names no row on any dialect.
MAX_ROW_ID = 2**31 - 1


def ticket_ref(ticket_id: int) -> str:
    """The public reference of ticket ``ticket_id``: ``T-000123``."""
    return f"T-{ticket_id:06d}"


def ticket_id_from_ref(ref: str) -> int | None:
    """The id behind ``ref``, or ``None`` if ``ref`` is not a reference this service gives out.

    Only the canonical form counts: ``T-0000123`` is not ``T-000123``.
    """
    match = _REF_RE.fullmatch(ref)
    if match is None:
        return None
    ticket_id = int(match.group(1))
    if not 1 <= ticket_id <= MAX_ROW_ID:
        return None
    return ticket_id if ticket_ref(ticket_id) == ref else None


def utc_now() -> datetime:
    """The current time, timezone-aware in UTC (the only kind of time stored)."""
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):  # type: ignore[type-arg]
    """Aware UTC datetimes on every dialect.

    SQLite has no time zones and hands back naive values; PostgreSQL hands
    back aware ones in the session's zone. Normalising here keeps comparisons
    and SLA arithmetic free of naive/aware mix-ups.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Store in UTC; refuse naive values, whose zone would be a guess."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Read back as aware UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def _enum(enum_cls: type[enum.Enum], name: str) -> SAEnum:
    # Stored as plain strings with a CHECK constraint rather than a native
    # PostgreSQL enum type: adding a member stays a one-line migration.
    return SAEnum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


_ACTIVE_SQL = text("status IN ('open', 'assigned')")
# Agent replies the widget has not shown and no e-mail has carried yet.
_UNMAILED_REPLY_SQL = text("author = 'agent' AND seen_at IS NULL AND emailed_at IS NULL")


class Agent(Base):
    """A human support agent; the token itself is never stored, only its SHA-256."""

    __tablename__ = "agents"

    id = Column(Integer, primary_key=True)
    name = Column(String(64), nullable=False, unique=True)
    token_hash = Column(String(64), nullable=False, unique=True)
    created_at = Column(UTCDateTime(), nullable=False, default=utc_now)
    active = Column(Boolean, nullable=False, default=True)
    role = Column(
        _enum(AgentRole, "agent_role"),
        nullable=False,
        default=AgentRole.AGENT,
        server_default=AgentRole.AGENT.value,
    )
    # The language of the console's own words; ``None``: the browser's.
    console_language = Column(_enum(Language, "console_language"))
    # The last authenticated call (to a minute): who is online, for the queue's estimate.
    last_seen_at = Column(UTCDateTime())

    @property
    def is_admin(self) -> bool:
        """Whether the agent may manage agents and canned replies."""
        return AgentRole(self.role) is AgentRole.ADMIN

    def __repr__(self) -> str:
        return f"Agent(id={self.id!r}, name={self.name!r})"


class Ticket(Base):
    """One escalated conversation and its SLA timestamps."""

    __tablename__ = "tickets"

    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(255), nullable=False, index=True)
    category = Column(_enum(Category, "category"), nullable=False)
    priority = Column(_enum(Priority, "priority"), nullable=False)
    # Enum names sort alphabetically ("high" < "normal" < "urgent"); the queue
    # needs urgent first, and an indexed integer keeps that sort cheap.
    priority_rank = Column(SmallInteger, nullable=False)
    status = Column(_enum(TicketStatus, "status"), nullable=False, default=TicketStatus.OPEN)
    title = Column(String(120), nullable=False)
    description = Column(Text, nullable=False)
    language = Column(_enum(Language, "language"), nullable=False)
    contact_email = Column(String(254))
    tx_hash = Column(String(128))
    wallet_address = Column(String(128))
    chain = Column(String(32))
    occurred_at_text = Column(String(200))
    occurred_at = Column(UTCDateTime())
    # The amount concerned as the user gave it ("500 USDT"): text, never parsed.
    amount = Column(String(64))
    escalation_reason = Column(_enum(EscalationReason, "escalation_reason"), nullable=False)
    summary = Column(JSON)
    assignee_id = Column(Integer, ForeignKey("agents.id"))
    created_at = Column(UTCDateTime(), nullable=False, default=utc_now)
    first_agent_reply_at = Column(UTCDateTime())
    resolved_at = Column(UTCDateTime())
    closed_at = Column(UTCDateTime())
    updated_at = Column(UTCDateTime(), nullable=False, default=utc_now)
    csat = Column(SmallInteger)
    idempotency_key = Column(String(200), unique=True)
    # The wallet app's user id, from the chat session the channel signed.
    app_user_id = Column(String(128))

    # Loaded on access (usually from the identity map: the caller's own agent);
    # the queue query asks for it eagerly.
    assignee = relationship(Agent)

    __table_args__ = (
        CheckConstraint("csat IS NULL OR (csat >= 1 AND csat <= 5)", name="csat_range"),
        CheckConstraint("priority_rank >= 0 AND priority_rank <= 2", name="priority_rank_range"),
        # One open ticket per conversation. This index is the check: the service
        # inserts and, when the index refuses the row, returns the open ticket
        # (also when two requests create at the same moment).
        Index(
            "uq_tickets_one_active_per_conversation",
            "conversation_id",
            unique=True,
            sqlite_where=_ACTIVE_SQL,
            postgresql_where=_ACTIVE_SQL,
        ),
        # Other tickets of the same user, shown beside a ticket.
        Index("ix_tickets_app_user_id", "app_user_id"),
        Index("ix_tickets_contact_email", "contact_email"),
        # The agents' queue: filter by status, urgent first, oldest first.
        Index("ix_tickets_queue", "status", "priority_rank", "created_at", "id"),
        # Filtering by category as well: without it, asking for the open
        # "assets" tickets would first walk past every urgent open ticket.
        Index(
            "ix_tickets_category_queue", "category", "status", "priority_rank", "created_at", "id"
        ),
        # The same order without a status filter.
        Index("ix_tickets_priority_age", "priority_rank", "created_at", "id"),
        Index("ix_tickets_updated_at", "updated_at"),
    )

    @property
    def ref(self) -> str:
        """The public reference, derived from the id: ``T-000123``."""
        return ticket_ref(self.id)

    def __repr__(self) -> str:
        return f"Ticket(id={self.id!r}, status={self.status!r})"


class Message(Base):
    """One line of a ticket's transcript."""

    __tablename__ = "messages"

    id = Column(Integer, primary_key=True)
    ticket_id = Column(Integer, ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False)
    author = Column(_enum(Author, "author"), nullable=False)
    author_name = Column(String(64))
    text = Column(Text, nullable=False)
    created_at = Column(UTCDateTime(), nullable=False, default=utc_now)
    # Rasa's message id for relayed user messages: a retried relay is a no-op.
    external_id = Column(String(200))
    # When the user's widget showed an agent reply (it reports what it shows),
    # and when an e-mail carried it because the widget had not.
    seen_at = Column(UTCDateTime())
    emailed_at = Column(UTCDateTime())
    # When the assignee first had a user line on screen (the chat shows "Seen").
    seen_by_agent_at = Column(UTCDateTime())
    # The screenshot this line shows (a user's upload, or an agent's image); the
    # link is kept on the attachment, so the transcript table stays as it was.
    attachment = relationship("Attachment", uselist=False, lazy="selectin", viewonly=True)

    __table_args__ = (
        UniqueConstraint("ticket_id", "external_id", name="uq_messages_ticket_external"),
        Index("ix_messages_ticket_id_id", "ticket_id", "id"),
        # The e-mail scheduler looks for these every few seconds; partial, so
        # the index holds only the few replies still waiting, not the transcript.
        Index(
            "ix_messages_unmailed_replies",
            "created_at",
            sqlite_where=_UNMAILED_REPLY_SQL,
            postgresql_where=_UNMAILED_REPLY_SQL,
        ),
    )

    def __repr__(self) -> str:
        return f"Message(id={self.id!r}, ticket_id={self.ticket_id!r}, author={self.author!r})"


class TicketNote(Base):
    """An agent's note on a ticket, for other agents only.

    A table of its own, not a line of the transcript: nothing that reads the
    transcript (the bot, the e-mails, the chat) can ever come across one.
    """

    __tablename__ = "ticket_notes"

    id = Column(Integer, primary_key=True)
    ticket_id = Column(Integer, ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False)
    author_name = Column(String(64), nullable=False)
    text = Column(Text, nullable=False)
    created_at = Column(UTCDateTime(), nullable=False, default=utc_now)

    __table_args__ = (Index("ix_ticket_notes_ticket_id_id", "ticket_id", "id"),)

    def __repr__(self) -> str:
        return f"TicketNote(id={self.id!r}, ticket_id={self.ticket_id!r})"


class TicketTag(Base):
    """One tag an agent put on a ticket (lower-case, at most 32 characters)."""

    __tablename__ = "ticket_tags"

    ticket_id = Column(Integer, ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    tag = Column(String(32), primary_key=True)

    # The queue's tag filter and the list of tags in use start from the tag.
    __table_args__ = (Index("ix_ticket_tags_tag", "tag"),)

    def __repr__(self) -> str:
        return f"TicketTag(ticket_id={self.ticket_id!r}, tag={self.tag!r})"


class CannedReply(Base):
    """A prepared answer agents insert by its shortcut; one per shortcut and language."""

    __tablename__ = "canned_replies"

    id = Column(Integer, primary_key=True)
    shortcut = Column(String(32), nullable=False)
    language = Column(_enum(Language, "language"), nullable=False)
    title = Column(String(120), nullable=False)
    text = Column(Text, nullable=False)
    created_at = Column(UTCDateTime(), nullable=False, default=utc_now)
    updated_at = Column(UTCDateTime(), nullable=False, default=utc_now)
    # The agent who last wrote it, or ``cli`` for an import.
    updated_by = Column(String(64), nullable=False)

    __table_args__ = (
        UniqueConstraint("language", "shortcut", name="uq_canned_replies_language_shortcut"),
    )

    def __repr__(self) -> str:
        return f"CannedReply(id={self.id!r}, shortcut={self.shortcut!r})"


class Attachment(Base):
    """A screenshot that passed screening: its metadata and the text read from it.

    The bytes live in the configured store (files under ``state/`` or the
    ``attachment_blobs`` table), keyed by the id. An image is uploaded in a
    conversation, often before it has a ticket; the ticket it belongs to is set
    when the conversation's ticket is opened (or at once, during a handoff).
    """

    __tablename__ = "attachments"

    # Random, not a counter: the id is a capability in the user's own URLs.
    id = Column(String(40), primary_key=True)
    conversation_id = Column(String(255), nullable=False)
    ticket_id = Column(Integer, ForeignKey("tickets.id", ondelete="CASCADE"))
    # The transcript line that shows it, once there is a ticket to hold one.
    message_id = Column(Integer, ForeignKey("messages.id", ondelete="SET NULL"), unique=True)
    author = Column(_enum(Author, "author"), nullable=False)
    author_name = Column(String(64))
    mime = Column(String(32), nullable=False)
    thumbnail_mime = Column(String(32), nullable=False)
    width = Column(Integer, nullable=False)
    height = Column(Integer, nullable=False)
    size_bytes = Column(Integer, nullable=False)
    sha256 = Column(String(64), nullable=False)
    # What OCR and QR decoding read from it, with any secret already redacted.
    text = Column(Text, nullable=False, default="")
    # The chat message id the upload became: a retried upload is the same image.
    external_id = Column(String(200))
    created_at = Column(UTCDateTime(), nullable=False, default=utc_now)

    __table_args__ = (
        UniqueConstraint(
            "conversation_id", "external_id", name="uq_attachments_conversation_external"
        ),
        Index("ix_attachments_conversation_id_created_at", "conversation_id", "created_at"),
        Index("ix_attachments_ticket_id", "ticket_id"),
        Index("ix_attachments_created_at", "created_at"),
    )

    def __repr__(self) -> str:
        return f"Attachment(id={self.id!r}, ticket_id={self.ticket_id!r})"


class AttachmentBlob(Base):
    """An attachment's bytes, when the database is the store (several replicas)."""

    __tablename__ = "attachment_blobs"

    attachment_id = Column(
        String(40), ForeignKey("attachments.id", ondelete="CASCADE"), primary_key=True
    )
    data = Column(LargeBinary, nullable=False)
    thumbnail = Column(LargeBinary, nullable=False)


class AuditEvent(Base):
    """A state change, who made it and when; never the text of a message."""

    __tablename__ = "audit_events"

    id = Column(Integer, primary_key=True)
    ticket_id = Column(Integer, ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    actor = Column(String(64), nullable=False)
    action = Column(String(64), nullable=False)
    detail = Column(JSON)
    created_at = Column(UTCDateTime(), nullable=False, default=utc_now)

    def __repr__(self) -> str:
        return f"AuditEvent(id={self.id!r}, action={self.action!r})"


class ChatNotification(Base):
    """Something the user's chat must be told (agent joined, a reply, resolved...).

    Written in the same transaction as the agent's action, so a crash or a Rasa
    outage can delay a notification but never lose it; the dispatcher
    (:mod:`handoff_service.dispatcher`) delivers them in order per conversation.
    """

    __tablename__ = "chat_notifications"

    id = Column(Integer, primary_key=True)
    ticket_id = Column(Integer, ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False)
    conversation_id = Column(String(255), nullable=False)
    intent = Column(String(32), nullable=False)
    entities = Column(JSON)
    created_at = Column(UTCDateTime(), nullable=False, default=utc_now)
    attempts = Column(Integer, nullable=False, default=0)
    next_attempt_at = Column(UTCDateTime(), nullable=False, default=utc_now)
    # A dispatcher holds a notification while it delivers it; when the holder
    # dies, the lease runs out and another dispatcher takes over.
    lease_until = Column(UTCDateTime())
    delivered_at = Column(UTCDateTime())
    # Set when Rasa refused it for good (the chat never sees it; audited).
    failed_at = Column(UTCDateTime())
    last_error = Column(String(200))

    __table_args__ = (
        Index("ix_chat_notifications_conversation_id_id", "conversation_id", "id"),
        Index("ix_chat_notifications_pending", "delivered_at", "failed_at", "next_attempt_at"),
    )

    def __repr__(self) -> str:
        return f"ChatNotification(id={self.id!r}, intent={self.intent!r})"


class OutgoingEmail(Base):
    """One e-mail to a user: the ticket confirmation, or agent replies they did not see."""

    __tablename__ = "outgoing_emails"

    id = Column(Integer, primary_key=True)
    ticket_id = Column(Integer, ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False)
    kind = Column(String(32), nullable=False)
    # The agent messages this e-mail carries (ids), for an agent_replies e-mail.
    message_ids = Column(JSON)
    created_at = Column(UTCDateTime(), nullable=False, default=utc_now)
    attempts = Column(Integer, nullable=False, default=0)
    next_attempt_at = Column(UTCDateTime(), nullable=False, default=utc_now)
    lease_until = Column(UTCDateTime())
    sent_at = Column(UTCDateTime())
    failed_at = Column(UTCDateTime())
    last_error = Column(String(200))

    __table_args__ = (
        Index("ix_outgoing_emails_pending", "sent_at", "failed_at", "next_attempt_at"),
        Index("ix_outgoing_emails_ticket_id", "ticket_id"),
    )

    def __repr__(self) -> str:
        return f"OutgoingEmail(id={self.id!r}, kind={self.kind!r})"
