"""Note and tag queries: an agent's notes on a ticket, and the tags on tickets."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from handoff_service.models import TicketNote, TicketTag


def add_note(session: Session, note: TicketNote) -> TicketNote:
    """Insert ``note`` and assign its id (flush)."""
    session.add(note)
    session.flush()
    return note


def list_notes(session: Session, ticket_id: int) -> list[TicketNote]:
    """A ticket's notes, oldest first."""
    stmt = select(TicketNote).where(TicketNote.ticket_id == ticket_id).order_by(TicketNote.id)
    return list(session.execute(stmt).scalars())


def ticket_tags(session: Session, ticket_id: int) -> list[str]:
    """A ticket's tags, alphabetically."""
    stmt = select(TicketTag.tag).where(TicketTag.ticket_id == ticket_id).order_by(TicketTag.tag)
    return list(session.execute(stmt).scalars())


def replace_tags(
    session: Session, ticket_id: int, removed: Sequence[str], added: Sequence[str]
) -> None:
    """Take ``removed`` off the ticket and put ``added`` on it."""
    if removed:
        session.execute(
            delete(TicketTag).where(TicketTag.ticket_id == ticket_id, TicketTag.tag.in_(removed))
        )
    if added:
        session.execute(insert(TicketTag), [{"ticket_id": ticket_id, "tag": t} for t in added])


def tags_in_use(session: Session, limit: int) -> list[tuple[str, int]]:
    """``(tag, number of tickets)`` of the most used tags, most used first."""
    count = func.count().label("n")
    stmt = (
        select(TicketTag.tag, count)
        .group_by(TicketTag.tag)
        .order_by(count.desc(), TicketTag.tag)
        .limit(limit)
    )
    return [(tag, int(n)) for tag, n in session.execute(stmt).all()]
