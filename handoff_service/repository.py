"""Queries: reads and writes of rows, no business rules.

Every function takes the caller's session; none commits. Conditional updates
(``transition_ticket``) report whether a row matched, and the service decides
what that means.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    SmallInteger,
    String,
    and_,
    bindparam,
    func,
    insert,
    literal,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session, joinedload, make_transient_to_detached
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.sql.selectable import Select

from handoff_service.models import (
    ACTIVE_STATUSES,
    Agent,
    AuditEvent,
    Author,
    Category,
    Language,
    Message,
    Priority,
    Ticket,
    TicketStatus,
    UTCDateTime,
)


@dataclass(frozen=True)
class QueueKey:
    """A ticket's position in the queue: keyset pagination resumes after it."""

    priority_rank: int
    created_at: datetime
    ticket_id: int


@dataclass(frozen=True)
class TicketFilters:
    """Optional equality filters of the queue; ``None`` means any."""

    status: TicketStatus | None = None
    category: Category | None = None
    priority: Priority | None = None
    language: Language | None = None


def queue_key(ticket: Ticket) -> QueueKey:
    """Where ``ticket`` sits in the queue order."""
    return QueueKey(ticket.priority_rank, ticket.created_at, ticket.id)


def get_ticket_by_id(session: Session, ticket_id: int) -> Ticket | None:
    """The ticket with primary key ``ticket_id``."""
    return session.get(Ticket, ticket_id)


def get_ticket_by_idempotency_key(session: Session, key: str) -> Ticket | None:
    """The ticket created with idempotency key ``key``."""
    stmt = select(Ticket).where(Ticket.idempotency_key == key)
    return session.execute(stmt).scalar_one_or_none()


def find_replay_or_active(
    session: Session, conversation_id: str, key: str | None
) -> tuple[Ticket | None, Ticket | None]:
    """In one query: the ticket created with idempotency ``key``, and the conversation's active one.

    Creating a ticket needs both answers; one round trip instead of two.
    """
    active = and_(Ticket.conversation_id == conversation_id, Ticket.status.in_(ACTIVE_STATUSES))
    condition = or_(Ticket.idempotency_key == key, active) if key is not None else active
    by_key = current = None
    for ticket in session.execute(select(Ticket).where(condition)).scalars():
        if key is not None and ticket.idempotency_key == key:
            by_key = ticket
        if ticket.conversation_id == conversation_id and ticket.status in ACTIVE_STATUSES:
            current = ticket
    return by_key, current


def get_active_ticket(session: Session, conversation_id: str) -> Ticket | None:
    """The open or assigned ticket of a conversation (there is at most one)."""
    stmt = select(Ticket).where(
        Ticket.conversation_id == conversation_id, Ticket.status.in_(ACTIVE_STATUSES)
    )
    return session.execute(stmt).scalars().first()


def get_latest_ticket(
    session: Session, conversation_id: str, status: TicketStatus | None = None
) -> Ticket | None:
    """The most recently created ticket of a conversation (in ``status``, when given)."""
    stmt = select(Ticket).where(Ticket.conversation_id == conversation_id)
    if status is not None:
        stmt = stmt.where(Ticket.status == status)
    stmt = stmt.order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(1)
    return session.execute(stmt).scalars().first()


def list_tickets(
    session: Session, filters: TicketFilters, limit: int, after: QueueKey | None = None
) -> list[Ticket]:
    """Tickets in queue order (urgent first, then oldest first), ``limit`` of them after ``after``.

    The order matches the ``ix_tickets_queue`` / ``ix_tickets_priority_age``
    indexes, so the first page costs an index range scan, not a sort.
    """
    stmt = select(Ticket)
    if filters.status is not None:
        stmt = stmt.where(Ticket.status == filters.status)
    if filters.category is not None:
        stmt = stmt.where(Ticket.category == filters.category)
    if filters.priority is not None:
        stmt = stmt.where(Ticket.priority_rank == filters.priority.rank)
    if filters.language is not None:
        stmt = stmt.where(Ticket.language == filters.language)
    if after is not None:
        # A row-value comparison, typed per column, is one index range
        # condition on both SQLite and PostgreSQL.
        stmt = stmt.where(
            tuple_(Ticket.priority_rank, Ticket.created_at, Ticket.id)
            > tuple_(
                literal(after.priority_rank, SmallInteger()),
                literal(after.created_at, UTCDateTime()),
                literal(after.ticket_id),
            )
        )
    stmt = (
        stmt.options(joinedload(Ticket.assignee))
        .order_by(Ticket.priority_rank, Ticket.created_at, Ticket.id)
        .limit(limit)
    )
    return list(session.execute(stmt).scalars())


def changed_tickets(session: Session, after: datetime | None, limit: int) -> list[Ticket]:
    """Tickets updated after ``after``, oldest change first."""
    stmt = select(Ticket)
    if after is not None:
        stmt = stmt.where(Ticket.updated_at > after)
    stmt = stmt.order_by(Ticket.updated_at, Ticket.id).limit(limit)
    return list(session.execute(stmt).scalars())


# Every column a new ticket gives a value to: all but the id the database assigns.
_TICKET_VALUE_COLUMNS = tuple(
    column for column in Ticket.__table__.columns if not column.primary_key
)


@dataclass(frozen=True)
class NewMessage:
    """A transcript line stored with a new ticket."""

    author: Author
    text: str
    created_at: datetime


@dataclass(frozen=True)
class NewAuditEvent:
    """The audit event that records a ticket's creation."""

    actor: str
    action: str
    detail: Mapping[str, Any] | None
    created_at: datetime


def insert_ticket(
    session: Session,
    values: Mapping[str, Any],
    transcript: Sequence[NewMessage],
    audit: NewAuditEvent,
) -> Ticket:
    """Insert a ticket with its transcript and its audit event; returns the ticket.

    The ticket comes back as a persistent object of ``session``, built from
    ``values`` and the id the database assigned; columns missing from
    ``values`` are NULL. Raises ``IntegrityError`` at once when a unique
    index refuses the ticket, before anything else is written.

    On PostgreSQL the three INSERTs travel as one statement (data-modifying
    CTEs): one round trip and one parse instead of three. SQLite runs in
    process and has no INSERT inside WITH, so there they run one by one.
    """
    if session.get_bind().dialect.name == "postgresql":
        params = {f"t_{column.key}": values.get(column.key) for column in _TICKET_VALUE_COLUMNS}
        params.update(
            m_author=[line.author.value for line in transcript],
            m_text=[line.text for line in transcript],
            m_at=[line.created_at for line in transcript],
            a_actor=audit.actor,
            a_action=audit.action,
            a_detail=dict(audit.detail) if audit.detail else None,
            a_at=audit.created_at,
        )
        ticket_id = session.execute(_ticket_with_history_statement(), params).scalar_one()
    else:
        # A missing JSON value is left out rather than bound as None, so it is
        # SQL NULL and not the JSON literal null; other columns get None.
        row = {
            column.key: values.get(column.key)
            for column in _TICKET_VALUE_COLUMNS
            if not (isinstance(column.type, JSON) and values.get(column.key) is None)
        }
        ticket_id = session.execute(insert(Ticket), row).inserted_primary_key[0]
        add_messages(
            session,
            [
                {
                    "ticket_id": ticket_id,
                    "author": line.author,
                    "text": line.text,
                    "created_at": line.created_at,
                }
                for line in transcript
            ],
        )
        add_audit(
            session,
            ticket_id=ticket_id,
            actor=audit.actor,
            action=audit.action,
            detail=audit.detail,
            at=audit.created_at,
        )
    ticket = Ticket(
        id=ticket_id, **{column.key: values.get(column.key) for column in _TICKET_VALUE_COLUMNS}
    )
    # Known to be stored as it is: attach it without another flush or SELECT.
    make_transient_to_detached(ticket)
    session.add(ticket)
    return ticket


@cache
def _ticket_with_history_statement() -> Select:
    """PostgreSQL: ticket, transcript (from arrays) and audit event in one statement.

    Built once, with a parameter for every column, so its compiled form is
    reused; none_as_null keeps a missing JSON value SQL NULL.
    """

    def param(name: str, column: Column[Any]) -> BindParameter[Any]:
        kind = JSON(none_as_null=True) if isinstance(column.type, JSON) else column.type
        return bindparam(name, type_=kind)

    new_ticket = (
        insert(Ticket)
        .values({column.key: param(f"t_{column.key}", column) for column in _TICKET_VALUE_COLUMNS})
        .returning(Ticket.id)
        .cte("new_ticket")
    )
    messages = Message.__table__.c
    transcript = (
        insert(Message)
        .from_select(
            ["ticket_id", "author", "text", "created_at"],
            select(
                new_ticket.c.id,
                # unnest() of several arrays in one SELECT zips them row by row.
                func.unnest(bindparam("m_author", type_=ARRAY(String()))),
                func.unnest(bindparam("m_text", type_=ARRAY(messages.text.type))),
                func.unnest(bindparam("m_at", type_=ARRAY(messages.created_at.type))),
            ),
        )
        .cte("transcript")
    )
    events = AuditEvent.__table__.c
    audit = (
        insert(AuditEvent)
        .from_select(
            ["ticket_id", "actor", "action", "detail", "created_at"],
            select(
                new_ticket.c.id,
                param("a_actor", events.actor),
                param("a_action", events.action),
                param("a_detail", events.detail),
                param("a_at", events.created_at),
            ),
        )
        .cte("audit")
    )
    # The id as a scalar subquery: SQLAlchemy 1.4 leaves out the CTEs added
    # with add_cte() when the SELECT reads FROM a DML CTE directly.
    return select(select(new_ticket.c.id).scalar_subquery()).add_cte(transcript).add_cte(audit)


def transition_ticket(
    session: Session,
    ticket_id: int,
    *,
    from_status: TicketStatus,
    values: Mapping[str, Any],
    assignee_id: int | None = None,
    unrated: bool = False,
) -> bool:
    """Update the ticket only if it is still in ``from_status`` (and the other conditions hold).

    One atomic UPDATE: two agents racing for the same ticket cannot both win,
    on SQLite (writers serialise) or PostgreSQL (the second UPDATE re-checks
    the row after the first commits). Returns whether the row was updated.
    """
    conditions = [Ticket.id == ticket_id, Ticket.status == from_status]
    if assignee_id is not None:
        conditions.append(Ticket.assignee_id == assignee_id)
    if unrated:
        conditions.append(Ticket.csat.is_(None))
    stmt = (
        update(Ticket)
        .where(and_(*conditions))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    matched = session.execute(stmt).rowcount == 1
    if matched:
        # The UPDATE bypassed the identity map; reload what it changed.
        ticket = session.get(Ticket, ticket_id)
        if ticket is not None:
            session.refresh(ticket)
    return matched


def add_message(session: Session, message: Message) -> Message:
    """Insert ``message`` and assign its id (flush)."""
    session.add(message)
    session.flush()
    return message


def add_messages(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert several messages in one executemany (their ids are not needed)."""
    if rows:
        session.execute(insert(Message), [dict(row) for row in rows])


def list_messages(
    session: Session, ticket_id: int, after_id: int | None = None, limit: int | None = None
) -> list[Message]:
    """A ticket's messages in stored order, optionally only those after ``after_id``."""
    stmt = select(Message).where(Message.ticket_id == ticket_id)
    if after_id is not None:
        stmt = stmt.where(Message.id > after_id)
    stmt = stmt.order_by(Message.id)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(session.execute(stmt).scalars())


def get_conversation_message_by_external_id(
    session: Session, conversation_id: str, external_id: str
) -> Message | None:
    """The message relayed earlier with ``external_id`` to any of a conversation's tickets."""
    stmt = (
        select(Message)
        .join(Ticket, Message.ticket_id == Ticket.id)
        .where(Ticket.conversation_id == conversation_id, Message.external_id == external_id)
        .order_by(Message.id)
        .limit(1)
    )
    return session.execute(stmt).scalars().first()


def get_conversation_message(
    session: Session, conversation_id: str, message_id: int, author: Author
) -> tuple[Message, Ticket] | None:
    """Message ``message_id`` by ``author`` and its ticket, when the conversation owns it."""
    stmt = (
        select(Message, Ticket)
        .join(Ticket, Message.ticket_id == Ticket.id)
        .where(
            Message.id == message_id,
            Message.author == author,
            Ticket.conversation_id == conversation_id,
        )
    )
    row = session.execute(stmt).first()
    return (row[0], row[1]) if row is not None else None


def count_messages(session: Session, ticket_id: int) -> int:
    """How many messages a ticket has."""
    stmt = select(func.count()).select_from(Message).where(Message.ticket_id == ticket_id)
    return int(session.execute(stmt).scalar_one())


def add_agent(session: Session, agent: Agent) -> Agent:
    """Insert ``agent`` (flush)."""
    session.add(agent)
    session.flush()
    return agent


def get_agent_by_token_hash(session: Session, token_hash: str) -> Agent | None:
    """The agent whose token hashes to ``token_hash``."""
    stmt = select(Agent).where(Agent.token_hash == token_hash)
    return session.execute(stmt).scalar_one_or_none()


def get_agent_by_name(session: Session, name: str) -> Agent | None:
    """The agent called ``name``."""
    return session.execute(select(Agent).where(Agent.name == name)).scalar_one_or_none()


def list_agents(session: Session) -> list[Agent]:
    """Every agent, by name."""
    return list(session.execute(select(Agent).order_by(Agent.name)).scalars())


def add_audit(
    session: Session,
    *,
    ticket_id: int | None,
    actor: str,
    action: str,
    detail: Mapping[str, Any] | None,
    at: datetime,
) -> None:
    """Record one audit event (a plain INSERT: nobody needs the row as an object)."""
    # Values as parameters, not .values(): the statement stays the same object
    # and its compiled form is reused instead of being rebuilt per event.
    session.execute(
        insert(AuditEvent),
        {
            "ticket_id": ticket_id,
            "actor": actor,
            "action": action,
            "detail": dict(detail) if detail else None,
            "created_at": at,
        },
    )


def list_audit(session: Session, ticket_id: int) -> list[AuditEvent]:
    """A ticket's audit trail, oldest first."""
    stmt = select(AuditEvent).where(AuditEvent.ticket_id == ticket_id).order_by(AuditEvent.id)
    return list(session.execute(stmt).scalars())
