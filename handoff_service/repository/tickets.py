"""Ticket queries: find a ticket, page through the queue, move a ticket on atomically."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    SmallInteger,
    and_,
    case,
    exists,
    func,
    literal,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.orm import Session, joinedload

from handoff_service.models import (
    ACTIVE_STATUSES,
    Category,
    Language,
    Priority,
    Ticket,
    TicketStatus,
    TicketTag,
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
    tag: str | None = None


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
    if filters.tag is not None:
        stmt = stmt.where(
            exists().where(TicketTag.ticket_id == Ticket.id, TicketTag.tag == filters.tag)
        )
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


def update_active_ticket(session: Session, ticket_id: int, values: Mapping[str, Any]) -> bool:
    """Set ``values`` on the ticket only while it is open or assigned; whether it was.

    One atomic UPDATE, so a resolution that commits first wins and the
    update finds no open ticket, instead of changing a resolved one.
    """
    return _update_where(
        session, ticket_id, [Ticket.id == ticket_id, Ticket.status.in_(ACTIVE_STATUSES)], values
    )


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
    return _update_where(session, ticket_id, conditions, values)


def _update_where(
    session: Session, ticket_id: int, conditions: list[Any], values: Mapping[str, Any]
) -> bool:
    """One atomic conditional UPDATE of the ticket; whether its row matched."""
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


def related_tickets(session: Session, ticket: Ticket, limit: int) -> list[Ticket]:
    """Other tickets of the same user, newest first.

    The same user: the same app user id, the same contact e-mail or the same
    conversation (each only when the ticket has one; all three are indexed).
    """
    same = [Ticket.conversation_id == ticket.conversation_id]
    if ticket.app_user_id:
        same.append(Ticket.app_user_id == ticket.app_user_id)
    if ticket.contact_email:
        same.append(Ticket.contact_email == ticket.contact_email)
    stmt = (
        select(Ticket)
        .where(or_(*same), Ticket.id != ticket.id)
        .options(joinedload(Ticket.assignee))
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
        .limit(limit)
    )
    return list(session.execute(stmt).scalars())


def like_prefix(text: str) -> str:
    """A LIKE pattern (escape character ``\\``) matching what starts with ``text`` as written."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def search_tickets(
    session: Session, query: str, ticket_id: int | None, tag: str | None, limit: int
) -> list[Ticket]:
    """Tickets that ``query`` names, newest first.

    Matches the ticket ``ticket_id`` (its reference), a transaction hash or
    wallet address it starts (case-insensitive), a contact e-mail equal to it
    (case-insensitive), a conversation id equal to it, and the tag ``tag``.
    The query is a bound parameter and its ``%`` and ``_`` are escaped: they
    match themselves.
    """
    lowered = query.lower()
    prefix = like_prefix(lowered)
    matches: list[Any] = [
        func.lower(Ticket.tx_hash).like(prefix, escape="\\"),
        func.lower(Ticket.wallet_address).like(prefix, escape="\\"),
        func.lower(Ticket.contact_email) == lowered,
        Ticket.conversation_id == query,
    ]
    if ticket_id is not None:
        matches.append(Ticket.id == ticket_id)
    if tag is not None:
        matches.append(exists().where(TicketTag.ticket_id == Ticket.id, TicketTag.tag == tag))
    stmt = (
        select(Ticket)
        .where(or_(*matches))
        .options(joinedload(Ticket.assignee))
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
        .limit(limit)
    )
    return list(session.execute(stmt).scalars())


def count_by(session: Session, column: Any, active_only: bool) -> dict[Any, int]:
    """``{value: number of tickets}`` of ``column``, of open and assigned tickets if asked."""
    stmt = select(column, func.count()).group_by(column)
    if active_only:
        stmt = stmt.where(Ticket.status.in_(ACTIVE_STATUSES))
    return {value: int(n) for value, n in session.execute(stmt).all()}


@dataclass(frozen=True)
class Unanswered:
    """Open and assigned tickets still waiting for their first agent reply."""

    breached: int
    at_risk: int
    waiting_open: int


def count_unanswered(
    session: Session, deadlines: Mapping[int, tuple[datetime, datetime]]
) -> Unanswered:
    """Count the active tickets without a first reply, by where they stand against their target.

    ``deadlines`` maps each priority rank to ``(due_before, risky_before)``: a
    ticket created before the first is overdue, one created before the second
    is due soon. ``waiting_open`` counts the unanswered ones nobody has claimed.
    """
    breached = [
        and_(Ticket.priority_rank == rank, Ticket.created_at < due)
        for rank, (due, _risky) in deadlines.items()
    ]
    risky = [
        and_(Ticket.priority_rank == rank, Ticket.created_at >= due, Ticket.created_at < soon)
        for rank, (due, soon) in deadlines.items()
    ]
    stmt = select(
        func.count(case((or_(*breached), 1))),
        func.count(case((or_(*risky), 1))),
        func.count(case((Ticket.status == TicketStatus.OPEN, 1))),
    ).where(Ticket.status.in_(ACTIVE_STATUSES), Ticket.first_agent_reply_at.is_(None))
    row = session.execute(stmt).one()
    return Unanswered(int(row[0]), int(row[1]), int(row[2]))


def recent_first_reply_seconds(session: Session, since: datetime, limit: int) -> list[float]:
    """Seconds to the first agent reply of up to ``limit`` tickets answered since ``since``."""
    stmt = (
        select(Ticket.created_at, Ticket.first_agent_reply_at)
        .where(Ticket.first_agent_reply_at >= since)
        .order_by(Ticket.first_agent_reply_at.desc())
        .limit(limit)
    )
    return [
        max(0.0, (answered - created).total_seconds())
        for created, answered in session.execute(stmt).all()
    ]
