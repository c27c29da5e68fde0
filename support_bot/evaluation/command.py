"""``support-bot evaluate``: one model (and its baseline) on the evaluation split."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from support_bot.common.console import Printer
from support_bot.common.errors import SupportBotError
from support_bot.common.project import Project
from support_bot.evaluation.rasa_test_nlu import cross_validate, evaluate_model
from support_bot.evaluation.results import Comparison, EvalResult, compare
from support_bot.evaluation.summary import render_summary

SUMMARY_FILE = "summary.md"
BASELINE_DIR = "baseline"
CROSS_VALIDATION_DIR = "cross_validation"


@dataclass(frozen=True)
class EvaluateOutcome:
    """The results of an evaluation and where its summary is."""

    model: EvalResult
    baseline: EvalResult | None
    comparison: Comparison | None
    summary_path: Path


def _shown(project: Project, path: Path) -> str:
    try:
        return str(path.resolve().relative_to(project.root))
    except ValueError:
        return str(path)


def default_baseline(project: Project, model: Path, explicit: Path | None) -> Path | None:
    """The model to compare with: the one given, else the promoted model when ``model`` is
    another one (a candidate), else none."""
    if explicit is not None:
        return explicit
    current = project.current_model
    if current.is_file() and model.resolve() != current.resolve():
        return current
    return None


def run_evaluate(
    project: Project,
    model: Path,
    baseline_model: Path | None,
    out: Path,
    cross_validation_folds: int | None = None,
    say: Printer = print,
) -> EvaluateOutcome:
    """Evaluate ``model`` (and ``baseline_model``) and write ``out/summary.md``.

    Rasa's files for ``model`` go to ``out``, the baseline's to ``out/baseline``
    and cross-validation's to ``out/cross_validation``.

    Raises:
        SupportBotError: a model or the evaluation split is missing, or Rasa failed.
    """
    if not project.eval_dir.is_dir():
        raise SupportBotError(f"no evaluation split at {project.eval_dir}")
    out.mkdir(parents=True, exist_ok=True)
    result = evaluate_model(model, project.eval_dir, out, project.root, "model", say)
    baseline = comparison = None
    if baseline_model is not None:
        baseline = evaluate_model(
            baseline_model, project.eval_dir, out / BASELINE_DIR, project.root, "baseline", say
        )
        comparison = compare(result, baseline)
    cv = None
    if cross_validation_folds is not None:
        cv = cross_validate(project.root, cross_validation_folds, out / CROSS_VALIDATION_DIR, say)
    summary = render_summary(
        out=out,
        generated=datetime.now(timezone.utc),
        eval_dir=_shown(project, project.eval_dir),
        model_name=_shown(project, model),
        model=result,
        baseline_name=_shown(project, baseline_model) if baseline_model else None,
        baseline=baseline,
        comparison=comparison,
        cross_validation=cv,
    )
    path = out / SUMMARY_FILE
    path.write_text(summary, encoding="utf-8")
    if comparison is not None:
        say(
            f"==> accuracy {comparison.accuracy_change:+.4f}, "
            f"macro-F1 {comparison.macro_f1_change:+.4f}, "
            f"{len(comparison.f1_changes)} intents changed F1, "
            f"{len(comparison.new_confusions)} new confusions"
        )
    say(f"==> summary: {path}")
    return EvaluateOutcome(result, baseline, comparison, path)
