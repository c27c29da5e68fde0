"""The agents' use cases on tickets: read the queue, claim, reply, resolve, close.

Only the assignee may reply to, resolve or close a ticket. A claim, a reply and
a resolution each emit a chat event (:mod:`handoff_service.events`) in the
same unit of work, so the user's chat hears of it whoever made the change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError

from handoff_service import events
from handoff_service import repository as repo
from handoff_service.cursors import decode_cursor, encode_cursor
from handoff_service.errors import TicketConflict
from handoff_service.models import (
    Agent,
    Author,
    Category,
    Language,
    Message,
    Priority,
    Ticket,
    TicketStatus,
)
from handoff_service.repository import TicketFilters
from handoff_service.services import system_lines
from handoff_service.services.attachments import IMAGE_REPLY_TEXT, agent_reply_attachment
from handoff_service.services.base import ServiceBase
from handoff_service.services.rules import ensure_transition
from handoff_service.validation import IDEMPOTENCY_KEY_MAX, parse_message_text, parse_short_id

EVENTS_PAGE = 100


@dataclass(frozen=True)
class TicketPage:
    """One page of the queue and the cursor of the next (``None`` on the last page)."""

    tickets: list[Ticket]
    next_cursor: str | None


@dataclass(frozen=True)
class TicketChange:
    """A ticket that changed, for the console's cheap polling.

    With what the console filters and sorts by, so it can tell a new urgent
    ticket for its queue (fetched at once) from activity on one it shows.
    """

    ref: str
    status: str
    updated_at: datetime
    priority: str = Priority.NORMAL.value
    category: str = ""
    language: str = ""


class AgentWork(ServiceBase):
    """What an authenticated agent does with tickets."""

    # -- reading

    def get_ticket(self, ref: str) -> Ticket:
        """The ticket ``ref``.

        Raises:
            TicketNotFound: no such ticket.
        """
        return self._ticket(ref)

    def list_tickets(
        self, filters: TicketFilters, limit: int, cursor: str | None = None
    ) -> TicketPage:
        """One page of the queue, urgent first and then oldest first.

        Raises:
            ValidationFailed: a cursor this service did not hand out.
        """
        after = decode_cursor(cursor) if cursor else None
        rows = repo.list_tickets(self.session, filters, limit + 1, after)
        tickets, more = rows[:limit], len(rows) > limit
        next_cursor = encode_cursor(repo.queue_key(tickets[-1])) if more and tickets else None
        return TicketPage(tickets, next_cursor)

    def messages(
        self, ref: str, after_id: int | None = None, limit: int | None = None
    ) -> list[Message]:
        """The ticket's messages, optionally only those newer than ``after_id``.

        Raises:
            TicketNotFound: no such ticket.
        """
        ticket = self._ticket(ref)
        return repo.list_messages(self.session, ticket.id, after_id, limit)

    def changes_since(self, after: datetime | None, limit: int = EVENTS_PAGE) -> list[TicketChange]:
        """Tickets updated after ``after``, oldest change first."""
        return [
            TicketChange(
                t.ref,
                TicketStatus(t.status).value,
                t.updated_at,
                Priority(t.priority).value,
                Category(t.category).value,
                Language(t.language).value,
            )
            for t in repo.changed_tickets(self.session, after, limit)
        ]

    # -- acting

    def claim(self, ref: str, agent: Agent) -> tuple[Ticket, bool]:
        """Assign the ticket to ``agent``; returns ``(ticket, newly_claimed)``.

        Claiming again by the same agent is a no-op.

        Raises:
            TicketNotFound: no such ticket.
            TicketConflict: another agent has it, or it is no longer open.
        """
        ticket = self._ticket(ref)
        ensure_transition(ticket, TicketStatus.ASSIGNED)
        if ticket.status == TicketStatus.ASSIGNED:
            if ticket.assignee_id == agent.id:
                return ticket, False
            raise TicketConflict("claimed_by_another_agent", f"ticket {ref} has another agent")
        now = self.clock()
        won = repo.transition_ticket(
            self.session,
            ticket.id,
            from_status=TicketStatus.OPEN,
            values={"status": TicketStatus.ASSIGNED, "assignee_id": agent.id, "updated_at": now},
        )
        if not won:
            self.session.rollback()
            raise TicketConflict("claimed_by_another_agent", f"ticket {ref} has another agent")
        self._audit(ticket, agent.name, "ticket_claimed")
        self._system_line(ticket, system_lines.claimed(agent.name))
        self._emit(ticket, events.agent_joined())
        self.session.commit()
        return ticket, True

    def _assigned_to(self, ref: str, agent: Agent) -> Ticket:
        ticket = self._ticket(ref)
        if ticket.status != TicketStatus.ASSIGNED:
            raise TicketConflict(
                "ticket_not_assigned",
                f"ticket {ref} is {TicketStatus(ticket.status).value}; claim it first",
            )
        if ticket.assignee_id != agent.id:
            raise TicketConflict("not_assignee", f"ticket {ref} is assigned to another agent")
        return ticket

    def add_agent_message(
        self, ref: str, agent: Agent, text: Any, attachment_id: Any = None
    ) -> Message:
        """Store the assignee's reply (see :meth:`reply_once`, without a key)."""
        return self.reply_once(ref, agent, text, attachment_id)[0]

    def reply_once(
        self, ref: str, agent: Agent, text: Any, attachment_id: Any = None,
        idempotency_key: Any = None,
    ) -> tuple[Message, bool]:
        """Store the assignee's reply; the first one stops the SLA clock.

        With ``attachment_id`` (an image the agent uploaded to this ticket and
        has not sent yet) the reply carries that image, and its text may be empty.
        With ``idempotency_key`` (the console's Idempotency-Key), a reply sent again
        after a lost answer is the one stored the first time. Returns the message
        and whether it is new.

        Raises:
            ValidationFailed: empty or too long text, a malformed key, or an attachment
                that is not the agent's.
            TicketNotFound: no such ticket.
            TicketConflict: the caller is not the assignee, or the ticket is not assigned.
        """
        key = parse_short_id("Idempotency-Key", idempotency_key, IDEMPOTENCY_KEY_MAX - 6)
        external_id = f"agent:{key}" if key else None
        if attachment_id is not None and (text is None or text == ""):
            text = IMAGE_REPLY_TEXT
        clean_text, redacted = parse_message_text(text)
        ticket = self._ticket(ref)
        if external_id is not None:
            earlier = repo.get_ticket_message_by_external_id(
                self.session, ticket.id, external_id
            )
            if earlier is not None:
                # Checked before the assignee: the first copy may have been the last act
                # of an assignment that has ended since.
                return earlier, False
        ticket = self._assigned_to(ref, agent)
        attachment = (
            agent_reply_attachment(self.session, ticket, agent, attachment_id)
            if attachment_id is not None
            else None
        )
        now = self.clock()
        try:
            message = repo.add_message(
                self.session,
                Message(
                    ticket_id=ticket.id,
                    author=Author.AGENT,
                    author_name=agent.name,
                    text=clean_text,
                    created_at=now,
                    external_id=external_id,
                ),
            )
        except IntegrityError:
            # Two copies at once (a retry racing the first on another replica).
            self.session.rollback()
            earlier = (
                repo.get_ticket_message_by_external_id(self.session, ticket.id, external_id)
                if external_id
                else None
            )
            if earlier is None:
                raise
            return earlier, False
        if attachment is not None:
            attachment.message_id = message.id
        ticket.updated_at = now
        first = ticket.first_agent_reply_at is None
        if first:
            ticket.first_agent_reply_at = now
            self._audit(ticket, agent.name, "first_agent_reply")
        self._audit(ticket, agent.name, "agent_message", message_id=message.id, redacted=redacted)
        if first:
            # Only the first reply: the replies themselves are lines already.
            self._system_line(
                ticket, system_lines.first_reply(agent.name, now - ticket.created_at)
            )
        self._emit(ticket, events.agent_message(message.id))
        self.session.commit()
        return message, True

    def resolve(self, ref: str, agent: Agent) -> Ticket:
        """Mark the ticket resolved (assignee only); the bot takes the chat back.

        Raises:
            TicketNotFound: no such ticket.
            TicketConflict: not the assignee, or the ticket is not assigned.
        """
        return self._assignee_moves(
            ref, agent, TicketStatus.ASSIGNED, TicketStatus.RESOLVED, "resolved_at"
        )

    def close(self, ref: str, agent: Agent) -> Ticket:
        """Close a resolved ticket (assignee only).

        Raises:
            TicketNotFound: no such ticket.
            TicketConflict: not resolved, or not the assignee.
        """
        return self._assignee_moves(
            ref, agent, TicketStatus.RESOLVED, TicketStatus.CLOSED, "closed_at"
        )

    def _assignee_moves(
        self,
        ref: str,
        agent: Agent,
        from_status: TicketStatus,
        to_status: TicketStatus,
        stamp: str,
    ) -> Ticket:
        """The assignee moves the ticket on; a concurrent change makes it a conflict."""
        ticket = self._ticket(ref)
        ensure_transition(ticket, to_status)
        if ticket.assignee_id != agent.id:
            raise TicketConflict("not_assignee", f"ticket {ref} is assigned to another agent")
        now = self.clock()
        guard = {"assignee_id": agent.id} if from_status is TicketStatus.ASSIGNED else {}
        done = repo.transition_ticket(
            self.session,
            ticket.id,
            from_status=from_status,
            values={"status": to_status, stamp: now, "updated_at": now},
            **guard,
        )
        if not done:
            self.session.rollback()
            raise TicketConflict("transition_not_allowed", f"ticket {ref} changed meanwhile")
        self._audit(ticket, agent.name, f"ticket_{to_status.value}")
        line = system_lines.resolved if to_status is TicketStatus.RESOLVED else system_lines.closed
        self._system_line(ticket, line(agent.name))
        if to_status is TicketStatus.RESOLVED:
            self._emit(ticket, events.ticket_resolved())
        self.session.commit()
        return ticket
