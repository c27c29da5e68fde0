"""While a human agent has the chat: relay the user's words, deliver the agent's, hand back."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.handoff_client import HandoffRejected, HandoffUnavailable
from actions.outbox import MESSAGE, RATING
from actions.runtime import ServiceAction

_CN_RATINGS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5}
SKIPPED = "skipped"


def _entity(tracker: Tracker, name: str) -> Any:
    for entity in tracker.latest_message.get("entities") or []:
        if entity.get("entity") == name:
            return entity.get("value")
    return None


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
    """Appends the user's message to the ticket; tells the user once that an agent will reply."""

    def name(self) -> str:
        """Predicted by the handoff policy for every user message during a handoff."""
        return "action_relay_to_agent"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Relay, queueing the message when the service is down."""
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
        message_id = message.get("message_id")
        ref = tracker.get_slot("ticket_ref")
        payload = {"text": text, "external_id": message_id}
        try:
            if not ref:
                raise HandoffUnavailable("ticket not created yet")
            await asyncio.to_thread(self.client.relay_user_message, ref, text, message_id)
        except HandoffUnavailable:
            key = f"{tracker.sender_id}:{message_id}"
            await self.queue(MESSAGE, key, tracker.sender_id, payload)
        except HandoffRejected:
            # The ticket is no longer open (resolved meanwhile): the bot is back.
            dispatcher.utter_message(response="utter_handoff_over")
            events.append(SlotSet("handoff_active", False))
        return events


class ActionDeliverAgentMessage(ServiceAction):
    """Shows the agent's reply in the widget, with the agent's name."""

    def name(self) -> str:
        """Runs on ``agent_message``, triggered by the handoff service."""
        return "action_deliver_agent_message"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Send the text as an agent message (custom payload the widget understands)."""
        text = _entity(tracker, "agent_text")
        if not text:
            return []
        name = _entity(tracker, "agent_name") or ""
        dispatcher.utter_message(
            json_message={"data": {"type": "agent", "agent_name": name, "text": str(text)}}
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
        """A system notice naming the agent."""
        dispatcher.utter_message(
            response="utter_agent_joined", agent_name=_entity(tracker, "agent_name") or ""
        )
        return [SlotSet("handoff_active", True)]


class ActionTicketDelivered(ServiceAction):
    """A queued ticket reached the service: give the user its reference."""

    def name(self) -> str:
        """Runs on ``ticket_created``, triggered by the service for late deliveries."""
        return "action_ticket_delivered"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Remember the reference and announce it."""
        ref = _entity(tracker, "ticket_ref")
        if not ref:
            return []
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
        """Hand the chat back to the bot."""
        ref = _entity(tracker, "ticket_ref") or tracker.get_slot("ticket_ref")
        dispatcher.utter_message(response="utter_ticket_resolved", ref=ref or "")
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
        """Send the score (queued if the service is down)."""
        score = tracker.get_slot("csat")
        ref = tracker.get_slot("ticket_ref")
        if score in (None, SKIPPED) or not ref:
            dispatcher.utter_message(response="utter_rating_skipped")
            return [SlotSet("csat", None)]
        try:
            await asyncio.to_thread(self.client.rate, ref, int(score))
        except HandoffUnavailable:
            key = f"{tracker.sender_id}:rating:{ref}"
            payload = {"ref": ref, "score": int(score)}
            await self.queue(RATING, key, tracker.sender_id, payload)
        except HandoffRejected:
            pass  # already rated: the first rating stands
        dispatcher.utter_message(response="utter_thanks_rating")
        return [SlotSet("csat", None)]
