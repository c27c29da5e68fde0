"""Message queries: a ticket's transcript, and a conversation's messages by id."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from handoff_service.models import Author, Message, Ticket


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


def get_ticket_message_by_external_id(
    session: Session, ticket_id: int, external_id: str
) -> Message | None:
    """The ticket's message stored earlier with ``external_id`` (unique per ticket)."""
    stmt = select(Message).where(
        Message.ticket_id == ticket_id, Message.external_id == external_id
    )
    return session.execute(stmt).scalars().first()


def get_conversation_message_by_external_id(
    session: Session, conversation_id: str, external_id: str, author: Author | None = None
) -> Message | None:
    """The message stored earlier with ``external_id`` in any of a conversation's tickets.

    With ``author``, only a message of that author counts.
    """
    stmt = (
        select(Message)
        .join(Ticket, Message.ticket_id == Ticket.id)
        .where(Ticket.conversation_id == conversation_id, Message.external_id == external_id)
    )
    if author is not None:
        stmt = stmt.where(Message.author == author)
    stmt = stmt.order_by(Message.id).limit(1)
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


def mark_seen_by_agent(
    session: Session, ticket_id: int, up_to_id: int, now: datetime
) -> datetime | None:
    """Stamp the ticket's user lines up to ``up_to_id`` not yet seen by an agent; set once.

    Returns the time of the newest user line stamped now, or ``None`` when
    there was none (nothing new for the chat to hear).
    """
    unseen = (
        Message.ticket_id == ticket_id,
        Message.author == Author.USER,
        Message.id <= up_to_id,
        Message.seen_by_agent_at.is_(None),
    )
    newest = session.execute(select(func.max(Message.created_at)).where(*unseen)).scalar_one()
    if newest is None:
        return None
    stmt = (
        update(Message)
        .where(*unseen)
        .values(seen_by_agent_at=now)
        .execution_options(synchronize_session=False)
    )
    if not session.execute(stmt).rowcount:
        # Another request stamped them meanwhile: it tells the chat.
        return None
    return _aware(newest)


def _aware(value: datetime) -> datetime:
    # Stored in UTC; an aggregate may come back without its zone on SQLite.
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)
