"""Rows of the e-mail outbox, and the reply stamps the scheduler reads and writes.

Queries only (the caller's session, no commit), like :mod:`handoff_service.repository`.
An e-mail is *pending* until it is sent or given up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, insert, select, update
from sqlalchemy.orm import Session

from handoff_service.models import Author, Message, OutgoingEmail, Ticket

TICKET_CREATED = "ticket_created"
AGENT_REPLIES = "agent_replies"
KINDS = (TICKET_CREATED, AGENT_REPLIES)
LAST_ERROR_MAX = 200
# Set in ``Session.info`` when a unit of work queued an e-mail, so the app can
# wake its dispatcher as soon as that unit of work commits.
EMAILS_QUEUED = "outgoing_emails_queued"

PENDING = "pending"
SENT = "sent"
FAILED = "failed"
STATES = (PENDING, SENT, FAILED)


@dataclass(frozen=True)
class ClaimedEmail:
    """An e-mail a dispatcher holds until its lease runs out."""

    id: int
    ticket_id: int
    kind: str
    message_ids: tuple[int, ...]
    attempts: int
    created_at: datetime


@dataclass(frozen=True)
class DueReply:
    """An agent reply to e-mail now."""

    message_id: int
    ticket_id: int


@dataclass(frozen=True)
class EmailRow:
    """One e-mail as the operator's listing shows it: no address, no text."""

    id: int
    ticket_id: int
    kind: str
    attempts: int
    state: str
    created_at: datetime
    next_attempt_at: datetime
    last_error: str | None


def add_email(
    session: Session,
    ticket_id: int,
    kind: str,
    now: datetime,
    message_ids: Sequence[int] | None = None,
) -> OutgoingEmail:
    """Add an e-mail to the caller's unit of work (sent after it commits)."""
    row = OutgoingEmail(
        ticket_id=ticket_id,
        kind=kind,
        message_ids=list(message_ids) if message_ids is not None else None,
        created_at=now,
        attempts=0,
        next_attempt_at=now,
    )
    session.add(row)
    return row


def insert_email(session: Session, ticket_id: int, kind: str, now: datetime) -> None:
    """Add an e-mail row with one Core INSERT in the caller's transaction (no ORM object)."""
    session.execute(
        insert(OutgoingEmail).values(
            ticket_id=ticket_id, kind=kind, message_ids=None, created_at=now, attempts=0,
            next_attempt_at=now,
        )
    )


def _pending() -> Any:
    return and_(OutgoingEmail.sent_at.is_(None), OutgoingEmail.failed_at.is_(None))


def _free(now: datetime) -> Any:
    return OutgoingEmail.lease_until.is_(None) | (OutgoingEmail.lease_until < now)


def claim_due(session: Session, now: datetime, lease: timedelta, limit: int) -> list[ClaimedEmail]:
    """Lease up to ``limit`` due e-mails, oldest first; the caller commits.

    On PostgreSQL the candidates are locked ``FOR UPDATE SKIP LOCKED``, so
    dispatchers of several processes pass each other by. Each lease is then a
    compare-and-set on the attempt count: a row another dispatcher leased in
    the meantime (SQLite has no row locks) matches no longer and is left to it.
    """
    stmt = (
        select(
            OutgoingEmail.id,
            OutgoingEmail.ticket_id,
            OutgoingEmail.kind,
            OutgoingEmail.message_ids,
            OutgoingEmail.attempts,
            OutgoingEmail.created_at,
        )
        .where(_pending(), OutgoingEmail.next_attempt_at <= now, _free(now))
        .order_by(OutgoingEmail.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    claimed = []
    for row in session.execute(stmt).all():
        attempts = int(row.attempts or 0)
        taken = session.execute(
            update(OutgoingEmail)
            .where(OutgoingEmail.id == row.id, OutgoingEmail.attempts == attempts, _free(now))
            .values(lease_until=now + lease, attempts=attempts + 1)
            .execution_options(synchronize_session=False)
        ).rowcount
        if taken == 1:
            claimed.append(
                ClaimedEmail(
                    row.id, row.ticket_id, row.kind,
                    tuple(int(i) for i in row.message_ids or ()), attempts + 1, row.created_at,
                )
            )
    return claimed


def mark_sent(session: Session, email_id: int, now: datetime) -> None:
    """The mail server (or the folder) accepted the e-mail."""
    _settle(session, email_id, sent_at=now, last_error=None)


def retry_later(session: Session, email_id: int, at: datetime, error: str) -> None:
    """Sending failed for now: free the row and try again at ``at``."""
    _settle(session, email_id, next_attempt_at=at, last_error=error[:LAST_ERROR_MAX])


def give_up(session: Session, email_id: int, now: datetime, error: str) -> None:
    """The e-mail cannot be sent; it stays on record as failed."""
    _settle(session, email_id, failed_at=now, last_error=error[:LAST_ERROR_MAX])


def _settle(session: Session, email_id: int, **values: Any) -> None:
    session.execute(
        update(OutgoingEmail)
        .where(OutgoingEmail.id == email_id)
        .values(lease_until=None, **values)
        .execution_options(synchronize_session=False)
    )


def due_replies(
    session: Session, now: datetime, cutoff: datetime, oldest: datetime, limit: int
) -> list[DueReply]:
    """The waiting replies of every ticket whose oldest waiting reply was written by ``cutoff``.

    A reply *waits* while it is an agent's, neither seen nor e-mailed, and no
    older than ``oldest``. Once one reply of a ticket is due, the ticket's
    later waiting replies (up to ``now``) come along, so an agent's quick
    follow-ups share one e-mail. Only tickets with a contact e-mail; grouped
    by ticket, oldest reply first. On PostgreSQL the replies are locked
    ``FOR UPDATE SKIP LOCKED`` until the caller's transaction ends, so two
    schedulers never take the same reply. Both scans match the partial index
    ``ix_messages_unmailed_replies``.
    """
    waiting = (
        Message.author == Author.AGENT,
        Message.seen_at.is_(None),
        Message.emailed_at.is_(None),
        Message.created_at >= oldest,
    )
    due_tickets = select(Message.ticket_id).where(*waiting, Message.created_at <= cutoff)
    stmt = (
        select(Message.id, Message.ticket_id)
        .join(Ticket, Message.ticket_id == Ticket.id)
        .where(
            *waiting,
            Message.created_at <= now,
            Message.ticket_id.in_(due_tickets.scalar_subquery()),
            Ticket.contact_email.is_not(None),
        )
        .order_by(Message.ticket_id, Message.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=Message, skip_locked=True)
    return [DueReply(row.id, row.ticket_id) for row in session.execute(stmt).all()]


def stamp_emailed(session: Session, message_ids: Sequence[int], now: datetime) -> int:
    """Note that an e-mail carries these replies; returns how many were still waiting."""
    if not message_ids:
        return 0
    result = session.execute(
        update(Message)
        .where(
            Message.id.in_(list(message_ids)),
            Message.seen_at.is_(None),
            Message.emailed_at.is_(None),
        )
        .values(emailed_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)


def stamp_seen(
    session: Session, conversation_id: str, message_ids: Sequence[int], now: datetime
) -> int:
    """Stamp the agent replies among ``message_ids`` of the conversation's tickets as seen.

    Other ids (user messages, another conversation's replies, unknown ids) are
    left alone; returns how many replies were newly stamped.
    """
    if not message_ids:
        return 0
    own_tickets = select(Ticket.id).where(Ticket.conversation_id == conversation_id)
    result = session.execute(
        update(Message)
        .where(
            Message.id.in_(list(message_ids)),
            Message.author == Author.AGENT,
            Message.seen_at.is_(None),
            Message.ticket_id.in_(own_tickets.scalar_subquery()),
        )
        .values(seen_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)


def replies_of(session: Session, ticket_id: int, message_ids: Sequence[int]) -> list[Message]:
    """The agent replies ``message_ids`` of ticket ``ticket_id``, oldest first."""
    stmt = (
        select(Message)
        .where(
            Message.id.in_(list(message_ids)),
            Message.ticket_id == ticket_id,
            Message.author == Author.AGENT,
        )
        .order_by(Message.id)
    )
    return list(session.execute(stmt).scalars())


def _state_of(row: Any) -> str:
    if row.sent_at is not None:
        return SENT
    return FAILED if row.failed_at is not None else PENDING


def list_emails(session: Session, state: str | None = None, limit: int = 50) -> list[EmailRow]:
    """The newest e-mails (in ``state``, when given), newest first."""
    stmt = select(
        OutgoingEmail.id,
        OutgoingEmail.ticket_id,
        OutgoingEmail.kind,
        OutgoingEmail.attempts,
        OutgoingEmail.created_at,
        OutgoingEmail.next_attempt_at,
        OutgoingEmail.sent_at,
        OutgoingEmail.failed_at,
        OutgoingEmail.last_error,
    )
    if state == PENDING:
        stmt = stmt.where(_pending())
    elif state == SENT:
        stmt = stmt.where(OutgoingEmail.sent_at.is_not(None))
    elif state == FAILED:
        stmt = stmt.where(OutgoingEmail.failed_at.is_not(None))
    stmt = stmt.order_by(OutgoingEmail.id.desc()).limit(limit)
    return [
        EmailRow(
            row.id, row.ticket_id, row.kind, int(row.attempts or 0), _state_of(row),
            row.created_at, row.next_attempt_at, row.last_error,
        )
        for row in session.execute(stmt).all()
    ]
