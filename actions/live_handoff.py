"""While a human agent has the chat: relay the user's words, deliver the agent's, hand back."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from typing import Any, TypeVar

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.handoff_client import (
    HandoffError,
    HandoffRejected,
    HandoffUnavailable,
    TicketNotFound,
)
from actions.outbox import MESSAGE, RATING, TICKET
from actions.runtime import ServiceAction

logger = logging.getLogger(__name__)

_CN_RATINGS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5}
SKIPPED = "skipped"
OPEN_STATUSES = frozenset({"open", "assigned"})
DONE_STATUSES = frozenset({"resolved", "closed"})
# The service has just notified us, so it is up: a short second chance covers a blip.
SERVICE_READ_ATTEMPTS = 3
SERVICE_READ_PAUSE_SECONDS = 0.5
_MAX_PAUSE_SECONDS = 2.0
_MESSAGE_ID = re.compile(r"^[0-9]{1,18}$")

T = TypeVar("T")


def _entity(tracker: Tracker, name: str) -> Any:
    for entity in tracker.latest_message.get("entities") or []:
        if entity.get("entity") == name:
            return entity.get("value")
    return None


async def _patiently(call: Callable[..., T], *args: Any) -> T:
    """``call(*args)`` in a thread, tried again briefly while the service is unavailable."""
    for attempt in range(SERVICE_READ_ATTEMPTS):
        try:
            return await asyncio.to_thread(call, *args)
        except HandoffUnavailable as error:
            if attempt + 1 >= SERVICE_READ_ATTEMPTS:
                raise
            pause = SERVICE_READ_PAUSE_SECONDS
            if error.retry_after is not None:
                pause = max(pause, error.retry_after)
            await asyncio.sleep(min(pause, _MAX_PAUSE_SECONDS))
    raise AssertionError("unreachable")  # pragma: no cover


async def _conversation_ticket(
    action: ServiceAction, tracker: Tracker, purpose: str
) -> dict[str, Any] | None:
    """This conversation's ticket as the service knows it; None (logged) when it cannot say."""
    try:
        ticket = await _patiently(action.client.conversation_ticket, tracker.sender_id)
    except TicketNotFound:
        logger.info("No ticket for conversation %s (%s)", tracker.sender_id, purpose)
        return None
    except HandoffError as error:
        logger.warning(
            "Ticket of conversation %s unknown (%s): %s", tracker.sender_id, purpose, error
        )
        return None
    if not isinstance(ticket, dict) or not isinstance(ticket.get("ref"), str):
        return None
    return ticket


def _listen() -> list[EventType]:
    """Stop here: the rule's next step (e.g. the rating form) must not run."""
    return [FollowupAction("action_listen")]


def parse_rating(text: str) -> int | None:
    """A 1-5 score from '5', '4分', '五星', '★★★' or '3/5'; None if there is none."""
    text = (text or "").strip()
    stars = text.count("★") + text.count("⭐")
    if 1 <= stars <= 5 and not re.search(r"\d", text):
        return stars
    digit = re.search(r"(?<!\d)([1-5])(?!\d)", text)
    if digit:
        return int(digit.group(1))
    for char, value in _CN_RATINGS.items():
        if char in text:
            return value
    return None


class ActionRelayToAgent(ServiceAction):
    """Appends the user's message to the conversation's ticket; tells the user once."""

    def name(self) -> str:
        """Predicted by the handoff policy for every user message during a handoff."""
        return "action_relay_to_agent"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Relay by conversation id, queueing the message when the service is down.

        The ticket is found by the service from the conversation id: nothing a
        user typed (a ``ticket_ref`` entity, a slot) chooses where the words go.
        """
        message = tracker.latest_message
        text = message.get("text") or ""
        intent = (message.get("intent") or {}).get("name")
        if intent == "share_secret":
            dispatcher.utter_message(response="utter_secret_warning")
        events: list[EventType] = []
        if not tracker.get_slot("handoff_notice_given"):
            dispatcher.utter_message(response="utter_handoff_waiting")
            events.append(SlotSet("handoff_notice_given", True))
        if not text or text.startswith("/"):
            return events
        conversation_id = tracker.sender_id
        message_id = message.get("message_id")
        key = f"{conversation_id}:{message_id}"
        payload = {"text": text, "external_id": message_id}
        queued = await asyncio.to_thread(self.outbox.pending, conversation_id)
        if any(entry.kind in (TICKET, MESSAGE) for entry in queued):
            # Its ticket (or an earlier message) is still queued: keep the order.
            await self.queue(MESSAGE, key, conversation_id, payload)
            return events
        try:
            await asyncio.to_thread(
                self.client.relay_user_message, conversation_id, text, message_id
            )
        except HandoffUnavailable:
            await self.queue(MESSAGE, key, conversation_id, payload)
        except HandoffRejected as rejected:
            if rejected.status in (404, 409):
                # No open ticket any more (resolved meanwhile): the bot is back.
                dispatcher.utter_message(response="utter_handoff_over")
                events.append(SlotSet("handoff_active", False))
                return events
            logger.error(
                "Handoff service refused message %s of conversation %s (%s); kept as a dead"
                " letter", key, conversation_id, rejected,
            )
            await asyncio.to_thread(
                self.outbox.put_dead_letter, MESSAGE, key, conversation_id, payload,
                rejected.status, rejected.error_code, rejected.field,
            )
        return events


class ActionDeliverAgentMessage(ServiceAction):
    """Shows the agent's reply in the widget, with the agent's name, as the service has it."""

    def name(self) -> str:
        """Runs on ``agent_message``, triggered by the handoff service."""
        return "action_deliver_agent_message"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Fetch the message named by ``message_id`` from this conversation and show it.

        Only the id is read from the message: text and name come from the
        service, which answers 404 for a message of any other conversation.
        """
        raw = _entity(tracker, "message_id")
        message_id = str(raw) if raw is not None and not isinstance(raw, bool) else ""
        if not _MESSAGE_ID.match(message_id):
            logger.warning("agent_message without a usable message id in %s", tracker.sender_id)
            return []
        try:
            message = await _patiently(
                self.client.agent_message, tracker.sender_id, int(message_id)
            )
        except TicketNotFound:
            logger.warning(
                "Agent message %s is not one of conversation %s", message_id, tracker.sender_id
            )
            return []
        except HandoffError as error:
            logger.error(
                "Agent message %s of conversation %s not delivered: %s",
                message_id, tracker.sender_id, error,
            )
            return []
        text = message.get("text") if isinstance(message, dict) else None
        if not isinstance(text, str) or not text or message.get("author") not in (None, "agent"):
            return []
        name = message.get("author_name")
        dispatcher.utter_message(
            json_message={
                "data": {
                    "type": "agent",
                    "agent_name": name if isinstance(name, str) else "",
                    "text": text,
                }
            }
        )
        return []


class ActionAgentJoined(ServiceAction):
    """Tells the user an agent has taken the ticket."""

    def name(self) -> str:
        """Runs on ``agent_joined``."""
        return "action_agent_joined"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """A system notice naming the agent the service says has the conversation's ticket."""
        ticket = await _conversation_ticket(self, tracker, "agent joined")
        if ticket is None or ticket.get("status") not in OPEN_STATUSES:
            return []
        assignee = ticket.get("assignee")
        if not isinstance(assignee, str) or not assignee:
            return []
        dispatcher.utter_message(response="utter_agent_joined", agent_name=assignee)
        return [SlotSet("ticket_ref", ticket["ref"]), SlotSet("handoff_active", True)]


class ActionTicketDelivered(ServiceAction):
    """A queued ticket reached the service: give the user its reference."""

    def name(self) -> str:
        """Runs on ``ticket_created``, triggered by the service for late deliveries."""
        return "action_ticket_delivered"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Announce the conversation's open ticket, as the service has it."""
        ticket = await _conversation_ticket(self, tracker, "ticket created")
        if ticket is None or ticket.get("status") not in OPEN_STATUSES:
            return []
        ref = ticket["ref"]
        dispatcher.utter_message(response="utter_ticket_created", ref=ref)
        return [SlotSet("ticket_ref", ref), SlotSet("handoff_active", True)]


class ActionTicketResolved(ServiceAction):
    """The agent resolved the ticket: the bot takes over again and asks for a rating."""

    def name(self) -> str:
        """Runs on ``ticket_resolved``."""
        return "action_ticket_resolved"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Hand the chat back to the bot, only if the service says the ticket is done.

        Otherwise nothing is said and the rating form that follows in the rule
        does not start.
        """
        ticket = await _conversation_ticket(self, tracker, "ticket resolved")
        if ticket is None or ticket.get("status") not in DONE_STATUSES:
            return _listen()
        ref = ticket["ref"]
        dispatcher.utter_message(response="utter_ticket_resolved", ref=ref)
        return [
            SlotSet("handoff_active", False),
            SlotSet("handoff_notice_given", None),
            SlotSet("ticket_ref", ref),
            SlotSet("csat", None),
        ]


class ValidateRatingForm(FormValidationAction):
    """The 1-5 rating after a resolved ticket."""

    def name(self) -> str:
        """Validation for ``rating_form``."""
        return "validate_rating_form"

    def validate_csat(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A score from 1 to 5, or 'skip'."""
        from actions.ticket_fields import is_skip

        if value is None:
            # The form validates the csat=None that resets the slot when it
            # starts: nothing was answered yet, so ask (never "None" = skip).
            return {"csat": None}
        text = str(value)
        if is_skip(text) or (tracker.latest_message.get("intent") or {}).get("name") == "deny":
            return {"csat": SKIPPED}
        score = parse_rating(text)
        if score is None:
            dispatcher.utter_message(response="utter_invalid_rating")
            return {"csat": None}
        return {"csat": str(score)}


class ActionStoreRating(ServiceAction):
    """Stores the rating on the ticket and thanks the user."""

    def name(self) -> str:
        """Runs when the rating form is complete."""
        return "action_store_rating"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Rate the conversation's resolved ticket (queued if the service is down)."""
        score = _score(tracker.get_slot("csat"))
        if score is None:
            dispatcher.utter_message(response="utter_rating_skipped")
            return [SlotSet("csat", None)]
        conversation_id = tracker.sender_id
        try:
            await asyncio.to_thread(self.client.rate, conversation_id, score)
        except HandoffUnavailable:
            # One rating per resolved ticket: the reference (from the service) keys it.
            ticket = tracker.get_slot("ticket_ref") or tracker.latest_message.get("message_id")
            key = f"{conversation_id}:rating:{ticket}"
            await self.queue(RATING, key, conversation_id, {"score": score})
        except HandoffRejected as rejected:
            # Already rated (the first rating stands) or nothing to rate.
            logger.info("Rating of conversation %s refused: %s", conversation_id, rejected)
        dispatcher.utter_message(response="utter_thanks_rating")
        return [SlotSet("csat", None)]


def _score(value: Any) -> int | None:
    """The validated 1-5 score of the ``csat`` slot; None when skipped or unset."""
    if value in (None, SKIPPED):
        return None
    try:
        score = int(str(value))
    except ValueError:
        return None
    return score if 1 <= score <= 5 else None
