"""Whether a candidate model replaces the current one, and the replacing itself."""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import requests

from support_bot.common.errors import ModelReloadFailed
from support_bot.common.project import Project
from support_bot.evaluation.results import EvalResult

RELOAD_TIMEOUT_S = 300.0


@dataclass(frozen=True)
class PromotionDecision:
    """Promote or keep, and the sentences that say why."""

    promote: bool
    reasons: tuple[str, ...]


def decide(
    candidate: EvalResult, current: EvalResult | None, tolerance: float
) -> PromotionDecision:
    """Promote when neither accuracy nor macro-F1 dropped by more than ``tolerance``."""
    if current is None:
        return PromotionDecision(True, ("there is no current model to compare with",))
    metrics = (
        ("accuracy", current.accuracy, candidate.accuracy),
        ("macro-F1", current.macro_f1, candidate.macro_f1),
    )
    drops: list[str] = []
    notes: list[str] = []
    for name, before, after in metrics:
        change = after - before
        note = f"{name} {before:.4f} -> {after:.4f} ({change:+.4f})"
        notes.append(note)
        if after < before - tolerance:
            drops.append(f"{note}: dropped by {-change:.4f}, more than the tolerance {tolerance}")
    if drops:
        return PromotionDecision(False, tuple(drops))
    return PromotionDecision(True, (*notes, f"no drop larger than the tolerance {tolerance}"))


def _copy_atomically(source: Path, target: Path) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        shutil.copy2(source, tmp)
        os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)


def promote(project: Project, candidate: Path) -> None:
    """Make ``candidate`` the current model; the current one becomes the previous one."""
    project.models_dir.mkdir(parents=True, exist_ok=True)
    if project.current_model.is_file():
        _copy_atomically(project.current_model, project.previous_model)
    _copy_atomically(candidate, project.current_model)


def reload_model(url: str, token: str | None, model: Path) -> None:
    """Tell the Rasa server at ``url`` to load ``model`` (``PUT /model``, Rasa's HTTP API).

    Raises:
        ModelReloadFailed: the server is unreachable or did not answer 204.
    """
    endpoint = f"{url.rstrip('/')}/model"
    try:
        response = requests.put(
            endpoint,
            params={"token": token} if token else None,
            json={"model_file": str(model.resolve())},
            timeout=RELOAD_TIMEOUT_S,
        )
    except requests.RequestException as exc:
        raise ModelReloadFailed(f"cannot reach {endpoint}: {type(exc).__name__}") from None
    if response.status_code != 204:
        raise ModelReloadFailed(
            f"{endpoint} answered {response.status_code}: {response.text[:300]}"
        )
