"""The chat events the use cases emit: what the user's chat must hear about, and how.

An agent claims a ticket, replies, resolves it; a ticket the bot had to queue
arrives late. Each of these is a :class:`ChatEvent` whose name is also the
Rasa intent the bot's actions handle (``domain/handoff.yml`` lists the same names and
entities). Events carry ids only, never text: the bot fetches an agent's
reply from this service by its ``message_id``, so no text travels through
Rasa's event stream, where a user could forge it.

How an entry point gets notifications for free
----------------------------------------------
A use case of :class:`handoff_service.services.HandoffService` calls
:func:`emit` inside its own unit of work. :func:`emit` writes the event to the
``chat_notifications`` table through the use case's session (a transactional
outbox, :mod:`handoff_service.notification_outbox`), so the notification
commits or rolls back with the change it reports. The API, the CLI, a test
or any future entry point only calls the use case: there is nothing to
publish and no second write that could be lost.

Delivery is not the entry point's business either. The dispatcher
(:mod:`handoff_service.dispatcher`, running in every service process) reads
the table and triggers each event in Rasa through the transport
(:mod:`handoff_service.notifier`), in order per conversation, retrying until
Rasa accepts. :func:`emit` also marks the session; the ``after_commit``
listener that ``handoff_service.app`` puts on its session factory sees the
mark and wakes that process's dispatcher at once. Events committed by
another process (the CLI, another replica) are found at the dispatcher's
next poll (``HANDOFF_NOTIFY_POLL_MS``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from handoff_service import notification_outbox
from handoff_service.models import Ticket

AGENT_JOINED = "agent_joined"
AGENT_MESSAGE = "agent_message"
TICKET_RESOLVED = "ticket_resolved"
# A ticket the bot queued while the service was down has arrived; the chat
# now gets its reference (the bot reads it from the conversation's ticket).
TICKET_CREATED = "ticket_created"
CHAT_EVENTS = frozenset({AGENT_JOINED, AGENT_MESSAGE, TICKET_RESOLVED, TICKET_CREATED})

# Entities: the agent message to fetch, and the notification's own id, added
# at delivery so the bot's actions can skip one they have already shown.
MESSAGE_ID_ENTITY = "message_id"
NOTIFICATION_ID_ENTITY = "notification_id"


@dataclass(frozen=True)
class ChatEvent:
    """One event for one ticket's chat: its name and its entities (ids only)."""

    name: str
    entities: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # A name Rasa's domain does not know would be refused at delivery, long
        # after the change that caused it was committed.
        if self.name not in CHAT_EVENTS:
            raise ValueError(f"not a chat event: {self.name!r}")


def agent_joined() -> ChatEvent:
    """An agent claimed the ticket."""
    return ChatEvent(AGENT_JOINED)


def agent_message(message_id: int) -> ChatEvent:
    """The assignee replied; the bot fetches message ``message_id`` to show it."""
    return ChatEvent(AGENT_MESSAGE, {MESSAGE_ID_ENTITY: message_id})


def ticket_resolved() -> ChatEvent:
    """The assignee resolved the ticket; the bot takes the chat back."""
    return ChatEvent(TICKET_RESOLVED)


def ticket_created_late() -> ChatEvent:
    """A ticket the bot had queued while the service was down now exists."""
    return ChatEvent(TICKET_CREATED)


def emit(session: Session, ticket: Ticket, event: ChatEvent, now: datetime) -> None:
    """Add ``event`` for ``ticket``'s chat to the caller's unit of work (no commit).

    It is delivered after, and only if, that unit of work commits.
    """
    notification_outbox.queue_notification(
        session, ticket.id, ticket.conversation_id, event.name, event.entities, now
    )
    # The app's after_commit listener wakes its dispatcher when it finds this mark.
    session.info[notification_outbox.NOTIFICATIONS_QUEUED] = True
