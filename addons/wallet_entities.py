"""NLU component that extracts wallet facts (asset, network, amount, tx_hash, address,
time, error_message) and e-mail addresses.

Rules, not a learned model: these facts have a fixed shape, and an agent must
be able to trust them exactly as the user wrote them.
"""

from __future__ import annotations

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message

from addons.stateless import StatelessComponent
from support_core.facts import find_facts
from support_core.patterns import EMAIL_IN_TEXT_RE


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False
)
class WalletEntityExtractor(StatelessComponent):
    """Adds rule-based wallet entities to each message."""

    def process(self, messages: list[Message]) -> list[Message]:
        """Add the facts found in each message as entities."""
        for message in messages:
            text = message.get(TEXT) or ""
            facts = find_facts(text)
            emails = list(EMAIL_IN_TEXT_RE.finditer(text))
            if not facts and not emails:
                continue
            entities = [
                {
                    "entity": "email",
                    "value": match.group(),
                    "start": match.start(),
                    "end": match.end(),
                    "confidence": 1.0,
                    "extractor": type(self).__name__,
                }
                for match in emails
            ] + [
                {
                    "entity": fact.entity,
                    "value": fact.value,
                    "start": fact.start,
                    "end": fact.end,
                    "confidence": 1.0,
                    "extractor": type(self).__name__,
                }
                for fact in facts
            ]
            message.set(ENTITIES, [*message.get(ENTITIES, []), *entities], add_to_output=True)
        return messages
