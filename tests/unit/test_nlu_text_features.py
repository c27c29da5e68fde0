"""The tokenizer's Traditional Chinese handling and the sentence-only features DIET reads."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, FEATURE_TYPE_SEQUENCE, INTENT, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from addons.sentence_features import SentenceFeaturesOnly
from addons.tokenizer import MixedTextTokenizer
from support_core.chinese_script import to_simplified


@pytest.fixture(scope="module")
def tokenizer() -> MixedTextTokenizer:
    return MixedTextTokenizer(MixedTextTokenizer.get_default_config(), None, None)


def tokens(tokenizer: MixedTextTokenizer, text: str) -> list[tuple[str, str, int, int]]:
    return [
        (t.text, t.lemma, t.start, t.end)
        for t in tokenizer.tokenize(Message(data={TEXT: text}), TEXT)
    ]


@pytest.mark.parametrize(
    ("traditional", "simplified"),
    [("轉帳失敗", "转帐失败"), ("登錄不了", "登录不了"), ("錢包被盜", "钱包被盗")],
)
def test_traditional_chinese_is_read_as_simplified(traditional: str, simplified: str) -> None:
    assert to_simplified(traditional) == simplified


def test_ascii_and_simplified_text_is_unchanged() -> None:
    for text in ("my withdrawl failed", "USDT提币一直pending", "", "0xAbC 👍"):
        assert to_simplified(text) == text


def test_tokens_keep_the_users_text_and_offsets_with_simplified_lemmas(
    tokenizer: MixedTextTokenizer,
) -> None:
    text = "登錄老是失敗,怎麼辦"
    found = tokens(tokenizer, text)
    assert [lemma for _, lemma, _, _ in found] == ["登录", "老是", "失败", "怎么办"]
    for word, _, start, end in found:
        assert text[start:end] == word


def test_traditional_and_simplified_messages_get_the_same_lemmas(
    tokenizer: MixedTextTokenizer,
) -> None:
    simplified = [lemma for _, lemma, _, _ in tokens(tokenizer, "提币一直失败")]
    traditional = [lemma for _, lemma, _, _ in tokens(tokenizer, "提幣一直失敗")]
    assert simplified == traditional


def test_mixed_text_drops_blank_tokens(tokenizer: MixedTextTokenizer) -> None:
    words = [word for word, _, _, _ in tokens(tokenizer, "USDT提币一直pending 都三小时了")]
    assert words[:4] == ["USDT", "提币", "一直", "pending"]
    assert " " not in words


def featurized(text: str, token_count: int) -> Message:
    message = Message(data={TEXT: text, INTENT: "greet"})
    vocabulary = 50
    for origin in ("words", "chars"):
        message.add_features(
            Features(
                scipy.sparse.random(token_count, vocabulary, density=0.1, format="coo"),
                FEATURE_TYPE_SEQUENCE, TEXT, origin,
            )
        )
        message.add_features(
            Features(
                scipy.sparse.random(1, vocabulary, density=0.1, format="coo"),
                FEATURE_TYPE_SENTENCE, TEXT, origin,
            )
        )
    message.add_features(
        Features(np.ones((1, 3)), FEATURE_TYPE_SENTENCE, INTENT, "intent")
    )
    return message


def test_sequence_features_become_one_constant_column_per_token() -> None:
    message = featurized("hello there friend", 3)
    SentenceFeaturesOnly().process([message])

    sequence = [f for f in message.features if f.type == FEATURE_TYPE_SEQUENCE]
    assert len(sequence) == 1
    assert sequence[0].features.shape == (3, 1)
    assert sequence[0].attribute == TEXT
    sentence_sizes = message.get_sparse_feature_sizes(TEXT)[FEATURE_TYPE_SENTENCE]
    assert sentence_sizes == [50, 50]
    assert any(f.attribute == INTENT for f in message.features)


def test_training_examples_are_changed_the_same_way() -> None:
    data = TrainingData([featurized("hi", 1), featurized("good morning", 2)])
    SentenceFeaturesOnly().process_training_data(data)
    for example in data.training_examples:
        sequence = [f for f in example.features if f.type == FEATURE_TYPE_SEQUENCE]
        assert [f.features.shape[1] for f in sequence] == [1]
