"""``support-bot retrain``: validate, train a candidate, evaluate it against the current
model, promote it only if it is not worse, and optionally reload the running server."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from support_bot.common.console import Printer
from support_bot.common.errors import ModelReloadFailed, RasaCommandFailed, SupportBotError
from support_bot.common.project import Project
from support_bot.common.rasa_runner import run_rasa
from support_bot.evaluation.command import run_evaluate
from support_bot.retrain.promotion import PromotionDecision, decide, promote, reload_model

WHY_LINES = 12
VALIDATE_TIMEOUT_S = 600.0
TRAIN_TIMEOUT_S = 3600.0


class TrainingDataRejected(SupportBotError):
    """``rasa data validate`` found errors in the training data or domain."""


@dataclass(frozen=True)
class RetrainOptions:
    """How to retrain and where to tell a running server."""

    project: Project
    tolerance: float = 0.005
    reload_url: str | None = None
    token: str | None = None


@dataclass(frozen=True)
class RetrainOutcome:
    """The candidate, the decision and the evaluation report folder."""

    candidate: Path
    decision: PromotionDecision
    report_dir: Path


def _why_invalid(failure: RasaCommandFailed) -> str:
    """Rasa ends with the error that stopped it; earlier lines are mostly warnings."""
    return "\n".join(failure.log_tail.splitlines()[-WHY_LINES:])


def validate(project: Project, report_dir: Path, say: Printer) -> None:
    """Run ``rasa data validate``.

    Raises:
        TrainingDataRejected: Rasa found errors (the message carries its own lines).
    """
    log = report_dir / "validate.log"
    say(f"==> rasa data validate in {project.root}")
    try:
        run_rasa(["data", "validate", "--domain", str(project.domain)], cwd=project.root,
                 log_path=log, timeout=VALIDATE_TIMEOUT_S)
    except RasaCommandFailed as exc:
        raise TrainingDataRejected(
            f"`rasa data validate` failed (exit {exc.returncode}); not training. "
            f"Full output: {log}\n{_why_invalid(exc)}"
        ) from None
    say("    the data is valid")


def train_candidate(project: Project, name: str, report_dir: Path, say: Printer) -> Path:
    """Train ``models/candidates/<name>.tar.gz``.

    Raises:
        RasaCommandFailed: training failed.
        SupportBotError: Rasa finished without writing the model.
    """
    say(f"==> rasa train -> {project.candidates_dir / name}.tar.gz (takes a few minutes)")
    run_rasa(
        ["train", "--domain", str(project.domain), "--out", str(project.candidates_dir),
         "--fixed-model-name", name],
        cwd=project.root,
        log_path=report_dir / "train.log",
        timeout=TRAIN_TIMEOUT_S,
    )
    candidate = project.candidates_dir / f"{name}.tar.gz"
    if not candidate.is_file():
        raise SupportBotError(f"rasa train finished but {candidate} does not exist")
    say(f"    trained {candidate}")
    return candidate


def run_retrain(options: RetrainOptions, say: Printer = print) -> RetrainOutcome:
    """The whole loop; returns whether the candidate was promoted.

    Raises:
        TrainingDataRejected: the data is invalid (nothing trained).
        RasaCommandFailed: training or evaluation failed.
        ModelReloadFailed: promoted, but the running server did not load the model.
    """
    project = options.project
    name = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    report_dir = project.reports_dir / f"retrain-{name}"
    report_dir.mkdir(parents=True, exist_ok=True)
    validate(project, report_dir, say)
    candidate = train_candidate(project, name, report_dir, say)
    current = project.current_model if project.current_model.is_file() else None
    if current is None:
        say(f"    no current model at {project.current_model}: nothing to compare with")
    outcome = run_evaluate(project, candidate, current, report_dir, say=say)
    decision = decide(outcome.model, outcome.baseline, options.tolerance)
    if decision.promote:
        promote(project, candidate)
        say(f"==> PROMOTED {candidate.name} to {project.current_model}")
        if current is not None:
            say(f"    the previous model is kept as {project.previous_model}")
    else:
        say(f"==> KEPT the current model; the candidate {candidate.name} is not promoted:")
    for reason in decision.reasons:
        say(f"    {reason}")
    if decision.promote and options.reload_url:
        say(f"==> asking the Rasa server at {options.reload_url} to load the new model")
        try:
            reload_model(options.reload_url, options.token, project.current_model)
        except ModelReloadFailed as exc:
            raise ModelReloadFailed(
                f"the model is promoted on disk, but the server did not load it: {exc}"
            ) from None
        say("    the server loaded it")
    return RetrainOutcome(candidate, decision, report_dir)
