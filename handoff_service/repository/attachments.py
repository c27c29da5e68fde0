"""Attachment queries: add, find by id, link to a ticket and its transcript, expire."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from handoff_service.models import Attachment, AttachmentBlob


def add_attachment(session: Session, attachment: Attachment) -> Attachment:
    """Insert ``attachment`` (flush)."""
    session.add(attachment)
    session.flush()
    return attachment


def get_attachment(session: Session, attachment_id: str) -> Attachment | None:
    """The attachment with ``attachment_id``, if any."""
    return session.get(Attachment, attachment_id)


def count_conversation_attachments(
    session: Session, conversation_id: str, since: datetime
) -> int:
    """How many images a conversation has uploaded since ``since``."""
    stmt = (
        select(func.count())
        .select_from(Attachment)
        .where(Attachment.conversation_id == conversation_id, Attachment.created_at >= since)
    )
    return int(session.execute(stmt).scalar_one())


def list_ticket_attachments(session: Session, ticket_id: int) -> list[Attachment]:
    """A ticket's images, oldest first."""
    stmt = (
        select(Attachment)
        .where(Attachment.ticket_id == ticket_id)
        .order_by(Attachment.created_at, Attachment.id)
    )
    return list(session.execute(stmt).scalars())


def link_unclaimed(session: Session, conversation_id: str, ticket_id: int) -> int:
    """Give a new ticket the conversation's images that belong to no ticket yet."""
    stmt = (
        update(Attachment)
        .where(Attachment.conversation_id == conversation_id, Attachment.ticket_id.is_(None))
        .values(ticket_id=ticket_id)
        .execution_options(synchronize_session=False)
    )
    return int(session.execute(stmt).rowcount or 0)


def expired_ids(session: Session, before: datetime, limit: int) -> list[str]:
    """Ids of up to ``limit`` attachments created before ``before``.

    On PostgreSQL the rows are locked ``FOR UPDATE SKIP LOCKED`` until the
    caller's transaction ends, so the retention rounds of several processes
    take different batches instead of queueing (or deadlocking) on the same rows.
    """
    stmt = (
        select(Attachment.id)
        .where(Attachment.created_at < before)
        .order_by(Attachment.created_at)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return list(session.execute(stmt).scalars())


def delete_attachments(session: Session, ids: list[str]) -> None:
    """Delete these rows (their blobs go with them)."""
    if ids:
        session.execute(delete(AttachmentBlob).where(AttachmentBlob.attachment_id.in_(ids)))
        session.execute(delete(Attachment).where(Attachment.id.in_(ids)))


def add_blob(session: Session, attachment_id: str, data: bytes, thumbnail: bytes) -> None:
    """Store an attachment's bytes in the database."""
    session.add(AttachmentBlob(attachment_id=attachment_id, data=data, thumbnail=thumbnail))


def get_blob(session: Session, attachment_id: str, thumbnail: bool) -> bytes | None:
    """An attachment's bytes (or its thumbnail's) from the database."""
    column = AttachmentBlob.thumbnail if thumbnail else AttachmentBlob.data
    stmt = select(column).where(AttachmentBlob.attachment_id == attachment_id)
    value = session.execute(stmt).scalar_one_or_none()
    return bytes(value) if value is not None else None


def ticket_attachment_ids(session: Session, ticket_id: int) -> list[str]:
    """Ids of a ticket's attachments (to delete their files with the ticket)."""
    stmt = select(Attachment.id).where(Attachment.ticket_id == ticket_id)
    return list(session.execute(stmt).scalars())


def get_by_external_id(
    session: Session, conversation_id: str, external_id: str
) -> Attachment | None:
    """The image a conversation uploaded earlier as message ``external_id``."""
    stmt = select(Attachment).where(
        Attachment.conversation_id == conversation_id, Attachment.external_id == external_id
    )
    return session.execute(stmt).scalars().first()
