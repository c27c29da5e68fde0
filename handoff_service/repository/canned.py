"""Canned reply queries: list, find, add, remove."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from handoff_service.models import CannedReply, Language


def list_canned_replies(session: Session, language: Language | None = None) -> list[CannedReply]:
    """Every canned reply (of ``language``, when given), by language and shortcut."""
    stmt = select(CannedReply)
    if language is not None:
        stmt = stmt.where(CannedReply.language == language)
    stmt = stmt.order_by(CannedReply.language, CannedReply.shortcut)
    return list(session.execute(stmt).scalars())


def get_canned_reply(session: Session, reply_id: int) -> CannedReply | None:
    """The canned reply with ``reply_id``."""
    return session.get(CannedReply, reply_id)


def get_canned_reply_by_shortcut(
    session: Session, shortcut: str, language: Language
) -> CannedReply | None:
    """The canned reply of ``language`` called ``shortcut``."""
    stmt = select(CannedReply).where(
        CannedReply.shortcut == shortcut, CannedReply.language == language
    )
    return session.execute(stmt).scalar_one_or_none()


def add_canned_reply(session: Session, reply: CannedReply) -> CannedReply:
    """Insert ``reply`` (flush: a taken shortcut raises ``IntegrityError`` here)."""
    session.add(reply)
    session.flush()
    return reply


def delete_canned_reply(session: Session, reply: CannedReply) -> None:
    """Delete ``reply`` (flush)."""
    session.delete(reply)
    session.flush()
