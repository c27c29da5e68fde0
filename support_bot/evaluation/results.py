"""The numbers of a ``rasa test nlu`` run, read from the files Rasa writes, and how a model
compares with its baseline."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from support_bot.common.errors import SupportBotError

Pair = tuple[str, str]

REPORT_FILE = "intent_report.json"
ERRORS_FILE = "intent_errors.json"
FIGURES = ("intent_confusion_matrix.png", "intent_histogram.png")
_AVERAGES = frozenset({"accuracy", "macro avg", "weighted avg", "micro avg"})
_SAME = 1e-9
# Rasa logs the mean and standard deviation over the folds, e.g. "test Accuracy: 0.745 (0.011)".
_FOLD_METRIC_RE = re.compile(r"\b(train|test) (Accuracy|F1-score|Precision): ([\d.]+) \(([\d.]+)\)")


@dataclass(frozen=True)
class EvalResult:
    """The numbers of one ``rasa test nlu`` run."""

    label: str
    folder: Path
    accuracy: float
    macro_f1: float
    support: int
    f1: dict[str, float]
    confusions: Counter[Pair] = field(default_factory=Counter)
    examples: dict[Pair, str] = field(default_factory=dict)
    # Cross-validation only: ("test Accuracy", mean, standard deviation) over the folds.
    fold_metrics: tuple[tuple[str, float, float], ...] = ()


@dataclass(frozen=True)
class Comparison:
    """How a model differs from its baseline."""

    accuracy_change: float
    macro_f1_change: float
    # (intent, baseline F1 or None, model F1 or None, change), biggest drop first.
    f1_changes: list[tuple[str, float | None, float | None, float]]
    # ((true, predicted), count in the model's errors), most frequent first.
    new_confusions: list[tuple[Pair, int]]


def read_result(folder: Path, label: str) -> EvalResult:
    """The numbers Rasa wrote to ``folder``.

    Raises:
        SupportBotError: Rasa's report is missing or unreadable.
    """
    report_path = folder / REPORT_FILE
    try:
        report: dict[str, Any] = json.loads(report_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise SupportBotError(f"cannot read Rasa's report {report_path}: {exc}") from None
    f1 = {
        intent: float(values["f1-score"])
        for intent, values in report.items()
        if intent not in _AVERAGES and isinstance(values, dict) and "f1-score" in values
    }
    confusions: Counter[Pair] = Counter()
    examples: dict[Pair, str] = {}
    errors_path = folder / ERRORS_FILE
    if errors_path.exists():
        for error in json.loads(errors_path.read_text(encoding="utf-8")):
            predicted = (error.get("intent_prediction") or {}).get("name")
            pair = (str(error.get("intent")), str(predicted))
            confusions[pair] += 1
            examples.setdefault(pair, str(error.get("text") or ""))
    return EvalResult(
        label=label,
        folder=folder,
        accuracy=float(report["accuracy"]),
        macro_f1=float(report["macro avg"]["f1-score"]),
        support=int(report["macro avg"].get("support") or 0),
        f1=f1,
        confusions=confusions,
        examples=examples,
    )


def compare(model: EvalResult, baseline: EvalResult) -> Comparison:
    """What changed from ``baseline`` to ``model``."""
    changes: list[tuple[str, float | None, float | None, float]] = []
    for intent in sorted(set(model.f1) | set(baseline.f1)):
        before, after = baseline.f1.get(intent), model.f1.get(intent)
        change = (after or 0.0) - (before or 0.0)
        if abs(change) > _SAME or (before is None) != (after is None):
            changes.append((intent, before, after, change))
    changes.sort(key=lambda item: (item[3], item[0]))
    new = [
        (pair, count) for pair, count in model.confusions.items() if pair not in baseline.confusions
    ]
    new.sort(key=lambda item: (-item[1], item[0]))
    return Comparison(
        accuracy_change=model.accuracy - baseline.accuracy,
        macro_f1_change=model.macro_f1 - baseline.macro_f1,
        f1_changes=changes,
        new_confusions=new,
    )


def fold_metrics(log: str) -> tuple[tuple[str, float, float], ...]:
    """The per-fold means and standard deviations Rasa logged for intents (the first of each
    name: intents are logged before entities and response selection)."""
    found: dict[str, tuple[str, float, float]] = {}
    for split, metric, mean, std in _FOLD_METRIC_RE.findall(log):
        name = f"{split} {metric}"
        found.setdefault(name, (name, float(mean), float(std)))
    return tuple(found.values())
