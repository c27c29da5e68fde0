"""The bot's answer to a screenshot: it has it, and what it could read in it."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from support_core.facts import find_facts

# The facts worth repeating to the user, in the order they are named.
_SHOWN_KINDS = ("tx_hash", "address", "amount")
_LABELS = {
    "zh": {"tx_hash": "交易哈希", "address": "地址", "amount": "金额"},
    "en": {"tx_hash": "transaction hash", "address": "address", "amount": "amount"},
}


def screenshot_text(message: dict[str, Any]) -> str:
    """What the service read from the screenshot of this turn (secrets already redacted)."""
    metadata = message.get("metadata")
    image = metadata.get("attachment") if isinstance(metadata, dict) else None
    text = image.get("text") if isinstance(image, dict) else None
    return text if isinstance(text, str) else ""


def first_facts(text: str) -> dict[str, str]:
    """The first value of each kind of wallet fact in ``text``."""
    first: dict[str, str] = {}
    for fact in find_facts(text):
        first.setdefault(fact.entity, fact.value)
    return first


def _short(value: str) -> str:
    # A hash in full is hard to read in a chat bubble; the agent has it in full.
    return f"{value[:10]}…{value[-6:]}" if len(value) > 24 else value


def described_facts(facts: dict[str, str], language: str) -> str:
    """``transaction hash 0x12345678…abcdef, amount 500 USDT`` in the user's language."""
    labels = _LABELS["en" if language == "en" else "zh"]
    separator = ", " if language == "en" else "，"
    return separator.join(
        f"{labels[kind]} {_short(facts[kind])}" for kind in _SHOWN_KINDS if kind in facts
    )


class ActionAcknowledgeScreenshot(Action):
    """Says the screenshot arrived and names the hash, address or amount read in it."""

    def name(self) -> str:
        """Run by the screenshot rules."""
        return "action_acknowledge_screenshot"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        """One or two short lines; no events."""
        dispatcher.utter_message(response="utter_screenshot_received")
        language = "en" if tracker.get_slot("language") == "en" else "zh"
        found = described_facts(first_facts(screenshot_text(tracker.latest_message)), language)
        if found:
            dispatcher.utter_message(response="utter_screenshot_read", found=found)
        return []
