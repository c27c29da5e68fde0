"""Inserting a new ticket together with its transcript and its audit event."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import JSON, Column, String, bindparam, func, insert, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.sql.selectable import Select

from handoff_service.models import AuditEvent, Author, Message, Ticket
from handoff_service.repository.audit import add_audit
from handoff_service.repository.messages import add_messages

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
