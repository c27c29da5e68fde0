"""The NLU baseline bench reads the same data as the assistant and its pipeline is sound.

No Rasa training here: only the data loading, the baseline's features on a small subset,
the folds and the metrics the bench compares.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
import yaml

from bench.nlu_baseline import (
    EVAL_DIR,
    FALLBACK,
    OUT_OF_SCOPE,
    TRAIN_DIR,
    LabelledText,
    Parsed,
    Scores,
    assistant_scores,
    baseline_predictions,
    beats,
    build_baseline,
    experienced,
    fallback_summary,
    folds,
    load_examples,
    normalise,
    score,
    write_errors,
    write_nlu_yaml,
)


def raw_examples(folder: Path) -> Counter[str]:
    """Examples per intent, counted straight from the YAML files."""
    counts: Counter[str] = Counter()
    for path in folder.glob("*.yml"):
        for block in yaml.safe_load(path.read_text()).get("nlu", []):
            if "intent" in block:
                counts[block["intent"]] += sum(
                    1 for line in block["examples"].splitlines() if line.strip()
                )
    return counts


@pytest.fixture(scope="module")
def train() -> list[LabelledText]:
    return load_examples(TRAIN_DIR)


@pytest.fixture(scope="module")
def evaluation() -> list[LabelledText]:
    return load_examples(EVAL_DIR)


def test_every_training_example_of_every_intent_is_read(train: list[LabelledText]) -> None:
    assert Counter(e.intent for e in train) == raw_examples(TRAIN_DIR)
    assert all(e.text.strip() for e in train)


def test_the_evaluation_split_is_read_and_only_has_trained_intents(
    train: list[LabelledText], evaluation: list[LabelledText]
) -> None:
    assert Counter(e.intent for e in evaluation) == raw_examples(EVAL_DIR)
    assert {e.intent for e in evaluation} <= {e.intent for e in train}
    assert not {e.text for e in evaluation} & {e.text for e in train}


def test_text_is_read_as_the_assistant_reads_it() -> None:
    # Traditional as Simplified, Jieba's words, numbers as one token, lower case.
    assert normalise("提幣一直失敗") == normalise("提币一直失败") == "提币 一直 失败"
    assert normalise("USDT提币 3 小时了,还没到!") == "usdt 提币 __number__ 小时 了 还 没到"
    tx = "0x" + "ab12" * 16
    assert normalise(f"withdrawal {tx} failed") == "withdrawal txhash failed"


def test_the_baseline_trained_on_a_tiny_subset_predicts_its_own_labels(
    train: list[LabelledText], evaluation: list[LabelledText]
) -> None:
    intents = ["greet", "withdrawal_failed", "deposit_not_received", "phishing_report"]
    subset = [e for intent in intents for e in [x for x in train if x.intent == intent][:8]]
    tests = [e for e in evaluation if e.intent in intents]
    predicted = baseline_predictions(subset, tests)
    assert len(predicted) == len(tests)
    assert set(predicted) <= set(intents)
    assert baseline_predictions(subset, subset) == [e.intent for e in subset]


def test_the_baseline_combines_word_and_character_features(train: list[LabelledText]) -> None:
    model = build_baseline()
    subset = train[::20]
    model.fit([e.text for e in subset], [e.intent for e in subset])
    words, chars = (dict(model.named_steps["features"].transformer_list)[name]
                    for name in ("words", "chars"))
    assert "提币" in words.vocabulary_ and "提币 失败" in words.vocabulary_
    assert max(len(gram) for gram in chars.vocabulary_) == 4


def test_folds_are_stratified_disjoint_and_the_same_each_time(train: list[LabelledText]) -> None:
    split = folds(train, 5)
    assert split == folds(train, 5)
    tested = sorted(i for _, test in split for i in test)
    assert tested == list(range(len(train)))
    for train_idx, test_idx in split:
        assert not set(train_idx) & set(test_idx)
        assert {train[i].intent for i in test_idx} == {e.intent for e in train}


def test_fold_files_keep_every_example_as_written(
    train: list[LabelledText], tmp_path: Path
) -> None:
    sample = train[::10]
    write_nlu_yaml(sample, tmp_path / "fold.yml")
    assert sorted(load_examples(tmp_path), key=repr) == sorted(sample, key=repr)


def test_scores_count_a_fallback_as_wrong_without_a_class_of_its_own() -> None:
    assert score(["a", "b"], ["a", "b"]) == Scores(1.0, 1.0, 2)
    scores = score(["a", "a", "b", "b"], ["a", "a", "b", FALLBACK])
    assert scores.accuracy == 0.75
    # F1 of a: 1; of b: precision 1, recall 1/2, so 2/3; no third class for the fallback.
    assert scores.macro_f1 == pytest.approx(5 / 6)
    assert scores.macro_f1 > score(["a", "a", "b", "b"], ["a", "a", "b", "a"]).macro_f1


def test_beating_means_better_on_both_figures() -> None:
    baseline = Scores(0.90, 0.90, 100)
    assert beats(Scores(0.91, 0.91, 100), baseline)
    assert not beats(Scores(0.95, 0.89, 100), baseline)
    assert not beats(Scores(0.90, 0.95, 100), baseline)


def _parsed(intent: str, predicted: str, classified: str | None = None) -> Parsed:
    return Parsed("text", intent, predicted, classified or predicted, 0.5)


def test_a_fallback_is_a_miss_except_on_an_out_of_scope_message() -> None:
    assert experienced("greet", FALLBACK) == FALLBACK
    assert experienced(OUT_OF_SCOPE, FALLBACK) == OUT_OF_SCOPE
    assert experienced("greet", "thank") == "thank"
    parsed = [
        _parsed("greet", "greet"),
        _parsed("greet", FALLBACK, classified="greet"),  # right beneath, still a miss
        _parsed(OUT_OF_SCOPE, FALLBACK, classified="greet"),  # understood, per the contract
        _parsed(OUT_OF_SCOPE, "thank"),
    ]
    assert assistant_scores(parsed).accuracy == 0.5
    summary = fallback_summary(parsed)
    assert summary.startswith("2 fallbacks (50.0 %, 1 on out_of_scope messages")
    assert "right for 1" in summary
    assert "classifier alone accuracy 50.0 %" in summary


def test_the_errors_file_lists_what_the_user_saw_misunderstood(tmp_path: Path) -> None:
    parsed = [_parsed("greet", "greet"), _parsed("greet", FALLBACK, classified="greet"),
              _parsed(OUT_OF_SCOPE, FALLBACK), _parsed("thank", "greet")]
    write_errors(parsed, tmp_path / "errors.json")
    errors = json.loads((tmp_path / "errors.json").read_text())
    assert [(e["intent"], e["predicted"]) for e in errors] == [
        ("greet", FALLBACK), ("thank", "greet")]
