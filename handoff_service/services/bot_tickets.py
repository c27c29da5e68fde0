"""The bot's use cases: open a ticket, relay the user's messages, fetch replies, take a rating.

The bot names a conversation, never a ticket reference: a reference could have
come from what the user typed, and must not let one user reach another's ticket.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy.exc import IntegrityError

from handoff_service import events
from handoff_service import repository as repo
from handoff_service.errors import RateLimited, TicketConflict, TicketNotFound
from handoff_service.mail.scheduling import queue_ticket_confirmation
from handoff_service.models import Author, Message, Ticket, TicketStatus
from handoff_service.repository import NewAuditEvent, NewMessage
from handoff_service.services.base import BOT_ACTOR, ServiceBase, log_action
from handoff_service.services.rules import priority_for
from handoff_service.validation import (
    EXTERNAL_ID_MAX,
    IDEMPOTENCY_KEY_MAX,
    TicketDraft,
    parse_conversation_id,
    parse_message_text,
    parse_row_id,
    parse_score,
    parse_short_id,
    parse_ticket_draft,
)

logger = logging.getLogger(__name__)

# The audit action of a new ticket.
TICKET_CREATED = "ticket_created"

# Admits one more ticket for a conversation, or raises RateLimited.
TicketQuota = Callable[[str], None]


class BotTickets(ServiceBase):
    """Tickets as the bot sees them: one conversation's own."""

    def create_ticket(
        self,
        payload: Mapping[str, Any],
        idempotency_key: str | None = None,
        quota: TicketQuota | None = None,
    ) -> tuple[Ticket, bool]:
        """Open a ticket; returns ``(ticket, created)``.

        The same idempotency key gives back the same ticket; a conversation that
        already has an open ticket gets that one back (``created`` is false) and
        never a second one. ``quota`` is asked only for a ticket that is really
        being created, so a replay never uses up the conversation's allowance.

        Raises:
            ValidationFailed: the payload or the key is malformed.
            TicketConflict: the key was used for another conversation.
            RateLimited: ``quota`` refused a new ticket for this conversation.
        """
        key = parse_short_id("Idempotency-Key", idempotency_key, IDEMPOTENCY_KEY_MAX)
        draft = parse_ticket_draft(payload)
        try:
            # Insert first, look up only when a unique index refuses the row
            # (the same key, or the conversation's active ticket): replays
            # are rare, and a look-up first would cost every ticket a query
            # and still leave the race to the indexes.
            ticket = self._insert_ticket(draft, key)
            if quota is not None:
                quota(draft.conversation_id)
            if payload.get("delivered_late") is True:
                # The bot queued this ticket while the service was down and told
                # the user so; the chat now gets the reference.
                self._emit(ticket, events.ticket_created_late())
            queue_ticket_confirmation(
                self.session, ticket.id, draft.contact_email, self.clock()
            )
            self.session.commit()
        except IntegrityError:
            # This unit of work holds nothing else, so roll it all back.
            self.session.rollback()
            existing = self._existing_ticket(draft.conversation_id, key)
            if existing is None:
                raise
            return existing, False
        except RateLimited:
            self.session.rollback()
            raise
        # The audit event went in with the ticket; only the log line is left.
        log_action(ticket, TICKET_CREATED, BOT_ACTOR)
        if draft.redacted_fields:
            logger.info("ticket %s: secrets redacted in %s", ticket.ref, draft.redacted_fields)
        return ticket, True

    def _existing_ticket(self, conversation_id: str, key: str | None) -> Ticket | None:
        by_key, active = repo.find_replay_or_active(self.session, conversation_id, key)
        if by_key is not None:
            if by_key.conversation_id != conversation_id:
                raise TicketConflict(
                    "idempotency_key_reused",
                    "this Idempotency-Key was already used for another conversation",
                )
            return by_key
        return active

    def _insert_ticket(self, draft: TicketDraft, key: str | None) -> Ticket:
        now = self.clock()
        priority = priority_for(draft.category, draft.escalation_reason)
        ticket = repo.insert_ticket(
            self.session,
            {
                "conversation_id": draft.conversation_id,
                "category": draft.category,
                "priority": priority,
                "priority_rank": priority.rank,
                "status": TicketStatus.OPEN,
                "title": draft.title,
                "description": draft.description,
                "language": draft.language,
                "contact_email": draft.contact_email,
                "tx_hash": draft.tx_hash,
                "wallet_address": draft.wallet_address,
                "chain": draft.chain,
                "occurred_at_text": draft.occurred_at_text,
                "occurred_at": draft.occurred_at,
                "escalation_reason": draft.escalation_reason,
                "summary": draft.summary,
                "created_at": now,
                "updated_at": now,
                "idempotency_key": key,
                "app_user_id": draft.app_user_id,
            },
            [NewMessage(item.author, item.text, item.at or now) for item in draft.transcript],
            NewAuditEvent(
                actor=BOT_ACTOR,
                action=TICKET_CREATED,
                detail={
                    "category": draft.category.value,
                    "priority": priority.value,
                    "escalation_reason": draft.escalation_reason.value,
                    "transcript_items": len(draft.transcript),
                    "redacted_fields": list(draft.redacted_fields),
                },
                created_at=now,
            ),
        )
        return ticket

    def conversation_ticket(self, conversation_id: str) -> Ticket:
        """The conversation's open/assigned ticket, or else its latest one.

        Raises:
            ValidationFailed: the conversation id is malformed.
            TicketNotFound: the conversation never had a ticket.
        """
        cid = parse_conversation_id(conversation_id)
        ticket = repo.get_active_ticket(self.session, cid) or repo.get_latest_ticket(
            self.session, cid
        )
        if ticket is None:
            raise TicketNotFound("this conversation has no ticket")
        return ticket

    def add_user_message_for_conversation(
        self, conversation_id: str, text: Any, external_id: Any = None
    ) -> tuple[Message, bool]:
        """Relay a user's message to the conversation's open or assigned ticket.

        Returns ``(message, created)``. The ticket is the conversation's own: a
        reference the user typed never chooses it. A repeated ``external_id``
        (Rasa's message id) returns the stored message, also after resolution.

        Raises:
            ValidationFailed: malformed conversation id, text or external id.
            TicketNotFound: the conversation has no ticket.
            TicketConflict: ``ticket_not_open``, its latest ticket is resolved or closed.
        """
        cid = parse_conversation_id(conversation_id)
        clean_text, redacted = parse_message_text(text)
        ext = parse_short_id("external_id", external_id, EXTERNAL_ID_MAX)
        if ext is not None:
            earlier = repo.get_conversation_message_by_external_id(self.session, cid, ext)
            if earlier is not None:
                return earlier, False
        ticket = repo.get_active_ticket(self.session, cid)
        if ticket is None:
            latest = repo.get_latest_ticket(self.session, cid)
            if latest is None:
                raise TicketNotFound("this conversation has no ticket")
            raise TicketConflict(
                "ticket_not_open",
                f"ticket {latest.ref} is {TicketStatus(latest.status).value}; "
                "the bot has the chat back",
            )
        now = self.clock()
        try:
            message = repo.add_message(
                self.session,
                Message(
                    ticket_id=ticket.id,
                    author=Author.USER,
                    text=clean_text,
                    created_at=now,
                    external_id=ext,
                ),
            )
            ticket.updated_at = now
            self.session.commit()
        except IntegrityError:
            # The same relay arrived twice at once; the other copy is stored.
            self.session.rollback()
            earlier = (
                repo.get_conversation_message_by_external_id(self.session, cid, ext)
                if ext
                else None
            )
            if earlier is None:
                raise
            return earlier, False
        if redacted:
            logger.info("ticket %s: secret redacted in a relayed user message", ticket.ref)
        return message, True

    def rate_conversation(self, conversation_id: str, score: Any) -> Ticket:
        """Record the user's 1-5 score on the conversation's latest resolved ticket, once.

        Raises:
            ValidationFailed: malformed conversation id, or score not a whole number 1-5.
            TicketNotFound: the conversation has no resolved ticket.
            TicketConflict: ``already_rated``.
        """
        cid = parse_conversation_id(conversation_id)
        rating = parse_score(score)
        ticket = repo.get_latest_ticket(self.session, cid, status=TicketStatus.RESOLVED)
        if ticket is None:
            raise TicketNotFound("this conversation has no resolved ticket")
        if ticket.csat is not None:
            raise TicketConflict("already_rated", f"ticket {ticket.ref} was already rated")
        done = repo.transition_ticket(
            self.session,
            ticket.id,
            from_status=TicketStatus.RESOLVED,
            unrated=True,
            values={"csat": rating, "updated_at": self.clock()},
        )
        if not done:
            self.session.rollback()
            raise TicketConflict("already_rated", f"ticket {ticket.ref} was already rated")
        self._audit(ticket, BOT_ACTOR, "ticket_rated", score=rating)
        self.session.commit()
        return ticket

    def conversation_agent_message(
        self, conversation_id: str, message_id: Any
    ) -> tuple[Message, Ticket]:
        """One agent message of one of the conversation's tickets, with its ticket.

        The bot fetches an agent's reply by the id in the notification, so the
        text never travels through the conversation's events.

        Raises:
            ValidationFailed: malformed conversation id or message id.
            TicketNotFound: no agent message with that id in this conversation.
        """
        cid = parse_conversation_id(conversation_id)
        mid = parse_row_id("message_id", message_id)
        found = repo.get_conversation_message(self.session, cid, mid, Author.AGENT)
        if found is None:
            raise TicketNotFound("no such agent message in this conversation")
        return found
