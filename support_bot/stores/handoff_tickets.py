"""Read tickets from the handoff service's database (its own SQLAlchemy models)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import create_engine, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from support_bot.common.errors import StoreMissing
from support_bot.common.project import safe_url
from support_bot.common.window import Window


@dataclass(frozen=True)
class TicketRow:
    """The fields of a ticket the maintainers' tools use (enums as their string values)."""

    ref: str
    conversation_id: str
    category: str
    priority: str
    status: str
    language: str
    escalation_reason: str
    created_at: datetime
    first_agent_reply_at: datetime | None
    resolved_at: datetime | None
    csat: int | None


@contextmanager
def handoff_session(url: str) -> Iterator[Session]:
    """A read session on the handoff database at ``url``.

    Raises:
        StoreMissing: the SQLite file does not exist or the schema was never created.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not Path(database).exists():
            raise StoreMissing(f"no handoff database at {safe_url(url)} (the file does not exist)")
    engine = create_engine(url, future=True, hide_parameters=True)
    try:
        if not sa_inspect(engine).has_table("tickets"):
            raise StoreMissing(
                f"{safe_url(url)} has no `tickets` table: run `handoff-service db upgrade`"
            )
        with Session(engine, future=True) as session:
            yield session
    finally:
        engine.dispose()


def _value(member: object) -> str:
    return str(getattr(member, "value", member))


def load_tickets(session: Session, window: Window) -> list[TicketRow]:
    """Tickets created inside ``window``, oldest first."""
    # Imported here: the handoff service's models are only needed when its database is read.
    from handoff_service.models import Ticket

    stmt = (
        select(Ticket)
        .where(Ticket.created_at >= window.start, Ticket.created_at < window.end)
        .order_by(Ticket.created_at, Ticket.id)
    )
    return [
        TicketRow(
            ref=ticket.ref,
            conversation_id=ticket.conversation_id,
            category=_value(ticket.category),
            priority=_value(ticket.priority),
            status=_value(ticket.status),
            language=_value(ticket.language),
            escalation_reason=_value(ticket.escalation_reason),
            created_at=ticket.created_at,
            first_agent_reply_at=ticket.first_agent_reply_at,
            resolved_at=ticket.resolved_at,
            csat=ticket.csat,
        )
        for ticket in session.execute(stmt).scalars()
    ]
