"""The assistant's intent classification against an honest baseline.

The baseline is what anyone would try first: TF-IDF features (word 1-2-grams of the
project's own tokenisation - Jieba for Chinese, Traditional read as Simplified, hashes
and addresses as one placeholder - and character 1-4-grams of the same text, as the
assistant's featurizers see it), combined with a FeatureUnion, and a logistic
regression. Both models learn from exactly the same examples (data/nlu) and are
measured in two settings with the same metrics:

* the evaluation split (tests/nlu_eval), never trained on: the assistant is the trained
  model, models/current.tar.gz when it is newer than the NLU data and config, otherwise an
  NLU-only model trained here into a temporary folder;
* stratified k-fold cross-validation on the training data (default 5 folds, the same
  folds for both models; the assistant's NLU pipeline is trained once per fold into a
  temporary folder, under a minute per fold on 2 cores).

The assistant's answer is what the user gets: each message goes through the model's
whole NLU pipeline (the classifier, the FallbackClassifier, the rule-based components
after it), as the running assistant parses it. A `nlu_fallback` is a miss ("sorry, I did
not get that"), except for an `out_of_scope` message, which docs/intents.md counts as
understood when it comes out as `out_of_scope` or as `nlu_fallback`; a fallback is no
intent of its own in macro-F1 (it costs recall only). The fallbacks are also reported
apart, with the accuracy of the classifier's own intent beneath them, so that a
fallback threshold can be judged.

Both are scored by one function on (label, prediction) pairs: accuracy, and macro-F1 over
the intents of the measured examples. On the evaluation split, Rasa's own report (`rasa
test nlu`, as tests/integration/test_nlu_evaluation.py reads it: it undoes the
FallbackClassifier, and its macro average also counts any predicted intent absent from
the split) is printed beside ours. Each fold's misclassified messages are written to
errors.json in its folder; `--keep DIR` keeps those folders.

Goal: the assistant beats the baseline on accuracy and on macro-F1 in both settings,
and reaches 95 % accuracy on the evaluation split. Exit 1 when a goal is missed.

    .venv/bin/python -m bench.nlu_baseline            # everything, 5 folds
    .venv/bin/python -m bench.nlu_baseline --folds 3  # fewer assistant trainings
    .venv/bin/python -m bench.nlu_baseline --quick    # no cross-validation of the assistant
    .venv/bin/python -m bench.nlu_baseline --folds 3 --keep /tmp/nlu-bench  # keep the errors
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import FunctionTransformer

from bench.measure import machine
from devtools.stack import DEFAULT_MODEL, QUIET_ENV, ROOT

TRAIN_DIR = ROOT / "data" / "nlu"
EVAL_DIR = ROOT / "tests" / "nlu_eval"
CONFIG = ROOT / "config.yml"
DOMAIN = ROOT / "domain"
# What the model's NLU depends on: a model older than any of these is stale.
MODEL_INPUTS = (TRAIN_DIR, CONFIG, ROOT / "addons", ROOT / "support_core")

TARGET_EVAL_ACCURACY = 0.95
DEFAULT_FOLDS = 5
SEED = 42
# Inverse regularisation of the baseline, chosen by cross-validation on the training data
# alone (5 folds, C in 3, 10, 30, 100: accuracy 81.7, 82.6, 82.8, 82.9 %), never on the
# evaluation split.
BASELINE_C = 100.0
FALLBACK = "nlu_fallback"
# docs/intents.md: a message outside the wallet's support is understood when it comes out
# as out_of_scope or as nlu_fallback.
OUT_OF_SCOPE = "out_of_scope"


@dataclass(frozen=True)
class LabelledText:
    """One labelled user message."""

    text: str
    intent: str


@dataclass(frozen=True)
class Scores:
    """Accuracy and macro-F1 of predictions against their labels."""

    accuracy: float
    macro_f1: float
    count: int

    def describe(self) -> str:
        """E.g. ``accuracy 95.8 % macro-F1 0.957``."""
        return f"accuracy {100 * self.accuracy:.1f} % macro-F1 {self.macro_f1:.3f}"


# ---------------------------------------------------------------------------- data


def load_examples(folder: Path) -> list[LabelledText]:
    """Every intent example of the Rasa NLU files in ``folder``, read by Rasa's own reader.

    Entity annotations are resolved to their text, as Rasa trains on them; examples of
    other kinds (synonyms, lookups) are not intents and are left out.
    """
    from rasa.shared.nlu.constants import INTENT, TEXT
    from rasa.shared.nlu.training_data.loading import load_data

    examples = []
    for path in sorted(folder.glob("*.yml")):
        for message in load_data(str(path)).intent_examples:
            examples.append(LabelledText(message.get(TEXT), message.get(INTENT)))
    return examples


def write_nlu_yaml(examples: Sequence[LabelledText], path: Path) -> None:
    """Write ``examples`` as a Rasa NLU training file (Rasa's own writer escapes them)."""
    from rasa.shared.nlu.constants import INTENT, TEXT
    from rasa.shared.nlu.training_data.message import Message
    from rasa.shared.nlu.training_data.training_data import TrainingData

    messages = [Message(data={TEXT: e.text, INTENT: e.intent}) for e in examples]
    path.write_text(TrainingData(training_examples=messages).nlu_as_yaml(), encoding="utf-8")


# ---------------------------------------------------------------------------- baseline


@lru_cache(maxsize=1)
def _tokenizer():  # -> MixedTextTokenizer (imported lazily: Rasa is slow to import)
    from addons.tokenizer import MixedTextTokenizer

    return MixedTextTokenizer(MixedTextTokenizer.get_default_config(), None, None)


@lru_cache(maxsize=50_000)
def normalise(text: str) -> str:
    """The message as the assistant's featurizers read it: the project tokenizer's lemmas
    (Simplified Chinese, placeholders for hashes and addresses), numbers as one token,
    lower case, joined by single spaces."""
    from rasa.shared.nlu.constants import TEXT
    from rasa.shared.nlu.training_data.message import Message

    tokens = _tokenizer().tokenize(Message(data={TEXT: text}), TEXT)
    words = [re.sub(r"\b[0-9]+\b", "__NUMBER__", t.lemma).lower() for t in tokens]
    return " ".join(word for word in words if word.strip())


def _normalise_all(texts: Sequence[str]) -> list[str]:
    return [normalise(text) for text in texts]


def _split_words(text: str) -> list[str]:
    return text.split(" ")


def build_baseline(c: float = BASELINE_C) -> Pipeline:
    """TF-IDF of word 1-2-grams and character 1-4-grams, then a logistic regression."""
    features = FeatureUnion([
        ("words", TfidfVectorizer(
            tokenizer=_split_words, token_pattern=None, lowercase=False, ngram_range=(1, 2),
            sublinear_tf=True,
        )),
        ("chars", TfidfVectorizer(
            analyzer="char", lowercase=False, ngram_range=(1, 4), min_df=2, sublinear_tf=True,
        )),
    ])
    return Pipeline([
        ("normalise", FunctionTransformer(_normalise_all)),
        ("features", features),
        ("classifier", LogisticRegression(C=c, max_iter=3000, random_state=SEED)),
    ])


def baseline_predictions(train: Sequence[LabelledText], test: Sequence[LabelledText],
                         c: float = BASELINE_C) -> list[str]:
    """The baseline's intent for each of ``test``, trained on ``train``."""
    model = build_baseline(c)
    model.fit([e.text for e in train], [e.intent for e in train])
    return list(model.predict([e.text for e in test]))


# ---------------------------------------------------------------------------- metrics


def score(gold: Sequence[str], predicted: Sequence[str]) -> Scores:
    """Accuracy, and macro-F1 over the intents present in ``gold``."""
    labels = sorted(set(gold))
    return Scores(
        accuracy=accuracy_score(gold, predicted),
        macro_f1=f1_score(gold, predicted, labels=labels, average="macro", zero_division=0),
        count=len(gold),
    )


def experienced(gold: str, predicted: str) -> str:
    """The prediction as the user experiences it: a fallback on an out-of-scope message
    is the right answer (docs/intents.md), on any other message it stays a miss."""
    return gold if predicted == FALLBACK and gold == OUT_OF_SCOPE else predicted


def folds(examples: Sequence[LabelledText], count: int) -> list[tuple[list[int], list[int]]]:
    """Stratified folds (train indices, test indices), the same on every run."""
    splitter = StratifiedKFold(n_splits=count, shuffle=True, random_state=SEED)
    labels = [e.intent for e in examples]
    return [(list(a), list(b)) for a, b in splitter.split(labels, labels)]


def baseline_cross_validation(examples: Sequence[LabelledText], count: int) -> Scores:
    """The baseline's pooled predictions over ``count`` stratified folds."""
    gold: list[str] = []
    predicted: list[str] = []
    for train_idx, test_idx in folds(examples, count):
        test = [examples[i] for i in test_idx]
        predicted += baseline_predictions([examples[i] for i in train_idx], test)
        gold += [e.intent for e in test]
    return score(gold, predicted)


# ---------------------------------------------------------------------------- assistant


def _rasa(*args: str) -> None:
    """Run the venv's rasa command in the project root; raise with its output on failure.

    Rasa's training cache is off: a fold's components are never reused, and they would
    push the project's own cached components out of .rasa/cache.
    """
    result = subprocess.run(
        [str(Path(sys.executable).parent / "rasa"), *args],
        cwd=ROOT, env={**os.environ, **QUIET_ENV, "RASA_MAX_CACHE_SIZE": "0"},
        capture_output=True, text=True, check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"rasa {args[0]} {args[1]} failed:\n{result.stderr[-4000:]}")


def train_assistant_nlu(nlu: Path, out: Path, name: str = "nlu") -> Path:
    """Train the assistant's NLU pipeline (config.yml) on ``nlu``; the model's path."""
    _rasa("train", "nlu", "--config", str(CONFIG), "--nlu", str(nlu), "--out", str(out),
          "--fixed-model-name", name)
    return out / f"{name}.tar.gz"


@dataclass(frozen=True)
class Parsed:
    """The assistant's reading of one labelled message."""

    text: str
    intent: str
    # What the user gets, nlu_fallback included.
    predicted: str
    # The classifier's intent: beneath a fallback, the first intent of the ranking.
    classified: str
    confidence: float

    @property
    def fallback(self) -> bool:
        return self.predicted == FALLBACK


def _quiet_rasa_logging() -> None:
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)
    logging.getLogger().setLevel(logging.WARNING)
    for name in ("rasa", "tensorflow", "absl", "jieba"):
        logging.getLogger(name).setLevel(logging.WARNING)


def parse_all(model: Path, examples: Sequence[LabelledText]) -> list[Parsed]:
    """Each message of ``examples`` parsed by ``model``'s NLU pipeline, as the assistant
    parses a user's message."""
    for key, value in QUIET_ENV.items():
        os.environ.setdefault(key, value)
    _quiet_rasa_logging()
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))
    _quiet_rasa_logging()  # loading may configure logging anew

    async def parse() -> list[dict]:
        return [await agent.parse_message(e.text) for e in examples]

    parsed = []
    for example, result in zip(examples, asyncio.run(parse()), strict=True):
        intent = result.get("intent") or {}
        predicted = intent.get("name") or FALLBACK
        ranking = [r for r in result.get("intent_ranking") or [] if r.get("name") != FALLBACK]
        classified = ranking[0] if predicted == FALLBACK and ranking else intent
        parsed.append(Parsed(example.text, example.intent, predicted,
                             classified.get("name") or FALLBACK,
                             float(classified.get("confidence") or 0.0)))
    return parsed


def assistant_scores(parsed: Sequence[Parsed]) -> Scores:
    """The assistant's scores as the user experiences its answers."""
    return score([p.intent for p in parsed], [experienced(p.intent, p.predicted) for p in parsed])


def fallback_summary(parsed: Sequence[Parsed]) -> str:
    """How many fallbacks, how many of them on out-of-scope messages, and how the
    classifier beneath the fallback did."""
    fallbacks = [p for p in parsed if p.fallback]
    right_beneath = sum(p.classified == p.intent for p in fallbacks)
    classifier = score([p.intent for p in parsed], [p.classified for p in parsed])
    return (f"{len(fallbacks)} fallbacks ({100 * len(fallbacks) / max(len(parsed), 1):.1f} %, "
            f"{sum(p.intent == OUT_OF_SCOPE for p in fallbacks)} on out_of_scope messages; "
            f"the classifier's intent beneath them right for {right_beneath}); "
            f"classifier alone {classifier.describe()}")


def write_errors(parsed: Sequence[Parsed], path: Path) -> None:
    """The messages the user would see misunderstood, most confident first."""
    errors = [
        {"text": p.text, "intent": p.intent, "predicted": p.predicted,
         "classified": p.classified, "confidence": round(p.confidence, 4)}
        for p in parsed if experienced(p.intent, p.predicted) != p.intent
    ]
    errors.sort(key=lambda e: -e["confidence"])
    path.write_text(json.dumps(errors, ensure_ascii=False, indent=1), encoding="utf-8")


def rasa_report(model: Path, nlu: Path, out: Path) -> dict:
    """The intent report of `rasa test nlu` (as the integration test reads it)."""
    _rasa("test", "nlu", "--model", str(model), "--nlu", str(nlu), "--out", str(out),
          "--domain", str(DOMAIN))
    return json.loads((out / "intent_report.json").read_text())


def _newest_input() -> float:
    newest = 0.0
    for entry in MODEL_INPUTS:
        paths = [entry] if entry.is_file() else entry.rglob("*")
        for path in paths:
            if path.is_file() and path.suffix in {".yml", ".py"}:
                newest = max(newest, path.stat().st_mtime)
    return newest


def assistant_model(workdir: Path, chosen: Path | None) -> tuple[Path, str]:
    """The model to evaluate, and where it came from."""
    if chosen is not None:
        return chosen, f"model {chosen}"
    if DEFAULT_MODEL.exists() and DEFAULT_MODEL.stat().st_mtime >= _newest_input():
        return DEFAULT_MODEL, f"model {DEFAULT_MODEL.relative_to(ROOT)}"
    why = "is older than the NLU data or config" if DEFAULT_MODEL.exists() else "is missing"
    print(f"{DEFAULT_MODEL} {why}: training an NLU-only model", flush=True)
    started = time.monotonic()
    model = train_assistant_nlu(TRAIN_DIR, workdir)
    return model, f"NLU-only model trained here in {time.monotonic() - started:.0f} s"


def assistant_cross_validation(examples: Sequence[LabelledText], count: int,
                               workdir: Path) -> list[Parsed]:
    """The assistant's readings over ``count`` stratified folds (the baseline's)."""
    parsed: list[Parsed] = []
    for k, (train_idx, test_idx) in enumerate(folds(examples, count), start=1):
        started = time.monotonic()
        fold = workdir / f"fold{k}"
        fold.mkdir()
        write_nlu_yaml([examples[i] for i in train_idx], fold / "train.yml")
        model = train_assistant_nlu(fold / "train.yml", fold, name="fold")
        trained = time.monotonic() - started
        fold_parsed = parse_all(model, [examples[i] for i in test_idx])
        write_errors(fold_parsed, fold / "errors.json")
        parsed += fold_parsed
        print(f"  assistant fold {k}/{count}: {assistant_scores(fold_parsed).describe()} "
              f"(trained in {trained:.0f} s, {time.monotonic() - started:.0f} s in all)",
              flush=True)
        model.unlink()
    return parsed


# ---------------------------------------------------------------------------- report


def comparison(setting: str, assistant: Scores | None, baseline: Scores) -> str:
    """One comparable line: the setting, the assistant's figures, the baseline's."""
    mine = assistant.describe() if assistant else "skipped (--quick)"
    return f"{setting}: assistant {mine} | baseline {baseline.describe()}"


def beats(assistant: Scores, baseline: Scores) -> bool:
    """Strictly better on both accuracy and macro-F1."""
    return assistant.accuracy > baseline.accuracy and assistant.macro_f1 > baseline.macro_f1


def main(argv: Sequence[str] | None = None) -> int:
    """Measure both models in both settings; exit 1 when a goal is missed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folds", type=int, default=DEFAULT_FOLDS,
                        help=f"cross-validation folds (default {DEFAULT_FOLDS})")
    parser.add_argument("--quick", action="store_true",
                        help="skip the assistant's cross-validation (one training per fold)")
    parser.add_argument("--model", type=Path,
                        help="evaluate this model instead of models/current.tar.gz")
    parser.add_argument("--keep", type=Path,
                        help="work in this (new or empty) folder and keep the folds' errors")
    args = parser.parse_args(argv)
    if args.folds < 2:
        parser.error("--folds must be at least 2")
    if args.keep is not None and args.keep.exists() and any(args.keep.iterdir()):
        parser.error(f"--keep {args.keep}: the folder is not empty")

    print(machine(), flush=True)
    train = load_examples(TRAIN_DIR)
    evaluation = load_examples(EVAL_DIR)
    print(f"data train_examples={len(train)} train_intents={len({e.intent for e in train})} "
          f"eval_examples={len(evaluation)} eval_intents={len({e.intent for e in evaluation})}",
          flush=True)

    with tempfile.TemporaryDirectory(prefix="nlu-baseline-") as tmp:
        workdir = Path(tmp) if args.keep is None else args.keep
        workdir.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        gold = [e.intent for e in evaluation]
        baseline_eval = score(gold, baseline_predictions(train, evaluation))
        baseline_cv = baseline_cross_validation(train, args.folds)
        print(f"baseline trained and measured in {time.monotonic() - started:.0f} s", flush=True)

        model, origin = assistant_model(workdir, args.model)
        eval_parsed = parse_all(model, evaluation)
        (workdir / "eval").mkdir()
        write_errors(eval_parsed, workdir / "eval" / "errors.json")
        assistant_eval = assistant_scores(eval_parsed)
        report = rasa_report(model, EVAL_DIR, workdir / "eval" / "rasa")
        print(f"assistant: {origin}", flush=True)
        print(f"assistant eval split: {fallback_summary(eval_parsed)}; rasa test nlu "
              f"accuracy {100 * report['accuracy']:.1f} % "
              f"macro-F1 {report['macro avg']['f1-score']:.3f}", flush=True)

        assistant_cv = None
        if not args.quick:
            started = time.monotonic()
            cv_parsed = assistant_cross_validation(train, args.folds, workdir)
            assistant_cv = assistant_scores(cv_parsed)
            print(f"assistant cross-validation took {time.monotonic() - started:.0f} s; "
                  f"{fallback_summary(cv_parsed)}", flush=True)
        if args.keep is not None:
            print(f"errors kept under {workdir}", flush=True)

    print(comparison(f"nlu eval split ({assistant_eval.count} examples)", assistant_eval,
                     baseline_eval))
    print(comparison(f"nlu cross-validation ({args.folds} folds, {len(train)} examples)",
                     assistant_cv, baseline_cv))

    missed = []
    if assistant_eval.accuracy < TARGET_EVAL_ACCURACY:
        missed.append(f"eval accuracy below {100 * TARGET_EVAL_ACCURACY:.0f} %")
    if not beats(assistant_eval, baseline_eval):
        missed.append("does not beat the baseline on the eval split")
    if assistant_cv is not None and not beats(assistant_cv, baseline_cv):
        missed.append("does not beat the baseline in cross-validation")
    print(f"goal assistant beats baseline (accuracy and macro-F1, both settings) and eval "
          f"accuracy >= {100 * TARGET_EVAL_ACCURACY:.0f} %: "
          f"met={'no (' + '; '.join(missed) + ')' if missed else 'yes'}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
