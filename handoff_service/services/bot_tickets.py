"""The bot's use cases: open a ticket, add details and lines, fetch replies, take a rating.

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
from handoff_service.services import system_lines
from handoff_service.services.base import BOT_ACTOR, ServiceBase, log_action
from handoff_service.services.rules import priority_for
from handoff_service.validation import (
    BOT_MESSAGE_ID_MAX,
    EXTERNAL_ID_MAX,
    IDEMPOTENCY_KEY_MAX,
    TicketDraft,
    parse_conversation_id,
    parse_message_text,
    parse_row_id,
    parse_score,
    parse_short_id,
    parse_ticket_draft,
    parse_ticket_update,
)

logger = logging.getLogger(__name__)

# The audit actions of a new ticket and of details added later.
TICKET_CREATED = "ticket_created"
TICKET_UPDATED = "ticket_updated"
# The error code of a 404 for a conversation without an open or assigned ticket.
NO_OPEN_TICKET = "no_open_ticket"
# Bot lines keep the bot's message id in ``external_id`` under this prefix, so
# that they never meet the ids of relayed user messages (Rasa's).
BOT_MESSAGE_KEY_PREFIX = "bot:"

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
            self._link_images(ticket, draft)
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

    def _link_images(self, ticket: Ticket, draft: TicketDraft) -> None:
        """The screenshots sent before the escalation go with the ticket, each on its line."""
        if not repo.link_unclaimed(self.session, draft.conversation_id, ticket.id):
            return
        if not any(item.attachment_id for item in draft.transcript):
            return
        # The transcript went in first, in order, so its lines are the first ids.
        lines = repo.list_messages(self.session, ticket.id, limit=len(draft.transcript))
        for item, line in zip(draft.transcript, lines, strict=False):
            if item.attachment_id is None:
                continue
            image = repo.get_attachment(self.session, item.attachment_id)
            # Only the conversation's own image, and only once.
            if image is not None and image.ticket_id == ticket.id and image.message_id is None:
                image.message_id = line.id

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
                "amount": draft.amount,
                "escalation_reason": draft.escalation_reason,
                "summary": draft.summary,
                "created_at": now,
                "updated_at": now,
                "idempotency_key": key,
                "app_user_id": draft.app_user_id,
            },
            [
                *(NewMessage(item.author, item.text, item.at or now) for item in draft.transcript),
                # After the chat it closes (ids are assigned in this order).
                NewMessage(
                    Author.SYSTEM,
                    system_lines.submitted(draft.escalation_reason.value, priority.value),
                    now,
                ),
            ],
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

    def _open_ticket(self, conversation_id: str) -> Ticket:
        ticket = repo.get_active_ticket(self.session, conversation_id)
        if ticket is None:
            raise TicketNotFound("this conversation has no open ticket", code=NO_OPEN_TICKET)
        return ticket

    def update_conversation_ticket(
        self, conversation_id: str, payload: Mapping[str, Any]
    ) -> Ticket:
        """Set the details given in ``payload`` on the conversation's open or assigned ticket.

        Fields whose value is already stored are left alone; when nothing
        changes, nothing is written (a retried update is harmless). Otherwise
        the change is audited (field names only), noted as a system line, and
        the ticket's ``updated_at`` tells open consoles to show it. A contact
        e-mail given for the first time gets the ticket's confirmation e-mail.

        Raises:
            ValidationFailed: malformed conversation id or field.
            NothingToUpdate: no field the update could change.
            TicketNotFound: ``no_open_ticket``, the conversation has no open or
                assigned ticket (none at all, or only resolved and closed ones).
        """
        cid = parse_conversation_id(conversation_id)
        update = parse_ticket_update(payload)
        ticket = self._open_ticket(cid)
        changed = {
            name: value for name, value in update.values.items() if getattr(ticket, name) != value
        }
        if not changed:
            return ticket
        added = [name for name in changed if getattr(ticket, name) is None]
        replaced = [name for name in changed if name not in added]
        now = self.clock()
        if not repo.update_active_ticket(self.session, ticket.id, {**changed, "updated_at": now}):
            # Resolved (or closed) since it was read.
            self.session.rollback()
            raise TicketNotFound("this conversation has no open ticket", code=NO_OPEN_TICKET)
        self._audit(
            ticket,
            BOT_ACTOR,
            TICKET_UPDATED,
            fields=list(changed),
            redacted_fields=list(update.redacted_fields),
        )
        self._system_line(ticket, system_lines.details(added, replaced))
        if "contact_email" in added:
            # The first address the user gives gets the confirmation a ticket
            # created with one gets (the urgent ticket is opened before the form).
            queue_ticket_confirmation(self.session, ticket.id, ticket.contact_email, now)
        self.session.commit()
        if update.redacted_fields:
            logger.info("ticket %s: secrets redacted in %s", ticket.ref, update.redacted_fields)
        return ticket

    def add_bot_message_for_conversation(
        self, conversation_id: str, text: Any, message_id: Any = None
    ) -> tuple[Message, bool]:
        """Add a line the bot said during the handoff to the conversation's open ticket.

        Returns ``(message, created)``; a repeated ``message_id`` (the bot's
        own key) returns the stored line, also after resolution. The line is
        for agents only: no chat notification, no e-mail.

        Raises:
            ValidationFailed: malformed conversation id, text or message id.
            TicketNotFound: ``no_open_ticket``, the conversation has no open or assigned ticket.
        """
        cid = parse_conversation_id(conversation_id)
        clean_text, redacted = parse_message_text(text)
        key = parse_short_id("message_id", message_id, BOT_MESSAGE_ID_MAX)
        ext = BOT_MESSAGE_KEY_PREFIX + key if key is not None else None
        return self._store_line(
            cid, self._open_ticket, Author.BOT, clean_text, ext, redacted=redacted
        )

    def _store_line(
        self,
        cid: str,
        find_ticket: Callable[[str], Ticket],
        author: Author,
        text: str,
        ext: str | None,
        *,
        redacted: bool,
    ) -> tuple[Message, bool]:
        """Store a user or bot line once per ``ext`` in the conversation; ``(line, created)``."""
        if ext is not None:
            earlier = repo.get_conversation_message_by_external_id(self.session, cid, ext, author)
            if earlier is not None:
                return earlier, False
        ticket = find_ticket(cid)
        now = self.clock()
        try:
            message = repo.add_message(
                self.session,
                Message(
                    ticket_id=ticket.id, author=author, text=text, created_at=now, external_id=ext
                ),
            )
            ticket.updated_at = now
            self.session.commit()
        except IntegrityError:
            # The same line arrived twice at once; the other copy is stored.
            self.session.rollback()
            earlier = (
                repo.get_conversation_message_by_external_id(self.session, cid, ext, author)
                if ext
                else None
            )
            if earlier is None:
                raise
            return earlier, False
        if redacted:
            logger.info("ticket %s: secret redacted in a %s line", ticket.ref, author.value)
        return message, True

    def add_user_message_for_conversation(
        self,
        conversation_id: str,
        text: Any,
        external_id: Any = None,
        expecting_tx_hash: Any = None,
    ) -> tuple[Message, bool]:
        """Relay a user's message to the conversation's open or assigned ticket.

        Returns ``(message, created)``. The ticket is the conversation's own: a
        reference the user typed never chooses it. A repeated ``external_id``
        (Rasa's message id) returns the stored message, also after resolution.
        ``expecting_tx_hash`` (true when the message answers "what is the
        transaction hash?") redacts it with that context, as the channel did.

        Raises:
            ValidationFailed: malformed conversation id, text, external id or flag.
            TicketNotFound: the conversation has no ticket.
            TicketConflict: ``ticket_not_open``, its latest ticket is resolved or closed.
        """
        cid = parse_conversation_id(conversation_id)
        clean_text, redacted = parse_message_text(text, expecting_tx_hash)
        ext = parse_short_id("external_id", external_id, EXTERNAL_ID_MAX)
        return self._store_line(
            cid, self._relay_ticket, Author.USER, clean_text, ext, redacted=redacted
        )

    def _relay_ticket(self, cid: str) -> Ticket:
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
        return ticket

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
        self._system_line(ticket, system_lines.rated(rating))
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
