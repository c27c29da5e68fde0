"""The intent classifier's parts: the concept featurizer and the linear classifier.

No pipeline training here: hand-made features, a few messages, the stored model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.nlu.constants import (
    FEATURE_TYPE_SENTENCE,
    FEATURE_TYPE_SEQUENCE,
    INTENT,
    INTENT_RANKING_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from addons.concept_featurizer import NAMES, ConceptFeaturizer, concept_spans
from addons.linear_intent_classifier import LinearIntentClassifier

# ---------------------------------------------------------------------------- concepts


def test_concepts_are_found_in_both_languages_and_scripts() -> None:
    assert {"withdraw", "failed"} <= set(concept_spans("提币失败了"))
    assert {"withdraw", "failed"} <= set(concept_spans("提幣失敗了"))  # Traditional
    assert {"withdraw", "failed"} <= set(concept_spans("My WITHDRAWAL failed"))
    assert "withdraw" in concept_spans("how do i cash out")
    assert "stake" in concept_spans("unstaking takes forever")


def test_english_concepts_start_at_a_word() -> None:
    assert "stake" not in concept_spans("i made a mistake")
    assert "bot" not in concept_spans("both of them")
    assert "hello" not in concept_spans("this is weird")


def test_features_mark_the_sentence_and_the_tokens_a_concept_covers() -> None:
    text = "USDT提币失败"
    tokens = [(0, 4), (4, 6), (6, 8)]  # USDT / 提币 / 失败
    sequence, sentence = ConceptFeaturizer.features(text, tokens)
    assert sequence.shape == (3, len(NAMES))
    assert sentence.shape == (1, len(NAMES))
    withdraw, failed = NAMES.index("withdraw"), NAMES.index("failed")
    dense = sequence.toarray()
    assert dense[:, withdraw].tolist() == [0, 1, 0]
    assert dense[:, failed].tolist() == [0, 0, 1]
    assert set(np.flatnonzero(sentence.toarray()[0])) >= {withdraw, failed}


def test_the_featurizer_adds_features_under_its_alias() -> None:
    message = Message(data={TEXT: "hello"})
    message.set(TOKENS_NAMES[TEXT], [Token("hello", 0, 5)])
    featurizer = ConceptFeaturizer({"alias": "concepts"}, "run_concepts")
    featurizer.process([message])
    kinds = {(f.type, f.origin) for f in message.features}
    assert kinds == {(FEATURE_TYPE_SEQUENCE, "concepts"), (FEATURE_TYPE_SENTENCE, "concepts")}


# ---------------------------------------------------------------------------- classifier


def _message(words: dict[str, list[int]], intent: str | None = None) -> Message:
    """A message whose sentence features are counts at the given columns, per origin."""
    message = Message(data={TEXT: "x", **({INTENT: intent} if intent else {})})
    for origin, columns in words.items():
        row = np.zeros((1, 6))
        for column in columns:
            row[0, column] += 1
        message.add_features(
            Features(scipy.sparse.coo_matrix(row), FEATURE_TYPE_SENTENCE, TEXT, origin)
        )
    return message


def _classifier(tmp_path: Path, **config: object) -> LinearIntentClassifier:
    tmp_path.mkdir(parents=True, exist_ok=True)
    storage = LocalModelStorage(tmp_path)
    context = ExecutionContext(GraphSchema({}), "test")
    return LinearIntentClassifier.create(
        {**LinearIntentClassifier.get_default_config(), **config},
        storage, Resource("linear"), context,
    )


TRAINING = [
    ({"words": [0], "chars": [0, 1]}, "greet"),
    ({"words": [0, 5], "chars": [1]}, "greet"),
    ({"words": [2], "chars": [2, 3]}, "withdrawal_failed"),
    ({"words": [2, 5], "chars": [3]}, "withdrawal_failed"),
    ({"words": [4], "chars": [4]}, "thank"),
    ({"words": [4, 5], "chars": [4, 5]}, "thank"),
]


def test_the_classifier_learns_ranks_and_survives_storage(tmp_path: Path) -> None:
    classifier = _classifier(tmp_path, feature_weights={"chars": 0.5})
    classifier.train(TrainingData([_message(f, i) for f, i in TRAINING]))
    messages = [_message({"words": [2], "chars": [3]}), _message({"words": [4]})]
    classifier.process(messages)
    assert [m.get(INTENT)["name"] for m in messages] == ["withdrawal_failed", "thank"]
    ranking = messages[0].get(INTENT_RANKING_KEY)
    assert ranking[0]["name"] == "withdrawal_failed"
    assert sum(r["confidence"] for r in ranking) == pytest.approx(1.0)
    assert ranking == sorted(ranking, key=lambda r: -r["confidence"])

    loaded = LinearIntentClassifier.load(
        classifier.config, LocalModelStorage(tmp_path), Resource("linear"),
        ExecutionContext(GraphSchema({}), "test"),
    )
    again = [_message({"words": [2], "chars": [3]}), _message({"words": [4]})]
    loaded.process(again)
    assert [m.get(INTENT) for m in again] == [m.get(INTENT) for m in messages]


def test_a_message_without_features_still_gets_a_ranking(tmp_path: Path) -> None:
    classifier = _classifier(tmp_path)
    classifier.train(TrainingData([_message(f, i) for f, i in TRAINING]))
    message = Message(data={TEXT: "?"})
    classifier.process([message])
    assert message.get(INTENT)["name"] in {"greet", "withdrawal_failed", "thank"}
    assert len(message.get(INTENT_RANKING_KEY)) == 3


def test_two_intents_give_two_probabilities(tmp_path: Path) -> None:
    classifier = _classifier(tmp_path)
    two = [(f, i) for f, i in TRAINING if i != "thank"]
    classifier.train(TrainingData([_message(f, i) for f, i in two]))
    message = _message({"words": [0]})
    classifier.process([message])
    ranking = message.get(INTENT_RANKING_KEY)
    assert ranking[0]["name"] == "greet"
    assert sum(r["confidence"] for r in ranking) == pytest.approx(1.0)


def test_an_untrained_classifier_leaves_messages_alone(tmp_path: Path) -> None:
    classifier = _classifier(tmp_path)
    classifier.train(TrainingData([_message({"words": [0]}, "greet")]))  # one intent only
    message = _message({"words": [0]})
    classifier.process([message])
    assert message.get(INTENT) is None


def test_optional_features_are_learnt_both_ways(tmp_path: Path) -> None:
    # "concepts" alone tells greet from thank in training; without it the words must.
    training = [
        ({"words": [0], "concepts": [0]}, "greet"),
        ({"words": [0, 1], "concepts": [0]}, "greet"),
        ({"words": [2], "concepts": [1]}, "thank"),
        ({"words": [2, 3], "concepts": [1]}, "thank"),
        ({"words": [5]}, "out_of_scope"),
        ({"words": [4, 5]}, "out_of_scope"),
    ]
    plain = _classifier(tmp_path / "plain", feature_weights={"concepts": 0.5})
    both = _classifier(tmp_path / "both", feature_weights={"concepts": 0.5},
                       optional_features=["concepts"])
    for classifier in (plain, both):
        classifier.train(TrainingData([_message(f, i) for f, i in training]))
    # A greeting in words the lexicon does not know: no concept at all.
    unknown = [_message({"words": [0]}) for _ in range(2)]
    plain.process(unknown[:1])
    both.process(unknown[1:])
    assert unknown[1].get(INTENT)["name"] == "greet"
    greet = [next(r["confidence"] for r in m.get(INTENT_RANKING_KEY) if r["name"] == "greet")
             for m in unknown]
    assert greet[1] > greet[0]
