"""Audit queries: record an event, read a ticket's trail."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from handoff_service.models import AuditEvent


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
