"""NLU component that tags each message with its language (entity ``language``).

The ``language`` slot is filled from this entity, and every response has a
Chinese and an English variation chosen by that slot. Messages that give no
clue (emoji, numbers, a bare hash) produce no entity, so the slot keeps the
language the conversation already has.
"""

from __future__ import annotations

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message

from addons.stateless import StatelessComponent
from support_core.language import detect_language

LANGUAGE_ENTITY = "language"


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False
)
class LanguageDetector(StatelessComponent):
    """Adds a ``language`` entity ("zh" or "en") to every message that has one."""

    def process(self, messages: list[Message]) -> list[Message]:
        """Tag each message with its detected language."""
        for message in messages:
            text = message.get(TEXT) or ""
            language = detect_language(text)
            if language is None:
                continue
            entity = {
                "entity": LANGUAGE_ENTITY,
                "value": language,
                "start": 0,
                "end": len(text),
                "confidence": 1.0,
                "extractor": type(self).__name__,
            }
            message.set(ENTITIES, [*message.get(ENTITIES, []), entity], add_to_output=True)
        return messages
