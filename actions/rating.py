"""The 1-5 rating after a resolved ticket: reading the user's answer, storing it."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.handoff_client import HandoffRejected, HandoffUnavailable
from actions.outbox import RATING
from actions.runtime import ServiceAction
from actions.ticket_fields import is_skip

logger = logging.getLogger(__name__)

_CN_RATINGS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5}
SKIPPED = "skipped"


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


class ValidateRatingForm(FormValidationAction):
    """The 1-5 rating after a resolved ticket."""

    def name(self) -> str:
        """Validation for ``rating_form``."""
        return "validate_rating_form"

    def validate_csat(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A score from 1 to 5, or 'skip'."""
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
