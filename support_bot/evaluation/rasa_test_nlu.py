"""Run ``rasa test nlu``: one model on the evaluation split, or cross-validation on the
training data; the numbers Rasa writes are read by :mod:`support_bot.evaluation.results`."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from support_bot.common.console import Printer
from support_bot.common.errors import RasaCommandFailed, SupportBotError
from support_bot.common.rasa_runner import run_rasa
from support_bot.evaluation.results import EvalResult, fold_metrics, read_result


def evaluate_model(
    model: Path, nlu: Path, out: Path, cwd: Path, label: str, say: Printer = print
) -> EvalResult:
    """``rasa test nlu`` of ``model`` on the examples in ``nlu``, results in ``out``.

    Raises:
        SupportBotError: the model is missing, or Rasa failed.
    """
    if not model.is_file():
        raise SupportBotError(f"no model at {model}")
    say(f"==> rasa test nlu on {nlu}: {label} {model}")
    run_rasa(
        ["test", "nlu", "--model", str(model), "--nlu", str(nlu), "--out", str(out)],
        cwd=cwd,
        log_path=out / "rasa_test_nlu.log",
    )
    result = read_result(out, label)
    say(f"    accuracy {result.accuracy:.4f}, macro-F1 {result.macro_f1:.4f}")
    return result


def cross_validate(project_root: Path, folds: int, out: Path, say: Printer = print) -> EvalResult:
    """``rasa test nlu --cross-validation`` on the training data (trains ``folds`` models).

    Raises:
        RasaCommandFailed: Rasa failed.
    """
    say(f"==> rasa test nlu --cross-validation --folds {folds} on data/nlu (trains {folds} models)")
    try:
        run_rasa(
            [
                "test",
                "nlu",
                "--cross-validation",
                "--folds",
                str(folds),
                "--nlu",
                "data/nlu",
                "--config",
                "config.yml",
                "--out",
                str(out),
            ],
            cwd=project_root,
            log_path=out / "rasa_test_nlu.log",
        )
    except RasaCommandFailed:
        say(f"    cross-validation failed; see {out / 'rasa_test_nlu.log'}")
        raise
    result = replace(
        read_result(out, f"{folds}-fold cross-validation"),
        fold_metrics=fold_metrics((out / "rasa_test_nlu.log").read_text(errors="replace")),
    )
    say(f"    accuracy {result.accuracy:.4f}, macro-F1 {result.macro_f1:.4f} (test folds)")
    return result
