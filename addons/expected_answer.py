"""NLU component that reads a message as the answer to the bot's own question.

The input channel puts into the message metadata what the bot is waiting for
(``expected_answer``: the buttons of its latest turn and the form field it asked
for), read from the conversation itself, never from the client. With that:

- a typed message that means one of the offered buttons ("yes please, open a
  ticket", "好的，提交工单", "5" at the rating) becomes that button's intent and
  entities, unless it clearly asks something else;
- a form answer the classifier took for an FAQ question ("提币手续费被扣了两次"
  as the description) is not treated as that question when it is not one, so
  the form keeps it.

Messages without that metadata (the shell, NLU evaluation) pass unchanged.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from addons.stateless import StatelessComponent
from support_core.choices import Choice, asks_something_else, choices_from, chosen

METADATA_KEY = "expected_answer"
# Intents that mean what they say whatever the bot asked: a secret, a theft,
# a request for a person or to stop.
KEEP_ALWAYS = frozenset(
    {"share_secret", "account_compromised", "request_human", "cancel", "correct_ticket"}
)
# The questions a form answer is often mistaken for (the slots' ``not_intent`` lists).
FORM_QUESTIONS = frozenset(
    {
        "ask_contact_support", "ask_ticket_guidance", "check_ticket_status",
        "verify_official_channel", "ask_announcements", "fee_inquiry", "policy_inquiry",
        "bot_challenge",
    }
)
FORM_TEXT_SLOTS = frozenset(
    {
        "ticket_title", "ticket_description", "ticket_occurred_at", "ticket_amount",
        "ticket_tx_hash", "ticket_wallet_address", "ticket_email",
    }
)
_ANSWER_INTENTS = frozenset({"affirm", "deny", "nlu_fallback", "out_of_scope"})


def _expected(message: Message) -> tuple[list[Choice], str | None]:
    metadata = message.get("metadata")
    expected = metadata.get(METADATA_KEY) if isinstance(metadata, dict) else None
    if not isinstance(expected, dict):
        return [], None
    slot = expected.get("slot")
    return choices_from(expected.get("choices")), slot if isinstance(slot, str) else None


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False
)
class ExpectedAnswerClassifier(StatelessComponent, IntentClassifier):
    """Overrides the intent with the offered choice a typed answer means."""

    @classmethod
    def required_components(cls) -> list[type]:
        """Runs after the learned classifier (and its fallback)."""
        return [IntentClassifier]

    def process(self, messages: list[Message]) -> list[Message]:
        """Read each message in the light of what the bot asked."""
        for message in messages:
            choices, slot = _expected(message)
            if choices or slot:
                _resolve(message, choices, slot)
        return messages


def _resolve(message: Message, choices: list[Choice], slot: str | None) -> None:
    text = message.get(TEXT) or ""
    predicted = (message.get(INTENT) or {}).get("name")
    if predicted in KEEP_ALWAYS:
        return
    if choices:
        if asks_something_else(text) and predicted not in _ANSWER_INTENTS and not any(
            c.intent == predicted for c in choices
        ):
            return
        choice = chosen(text, choices, predicted)
        if choice is not None:
            _set_intent(message, choice.intent)
            _add_entities(message, choice)
            return
    if slot in FORM_TEXT_SLOTS and predicted in FORM_QUESTIONS and not asks_something_else(text):
        ranking = message.get(INTENT_RANKING_KEY) or []
        fallback = next(
            (r.get("name") for r in ranking if r.get("name") not in FORM_QUESTIONS | KEEP_ALWAYS),
            None,
        )
        if fallback:
            _set_intent(message, fallback)


def _set_intent(message: Message, name: str) -> None:
    intent = {"name": name, "confidence": 1.0}
    ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") != name]
    message.set(INTENT, intent, add_to_output=True)
    message.set(INTENT_RANKING_KEY, [intent, *ranking], add_to_output=True)


def _add_entities(message: Message, choice: Choice) -> None:
    if not choice.entities:
        return
    text = message.get(TEXT) or ""
    extra: list[dict[str, Any]] = [
        {
            "entity": name,
            "value": value,
            "start": 0,
            "end": len(text),
            "confidence": 1.0,
            "extractor": ExpectedAnswerClassifier.__name__,
        }
        for name, value in choice.entities.items()
    ]
    kept = [e for e in message.get(ENTITIES) or [] if e.get("entity") not in choice.entities]
    message.set(ENTITIES, [*kept, *extra], add_to_output=True)
