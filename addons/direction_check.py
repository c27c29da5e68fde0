"""NLU component that keeps a withdrawal a withdrawal and a deposit a deposit.

When the classifier picks one direction (``withdrawal_failed`` or
``deposit_not_received``) and the message's words name only the other (提币 /
充值), the words win (:mod:`support_core.directions`). Any other intent passes.
"""

from __future__ import annotations

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from addons.stateless import StatelessComponent
from support_core.directions import consistent_problem


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False
)
class DirectionCheck(StatelessComponent, IntentClassifier):
    """Swaps a withdrawal/deposit intent that contradicts the message's own words."""

    @classmethod
    def required_components(cls) -> list[type]:
        """Runs after the learned classifier."""
        return [IntentClassifier]

    def process(self, messages: list[Message]) -> list[Message]:
        """Correct the direction where the words are unambiguous."""
        for message in messages:
            intent = message.get(INTENT) or {}
            name = intent.get("name")
            corrected = consistent_problem(name, [message.get(TEXT) or ""])
            if corrected == name or corrected is None:
                continue
            confidence = float(intent.get("confidence") or 0.0)
            fixed = {"name": corrected, "confidence": confidence}
            ranking = [r for r in message.get(INTENT_RANKING_KEY) or []
                       if r.get("name") != corrected]
            message.set(INTENT, fixed, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [fixed, *ranking], add_to_output=True)
        return messages
