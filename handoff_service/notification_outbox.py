"""Rows of the chat-notification outbox: queue, claim in order, settle.

Queries only (the caller's session, no commit), like :mod:`handoff_service.repository`.
A notification is *pending* until it is delivered or given up. Only the oldest
pending notification of a conversation can be claimed, so a conversation's
notifications reach the chat in the order the agent acted, whichever
dispatcher (process or replica) delivers them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, select, update
from sqlalchemy.orm import Session, aliased

from handoff_service.models import ChatNotification

LAST_ERROR_MAX = 200
# Set in ``Session.info`` when a unit of work queued a notification, so the
# app can wake its dispatcher as soon as that unit of work commits.
NOTIFICATIONS_QUEUED = "chat_notifications_queued"


@dataclass(frozen=True)
class ClaimedNotification:
    """A notification a dispatcher holds until its lease runs out."""

    id: int
    ticket_id: int
    conversation_id: str
    intent: str
    entities: Mapping[str, Any]
    attempts: int


def queue_notification(
    session: Session,
    ticket_id: int,
    conversation_id: str,
    intent: str,
    entities: Mapping[str, Any],
    now: datetime,
) -> ChatNotification:
    """Add a notification to the caller's unit of work (delivered after it commits)."""
    row = ChatNotification(
        ticket_id=ticket_id,
        conversation_id=conversation_id,
        intent=intent,
        entities=dict(entities),
        created_at=now,
        attempts=0,
        next_attempt_at=now,
    )
    session.add(row)
    return row


def _pending() -> Any:
    return and_(ChatNotification.delivered_at.is_(None), ChatNotification.failed_at.is_(None))


def claim_due(
    session: Session, now: datetime, lease: timedelta, limit: int
) -> list[ClaimedNotification]:
    """Lease up to ``limit`` due notifications, each the oldest pending one of its conversation.

    On PostgreSQL the candidate rows are locked ``FOR UPDATE SKIP LOCKED``, so
    dispatchers of several processes never claim the same row; the lease
    then keeps it theirs after the short claiming transaction commits. The
    caller commits.
    """
    earlier = aliased(ChatNotification)
    older_pending = exists().where(
        earlier.conversation_id == ChatNotification.conversation_id,
        earlier.id < ChatNotification.id,
        earlier.delivered_at.is_(None),
        earlier.failed_at.is_(None),
    )
    free = (ChatNotification.lease_until.is_(None)) | (ChatNotification.lease_until < now)
    stmt = (
        select(ChatNotification)
        .where(_pending(), ChatNotification.next_attempt_at <= now, free, ~older_pending)
        .order_by(ChatNotification.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    rows = list(session.execute(stmt).scalars())
    claimed = []
    for row in rows:
        row.lease_until = now + lease
        row.attempts = (row.attempts or 0) + 1
        claimed.append(
            ClaimedNotification(
                row.id, row.ticket_id, row.conversation_id, row.intent,
                dict(row.entities or {}), row.attempts,
            )
        )
    return claimed


def mark_delivered(session: Session, notification_id: int, now: datetime) -> None:
    """The chat accepted the notification."""
    session.execute(
        update(ChatNotification)
        .where(ChatNotification.id == notification_id)
        .values(delivered_at=now, lease_until=None, last_error=None)
    )


def retry_later(session: Session, notification_id: int, at: datetime, error: str) -> None:
    """Delivery failed for now: free the row and try again at ``at``."""
    session.execute(
        update(ChatNotification)
        .where(ChatNotification.id == notification_id)
        .values(next_attempt_at=at, lease_until=None, last_error=error[:LAST_ERROR_MAX])
    )


def give_up(session: Session, notification_id: int, now: datetime, error: str) -> None:
    """The chat refused the notification for good; the next one of its conversation may go."""
    session.execute(
        update(ChatNotification)
        .where(ChatNotification.id == notification_id)
        .values(failed_at=now, lease_until=None, last_error=error[:LAST_ERROR_MAX])
    )


def next_due_at(session: Session) -> datetime | None:
    """When the earliest pending notification is due (None: nothing pending)."""
    stmt = select(func.min(ChatNotification.next_attempt_at)).where(_pending())
    return session.execute(stmt).scalar_one_or_none()


def pending_count(session: Session) -> int:
    """How many notifications wait for delivery (all conversations)."""
    stmt = select(func.count()).select_from(ChatNotification).where(_pending())
    return int(session.execute(stmt).scalar_one())


def list_for_conversation(session: Session, conversation_id: str) -> list[ChatNotification]:
    """A conversation's notifications, oldest first (for the CLI and tests)."""
    stmt = (
        select(ChatNotification)
        .where(ChatNotification.conversation_id == conversation_id)
        .order_by(ChatNotification.id)
    )
    return list(session.execute(stmt).scalars())


def reschedule_waiting(session: Session, now: datetime) -> int:
    """Make every pending notification that waits out a backoff due now; returns how many."""
    result = session.execute(
        update(ChatNotification)
        .where(_pending(), ChatNotification.attempts > 0, ChatNotification.next_attempt_at > now)
        .values(next_attempt_at=now)
    )
    return int(result.rowcount or 0)
