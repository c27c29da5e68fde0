"""NLU component that keeps only the sentence-level features of the user's text.

With no transformer layers and no entity recognition, DIET classifies a message
from its sentence features alone: the token-level (sequence) features reach no
output. They still cost a vocabulary-sized weight matrix per featurizer that is
updated at every training step, and the char n-gram vocabulary is large. This
component replaces them with one constant column per token, which DIET's input
checks require and which costs nothing to learn, so training takes a fraction
of the time and every prediction is lighter.
"""

from __future__ import annotations

import numpy as np
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import FEATURE_TYPE_SEQUENCE, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from addons.stateless import StatelessComponent

ORIGIN = "SentenceFeaturesOnly"


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False
)
class SentenceFeaturesOnly(StatelessComponent):
    """Replaces the sequence features of the ``text`` attribute by a constant column."""

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Replace the sequence features of every training example."""
        self.process(training_data.training_examples)
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        """Replace the sequence features of each message's text."""
        for message in messages:
            tokens = 0
            kept = []
            for feature in message.features:
                if feature.attribute == TEXT and feature.type == FEATURE_TYPE_SEQUENCE:
                    tokens = max(tokens, feature.features.shape[0])
                else:
                    kept.append(feature)
            if tokens:
                kept.append(
                    Features(np.ones((tokens, 1)), FEATURE_TYPE_SEQUENCE, TEXT, ORIGIN)
                )
            message.features = kept
        return messages
