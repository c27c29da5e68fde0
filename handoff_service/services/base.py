"""What every use case shares: the session and clock, finding a ticket, audit, chat events."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from handoff_service import events
from handoff_service import repository as repo
from handoff_service.errors import Forbidden, TicketNotFound
from handoff_service.models import Agent, Ticket, ticket_id_from_ref, utc_now
from handoff_service.services import system_lines

logger = logging.getLogger(__name__)

BOT_ACTOR = "bot"
SYSTEM_ACTOR = "system"


def log_action(ticket: Ticket | None, action: str, actor: str) -> None:
    """The log line of every audited action; never any field the user wrote."""
    logger.info("ticket %s: %s by %s", ticket.ref if ticket is not None else "-", action, actor)


def ensure_admin(actor: Agent, what: str = "do this") -> None:
    """Go on only for an admin.

    Raises:
        Forbidden: ``actor`` is a plain agent.
    """
    if not actor.is_admin:
        raise Forbidden(f"only an admin may {what}")


class ServiceBase:
    """One session, one clock; each public method of a subclass is one unit of work."""

    def __init__(self, session: Session, clock: Callable[[], datetime] = utc_now) -> None:
        """Work on ``session``; ``clock`` gives the current aware UTC time (tests fix it)."""
        self.session = session
        self.clock = clock

    def _ticket(self, ref: str) -> Ticket:
        ticket_id = ticket_id_from_ref(ref) if isinstance(ref, str) else None
        if ticket_id is None:
            raise TicketNotFound(f"no ticket {str(ref)[:20]!r}")
        ticket = repo.get_ticket_by_id(self.session, ticket_id)
        if ticket is None:
            raise TicketNotFound(f"no ticket {ref}")
        return ticket

    def _audit(self, ticket: Ticket | None, actor: str, action: str, **detail: Any) -> None:
        repo.add_audit(
            self.session,
            ticket_id=ticket.id if ticket is not None else None,
            actor=actor,
            action=action,
            detail=detail or None,
            at=self.clock(),
        )
        log_action(ticket, action, actor)

    def _system_line(self, ticket: Ticket, text: str) -> None:
        # In this unit of work, like the audit event of the same change.
        system_lines.add_line(self.session, ticket.id, text, self.clock())

    def _emit(self, ticket: Ticket, event: events.ChatEvent) -> None:
        # In this unit of work: the notification commits or rolls back with the
        # action it reports, whichever entry point made the change.
        events.emit(self.session, ticket, event, self.clock())

    def audit_trail(self, ref: str) -> list[tuple[str, str, dict[str, Any] | None]]:
        """``(actor, action, detail)`` of every audit event of a ticket, oldest first.

        Raises:
            TicketNotFound: no such ticket.
        """
        ticket = self._ticket(ref)
        return [(e.actor, e.action, e.detail) for e in repo.list_audit(self.session, ticket.id)]

    def record_notification_failure(self, ticket_id: int, intent: str, reason: str) -> None:
        """Note in the audit trail that Rasa refused a notification for good (no commit)."""
        ticket = repo.get_ticket_by_id(self.session, ticket_id)
        self._audit(ticket, SYSTEM_ACTOR, "notify_failed", intent=intent, reason=reason)
