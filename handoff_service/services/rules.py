"""The ticket rules: which status may follow which, how urgent a ticket is, the SLA clock."""

from __future__ import annotations

from datetime import datetime, timedelta

from handoff_service.config import SlaTargets
from handoff_service.errors import TicketConflict
from handoff_service.models import Category, EscalationReason, Priority, Ticket, TicketStatus

# The only place that says which status may follow which. assigned -> assigned
# is a repeated claim, allowed for the same agent only (checked in ``claim``),
# or a transfer to another agent; assigned -> open puts it back in the queue.
TRANSITIONS: dict[TicketStatus, frozenset[TicketStatus]] = {
    TicketStatus.OPEN: frozenset({TicketStatus.ASSIGNED}),
    TicketStatus.ASSIGNED: frozenset(
        {TicketStatus.ASSIGNED, TicketStatus.OPEN, TicketStatus.RESOLVED}
    ),
    TicketStatus.RESOLVED: frozenset({TicketStatus.CLOSED}),
    TicketStatus.CLOSED: frozenset(),
}

_CATEGORY_PRIORITY = {Category.SECURITY: Priority.URGENT, Category.ASSETS: Priority.HIGH}


def can_transition(current: TicketStatus, target: TicketStatus) -> bool:
    """Whether a ticket in ``current`` may move to ``target``."""
    return target in TRANSITIONS[current]


def ensure_transition(ticket: Ticket, target: TicketStatus) -> None:
    """Raise :class:`TicketConflict` unless ``ticket`` may move to ``target``."""
    current = TicketStatus(ticket.status)
    if not can_transition(current, target):
        raise TicketConflict(
            "transition_not_allowed",
            f"ticket {ticket.ref} is {current.value} and cannot become {target.value}",
        )


def priority_for(category: Category, reason: EscalationReason | None = None) -> Priority:
    """Security is urgent, lost or stuck assets are high, everything else normal.

    A security escalation is urgent whatever category the form ended up with.
    """
    if reason is EscalationReason.SECURITY:
        return Priority.URGENT
    return _CATEGORY_PRIORITY.get(category, Priority.NORMAL)


def waiting_seconds(ticket: Ticket, now: datetime) -> int:
    """The SLA clock: seconds from creation until the first agent reply (still running if none)."""
    end = ticket.first_agent_reply_at or ticket.resolved_at or ticket.closed_at or now
    return max(0, int((end - ticket.created_at).total_seconds()))


def first_reply_due(ticket: Ticket, targets: SlaTargets) -> datetime:
    """When the first agent reply is due: creation plus the target of the ticket's priority."""
    priority = Priority(ticket.priority).value
    return ticket.created_at + timedelta(minutes=targets.minutes(priority))  # type: ignore[no-any-return]


def resolution_seconds(ticket: Ticket) -> int | None:
    """Seconds from creation to resolution; ``None`` while the ticket is not resolved."""
    if ticket.resolved_at is None:
        return None
    return max(0, int((ticket.resolved_at - ticket.created_at).total_seconds()))
