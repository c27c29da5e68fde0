"""summary.md of an evaluation: the two models side by side and what changed."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from support_bot.evaluation.results import FIGURES, Comparison, EvalResult, Pair

_MAX_CONFUSIONS = 30


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _f1(value: float | None) -> str:
    return "—" if value is None else f"{value:.4f}"


def _relative(path: Path, base: Path) -> str:
    try:
        return str(path.relative_to(base))
    except ValueError:
        return str(path)


def _figures(result: EvalResult, out: Path) -> list[str]:
    return [
        f"- `{_relative(result.folder / name, out)}` ({result.label})"
        for name in FIGURES
        if (result.folder / name).exists()
    ]


def _confusion_rows(model: EvalResult, pairs: list[tuple[Pair, int]]) -> list[str]:
    rows = []
    for (true, predicted), count in pairs[:_MAX_CONFUSIONS]:
        example = _cell(model.examples.get((true, predicted), ""))
        rows.append(f"| {true} | {predicted} | {count} | {example} |")
    return rows


def render_summary(
    *,
    out: Path,
    generated: datetime,
    eval_dir: str,
    model_name: str,
    model: EvalResult,
    baseline_name: str | None = None,
    baseline: EvalResult | None = None,
    comparison: Comparison | None = None,
    cross_validation: EvalResult | None = None,
) -> str:
    """The Markdown summary of one evaluation run."""
    lines = [
        "# NLU evaluation",
        "",
        f"Generated {generated:%Y-%m-%d %H:%M} UTC with `rasa test nlu` on the evaluation "
        f"split `{eval_dir}` ({model.support} examples).",
        "",
    ]
    if baseline is not None and comparison is not None:
        lines += [
            "| | model | baseline | change |",
            "|---|---:|---:|---:|",
            f"| file | `{model_name}` | `{baseline_name}` | |",
            f"| accuracy | {model.accuracy:.4f} | {baseline.accuracy:.4f} "
            f"| {comparison.accuracy_change:+.4f} |",
            f"| macro-F1 | {model.macro_f1:.4f} | {baseline.macro_f1:.4f} "
            f"| {comparison.macro_f1_change:+.4f} |",
            "",
            "## Per-intent F1 changes",
            "",
        ]
        if comparison.f1_changes:
            lines += [
                "Only intents whose F1 changed, biggest drop first.",
                "",
                "| intent | baseline | model | change |",
                "|---|---:|---:|---:|",
            ]
            lines += [
                f"| {intent} | {_f1(before)} | {_f1(after)} | {change:+.4f} |"
                for intent, before, after, change in comparison.f1_changes
            ]
        else:
            lines.append("No intent's F1 changed.")
        lines += ["", "## New confusions", ""]
        if comparison.new_confusions:
            lines += [
                "Pairs (true intent, predicted intent) in the model's errors that the "
                "baseline's errors do not have.",
                "",
                "| true intent | predicted | count | example |",
                "|---|---|---:|---|",
            ]
            lines += _confusion_rows(model, comparison.new_confusions)
        else:
            lines.append("None: every confusion of the model was already made by the baseline.")
    else:
        lines += [
            "| | model |",
            "|---|---:|",
            f"| file | `{model_name}` |",
            f"| accuracy | {model.accuracy:.4f} |",
            f"| macro-F1 | {model.macro_f1:.4f} |",
            "",
            "## Confusions",
            "",
        ]
        if model.confusions:
            lines += ["| true intent | predicted | count | example |", "|---|---|---:|---|"]
            ranked = sorted(model.confusions.items(), key=lambda item: (-item[1], item[0]))
            lines += _confusion_rows(model, ranked)
        else:
            lines.append("None.")
    if cross_validation is not None:
        lines += [
            "",
            "## Cross-validation on the training data",
            "",
            f"{cross_validation.label}: accuracy {cross_validation.accuracy:.4f}, "
            f"macro-F1 {cross_validation.macro_f1:.4f} "
            f"({cross_validation.support} examples, test folds accumulated).",
        ]
        if cross_validation.fold_metrics:
            lines += ["", "| per fold | mean | std |", "|---|---:|---:|"]
            lines += [
                f"| {name} | {mean:.3f} | {std:.3f} |"
                for name, mean, std in cross_validation.fold_metrics
            ]
    lines += ["", "## Figures (written by Rasa)", ""]
    lines += _figures(model, out)
    if baseline is not None:
        lines += _figures(baseline, out)
    if cross_validation is not None:
        lines += _figures(cross_validation, out)
    return "\n".join(lines) + "\n"
