"""Intent classifier: a logistic regression on TF-IDF weighted sparse sentence features.

The featurizers before it count things (words, character n-grams, concepts). Raw
counts make a poor input for a linear model: a long message weighs more than a
short one, a word said twice counts double, and the character unigrams that every
message shares weigh as much as a rare, telling 4-gram. So each featurizer's
sentence features (one block per featurizer, told apart by their origin) are
weighted here as a search engine would weigh words: a term's count c becomes
``1 + log(c)``, is multiplied by its inverse document frequency in the training
examples, and the block is scaled to unit length. A block can be given a weight
of its own (``feature_weights``, keyed by the featurizer's ``alias``), so that a
small block - the concept featurizer's - adds to the evidence of the large ones
without drowning it.

A block can also be marked optional (``optional_features``): every training example
is then learnt a second time without it. The concept lexicon is incomplete by
nature - a user's wording it does not know yields no concept at all - and a model
that only ever saw examples with their concepts takes that silence as evidence
("no concept: out of scope"). Learning each example both ways teaches it to read
the words alone as well, and to use the concepts where they are found.

A multinomial logistic regression then learns the intents. Its probabilities are
the intent ranking, so the FallbackClassifier's threshold reads as "how sure".
The model is stored as plain arrays (no pickled objects).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import scipy.sparse
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers import LABEL_RANKING_LENGTH
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.featurizers.featurizer import Featurizer
from rasa.shared.nlu.constants import (
    FEATURE_TYPE_SENTENCE,
    INTENT,
    INTENT_RANKING_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

logger = logging.getLogger(__name__)

MODEL_FILE = "linear_intent_classifier.npz"


def _sentence_blocks(message: Message) -> dict[str, scipy.sparse.csr_matrix]:
    """The message's sparse sentence features of its text, one row per featurizer."""
    return {
        str(f.origin): scipy.sparse.csr_matrix(f.features)
        for f in message.features
        if f.attribute == TEXT and f.type == FEATURE_TYPE_SENTENCE and f.is_sparse()
    }


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True
)
class LinearIntentClassifier(GraphComponent, IntentClassifier):
    """Logistic regression over TF-IDF weighted featurizer blocks."""

    @classmethod
    def required_components(cls) -> list[type]:
        """Featurizers provide the sentence features."""
        return [Featurizer]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """The component's default configuration."""
        return {
            # Inverse regularisation strength of the logistic regression.
            "C": 100.0,
            "max_iter": 3000,
            "random_state": 42,
            # Weight of a featurizer's block (by its alias); 1.0 for the others.
            "feature_weights": {},
            # Featurizers (by alias) whose features every example is also learnt without.
            "optional_features": [],
            # Intents in the ranking (0: all).
            "ranking_length": LABEL_RANKING_LENGTH,
        }

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        model: dict[str, np.ndarray] | None = None,
    ) -> None:
        """Keep the configuration and, once trained or loaded, the model's arrays."""
        self.config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self._model = model

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LinearIntentClassifier:
        """Create an untrained classifier."""
        return cls(config, model_storage, resource)

    # ------------------------------------------------------------------ features

    def _weight(self, origin: str) -> float:
        return float((self.config.get("feature_weights") or {}).get(origin, 1.0))

    def _matrix(self, messages: list[Message]) -> scipy.sparse.csr_matrix:
        """The weighted feature matrix of ``messages`` (trained block layout)."""
        assert self._model is not None
        origins = [str(o) for o in self._model["origins"]]
        widths = [int(w) for w in self._model["widths"]]
        rows = [_sentence_blocks(m) for m in messages]
        blocks = []
        for index, (origin, width) in enumerate(zip(origins, widths, strict=True)):
            counts = self._block(rows, origin, width)
            blocks.append(
                self._tf_idf(counts, self._model[f"idf{index}"]) * self._weight(origin)
            )
        return scipy.sparse.hstack(blocks, format="csr")

    def _columns(self) -> list[tuple[str, int, int]]:
        """Each block's origin, first column and end (one past its last) in the matrix."""
        assert self._model is not None
        columns, start = [], 0
        for origin, width in zip(self._model["origins"], self._model["widths"], strict=True):
            columns.append((str(origin), start, start + int(width)))
            start += int(width)
        return columns

    @classmethod
    def _block(
        cls, rows: list[dict[str, scipy.sparse.csr_matrix]], origin: str, width: int
    ) -> scipy.sparse.csr_matrix:
        """One featurizer's block: a row per message, zeros where it has none."""
        empty = scipy.sparse.csr_matrix((1, width))
        fitted = [cls._fit_width(row.get(origin), width) for row in rows]
        return scipy.sparse.vstack(
            [empty if features is None else features for features in fitted], format="csr"
        )

    @staticmethod
    def _fit_width(
        features: scipy.sparse.csr_matrix | None, width: int
    ) -> scipy.sparse.csr_matrix | None:
        """The row, cut or padded to the trained width (a vocabulary never grows)."""
        if features is None:
            return None
        if features.shape[1] == width:
            return features
        features = features[:, :width] if features.shape[1] > width else features
        return scipy.sparse.hstack(
            [features, scipy.sparse.csr_matrix((1, width - features.shape[1]))], format="csr"
        )

    @staticmethod
    def _sublinear(counts: scipy.sparse.csr_matrix) -> scipy.sparse.csr_matrix:
        tf = counts.astype(np.float64).tocsr(copy=True)
        tf.eliminate_zeros()
        tf.data = 1.0 + np.log(np.abs(tf.data))
        return tf

    @classmethod
    def _tf_idf(cls, counts: scipy.sparse.csr_matrix, idf: np.ndarray) -> scipy.sparse.csr_matrix:
        weighted = cls._sublinear(counts) @ scipy.sparse.diags(idf)
        norms = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1)).ravel())
        norms[norms == 0.0] = 1.0
        return scipy.sparse.diags(1.0 / norms) @ weighted

    # ------------------------------------------------------------------ training

    def train(self, training_data: TrainingData) -> Resource:
        """Learn the IDF weights and the logistic regression from the intent examples."""
        from sklearn.linear_model import LogisticRegression

        examples = [e for e in training_data.intent_examples if e.get(TEXT) and e.get(INTENT)]
        labels = [e.get(INTENT) for e in examples]
        if len(set(labels)) < 2:
            logger.warning(
                f"{self.__class__.__name__} needs at least two intents to learn; "
                f"it will predict no intent."
            )
            return self._resource

        rows = [_sentence_blocks(e) for e in examples]
        origins: list[str] = []
        widths: list[int] = []
        for row in rows:
            for origin, features in row.items():
                if origin not in origins:
                    origins.append(origin)
                    widths.append(features.shape[1])
        model: dict[str, np.ndarray] = {
            "origins": np.array(origins, dtype=str),
            "widths": np.array(widths, dtype=np.int64),
        }
        for index, (origin, width) in enumerate(zip(origins, widths, strict=True)):
            counts = self._block(rows, origin, width)
            document_frequency = np.bincount(
                counts.nonzero()[1], minlength=width
            ).astype(np.float64)
            # Smoothed as scikit-learn's TfidfTransformer does.
            model[f"idf{index}"] = np.log((1.0 + len(rows)) / (1.0 + document_frequency)) + 1.0
        self._model = model

        classifier = LogisticRegression(
            C=float(self.config["C"]),
            max_iter=int(self.config["max_iter"]),
            random_state=self.config["random_state"],
        )
        features = self._matrix(examples)
        kept = np.ones(features.shape[1])
        for origin, start, stop in self._columns():
            if origin in (self.config.get("optional_features") or []):
                kept[start:stop] = 0.0
        if not kept.all():
            without = features @ scipy.sparse.diags(kept)
            features = scipy.sparse.vstack([features, without], format="csr")
            labels = labels + labels
        classifier.fit(features, labels)
        model["classes"] = np.array(classifier.classes_, dtype=str)
        model["coef"] = classifier.coef_
        model["intercept"] = classifier.intercept_
        self.persist()
        return self._resource

    def persist(self) -> None:
        """Store the model's arrays."""
        if self._model is None:
            return
        with self._model_storage.write_to(self._resource) as directory:
            np.savez_compressed(directory / MODEL_FILE, **self._model)

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> LinearIntentClassifier:
        """Load the stored arrays; an untrained classifier when there are none."""
        try:
            with model_storage.read_from(resource) as directory:
                with np.load(directory / MODEL_FILE, allow_pickle=False) as stored:
                    model = {name: stored[name] for name in stored.files}
        except (ValueError, FileNotFoundError):
            logger.debug(f"{cls.__name__}: no trained model in '{resource.name}'.")
            model = None
        return cls(config, model_storage, resource, model)

    # ------------------------------------------------------------------ inference

    def probabilities(self, messages: list[Message]) -> np.ndarray:
        """Each message's probability of each intent (columns: ``self.classes``)."""
        assert self._model is not None
        scores = self._matrix(messages) @ self._model["coef"].T + self._model["intercept"]
        scores = np.asarray(scores)
        if scores.shape[1] == 1:  # two intents: scikit-learn keeps one column
            positive = 1.0 / (1.0 + np.exp(-scores[:, 0]))
            return np.column_stack([1.0 - positive, positive])
        scores -= scores.max(axis=1, keepdims=True)
        exp = np.exp(scores)
        return exp / exp.sum(axis=1, keepdims=True)

    @property
    def classes(self) -> list[str]:
        """The intents, in the order of the probabilities' columns."""
        return [] if self._model is None else [str(c) for c in self._model["classes"]]

    def process(self, messages: list[Message]) -> list[Message]:
        """Set each message's intent and intent ranking."""
        if self._model is None or "coef" not in self._model or not messages:
            return messages
        classes = self.classes
        length = int(self.config["ranking_length"]) or len(classes)
        for message, row in zip(messages, self.probabilities(messages), strict=True):
            order = np.argsort(-row, kind="stable")
            ranking = [
                {"name": classes[i], "confidence": float(row[i])} for i in order[:length]
            ]
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        return messages
