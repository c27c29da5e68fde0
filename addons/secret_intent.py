"""NLU component that turns any message carrying a secret into ``share_secret``.

The input channels have normally replaced the secret by a placeholder already;
for channels that do not redact (e.g. a shell), the guard runs here again so
the user is still warned at once.
"""

from __future__ import annotations

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from addons.stateless import StatelessComponent
from support_core.secret_guard import contains_placeholder, find_secrets

SECRET_INTENT = "share_secret"


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False
)
class SecretIntentClassifier(StatelessComponent, IntentClassifier):
    """Overrides the intent with ``share_secret`` when a secret is present."""

    @classmethod
    def required_components(cls) -> list[type]:
        """Runs after the learned classifier (and its fallback)."""
        return [IntentClassifier]


    def process(self, messages: list[Message]) -> list[Message]:
        """Force ``share_secret`` for messages with a secret or its placeholder."""
        for message in messages:
            text = message.get(TEXT) or ""
            if contains_placeholder(text) is None and not find_secrets(text):
                continue
            intent = {"name": SECRET_INTENT, "confidence": 1.0}
            ranking = [
                r for r in message.get(INTENT_RANKING_KEY, []) if r.get("name") != SECRET_INTENT
            ]
            message.set(INTENT, intent, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [intent, *ranking], add_to_output=True)
        return messages
