"""Comparing two evaluations, the promotion rule, promoting files and reloading a server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from support_bot.common.errors import ModelReloadFailed
from support_bot.common.project import Project
from support_bot.evaluation.command import default_baseline
from support_bot.evaluation.results import EvalResult, compare, fold_metrics, read_result
from support_bot.evaluation.summary import render_summary
from support_bot.retrain.promotion import decide, promote, reload_model


def _write_run(
    folder: Path, accuracy: float, f1: dict[str, float], errors: list[tuple[str, str, str]]
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {
        intent: {"precision": v, "recall": v, "f1-score": v, "support": 10, "confused_with": {}}
        for intent, v in f1.items()
    }
    report["accuracy"] = accuracy
    macro = sum(f1.values()) / len(f1)
    report["macro avg"] = {"precision": macro, "recall": macro, "f1-score": macro, "support": 30}
    report["weighted avg"] = {"precision": 0.5, "recall": 0.5, "f1-score": 0.5, "support": 30}
    (folder / "intent_report.json").write_text(json.dumps(report))
    (folder / "intent_errors.json").write_text(
        json.dumps(
            [
                {
                    "text": text,
                    "intent": true,
                    "intent_prediction": {"name": predicted, "confidence": 0.4},
                }
                for text, true, predicted in errors
            ]
        )
    )
    (folder / "intent_confusion_matrix.png").write_bytes(b"\x89PNG")
    return folder


@pytest.fixture()
def runs(tmp_path: Path) -> tuple[Path, Path]:
    baseline = _write_run(
        tmp_path / "out" / "baseline",
        0.90,
        {"greet": 1.0, "deny": 0.8, "withdrawal_failed": 0.9},
        [("nope", "deny", "greet")],
    )
    model = _write_run(
        tmp_path / "out",
        0.86,
        {"greet": 1.0, "deny": 0.85, "withdrawal_failed": 0.7},
        [
            ("nope", "deny", "greet"),
            ("提币失败 | 急", "withdrawal_failed", "deposit_not_received"),
            ("my withdrawal bounced", "withdrawal_failed", "deposit_not_received"),
            ("no thanks", "deny", "goodbye"),
        ],
    )
    return model, baseline


def _results(runs: tuple[Path, Path]) -> tuple[EvalResult, EvalResult]:
    return read_result(runs[0], "model"), read_result(runs[1], "baseline")


def test_comparison_lists_changed_intents_and_new_confusions(runs: tuple[Path, Path]) -> None:
    model, baseline = _results(runs)
    comparison = compare(model, baseline)
    assert comparison.accuracy_change == pytest.approx(-0.04)
    assert [(i, c) for i, _, _, c in comparison.f1_changes] == [
        ("withdrawal_failed", pytest.approx(-0.2)),
        ("deny", pytest.approx(0.05)),
    ]
    assert comparison.new_confusions == [
        (("withdrawal_failed", "deposit_not_received"), 2),
        (("deny", "goodbye"), 1),
    ]


def test_summary_shows_both_models_and_what_changed(runs: tuple[Path, Path]) -> None:
    model, baseline = _results(runs)
    text = render_summary(
        out=runs[0],
        generated=datetime(2026, 11, 25, tzinfo=timezone.utc),
        eval_dir="tests/nlu_eval",
        model_name="models/candidates/x.tar.gz",
        model=model,
        baseline_name="models/current.tar.gz",
        baseline=baseline,
        comparison=compare(model, baseline),
    )
    assert "| accuracy | 0.8600 | 0.9000 | -0.0400 |" in text
    assert "| withdrawal_failed | 0.9000 | 0.7000 | -0.2000 |" in text
    assert "| deny | 0.8000 | 0.8500 | +0.0500 |" in text
    assert "| greet |" not in text  # unchanged
    assert "| withdrawal_failed | deposit_not_received | 2 | 提币失败 \\| 急 |" in text
    assert "| deny | greet |" not in text  # the baseline made that one too
    assert "- `intent_confusion_matrix.png` (model)" in text
    assert "- `baseline/intent_confusion_matrix.png` (baseline)" in text


def test_promotion_rule_and_its_reasons(runs: tuple[Path, Path]) -> None:
    model, baseline = _results(runs)
    kept = decide(model, baseline, tolerance=0.005)
    assert not kept.promote
    assert kept.reasons == (
        "accuracy 0.9000 -> 0.8600 (-0.0400): dropped by 0.0400, more than the tolerance 0.005",
        "macro-F1 0.9000 -> 0.8500 (-0.0500): dropped by 0.0500, more than the tolerance 0.005",
    )
    promoted = decide(model, baseline, tolerance=0.06)
    assert promoted.promote
    assert promoted.reasons[-1] == "no drop larger than the tolerance 0.06"
    assert decide(baseline, baseline, tolerance=0.0).promote
    assert decide(model, None, tolerance=0.0).promote


def test_macro_f1_drop_alone_keeps_the_model(tmp_path: Path) -> None:
    base = read_result(_write_run(tmp_path / "b", 0.9, {"a": 1.0, "b": 1.0}, []), "b")
    cand = read_result(_write_run(tmp_path / "c", 0.9, {"a": 1.0, "b": 0.9}, []), "c")
    decision = decide(cand, base, tolerance=0.01)
    assert not decision.promote
    assert decision.reasons == (
        "macro-F1 1.0000 -> 0.9500 (-0.0500): dropped by 0.0500, more than the tolerance 0.01",
    )


def test_default_baseline_is_the_current_model_for_a_candidate(tmp_path: Path) -> None:
    project = Project.at(tmp_path)
    project.models_dir.mkdir()
    project.current_model.write_bytes(b"current")
    candidate = tmp_path / "candidate.tar.gz"
    assert default_baseline(project, candidate, None) == project.current_model
    assert default_baseline(project, project.current_model, None) is None
    assert default_baseline(project, candidate, tmp_path / "x") == tmp_path / "x"


def test_promote_keeps_the_previous_model(tmp_path: Path) -> None:
    project = Project.at(tmp_path)
    project.models_dir.mkdir()
    project.current_model.write_bytes(b"old")
    candidate = tmp_path / "new.tar.gz"
    candidate.write_bytes(b"new")
    promote(project, candidate)
    assert project.current_model.read_bytes() == b"new"
    assert project.previous_model.read_bytes() == b"old"
    assert sorted(p.name for p in project.models_dir.iterdir()) == [
        "current.tar.gz",
        "previous.tar.gz",
    ]


class _FakeRasa(BaseHTTPRequestHandler):
    calls: ClassVar[list[tuple[str, str, dict[str, Any]]]] = []
    status: ClassVar[int] = 204

    def do_PUT(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _FakeRasa.calls.append(("PUT", self.path, body))
        self.send_response(_FakeRasa.status)
        self.end_headers()

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture()
def fake_rasa() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _FakeRasa)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _FakeRasa.calls, _FakeRasa.status = [], 204
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_reload_puts_the_absolute_model_path(fake_rasa: str, tmp_path: Path) -> None:
    model = tmp_path / "models" / "current.tar.gz"
    reload_model(fake_rasa + "/", "s3cret", model)
    assert _FakeRasa.calls == [("PUT", "/model?token=s3cret", {"model_file": str(model)})]


def test_reload_failure_is_reported(fake_rasa: str, tmp_path: Path) -> None:
    _FakeRasa.status = 401
    with pytest.raises(ModelReloadFailed, match="answered 401"):
        reload_model(fake_rasa, "wrong", tmp_path / "m.tar.gz")
    with pytest.raises(ModelReloadFailed, match="cannot reach"):
        reload_model("http://127.0.0.1:9", None, tmp_path / "m.tar.gz")


def test_cross_validation_fold_metrics_are_read_from_rasas_log() -> None:
    log = (
        "INFO rasa.model_testing  - Intent evaluation results\n"
        "INFO rasa.nlu.test  - train Accuracy: 0.999 (0.001)\n"
        "INFO rasa.nlu.test  - test Accuracy: 0.745 (0.011)\n"
        "INFO rasa.nlu.test  - test F1-score: 0.747 (0.012)\n"
        "INFO rasa.model_testing  - Entity evaluation results\n"
        "INFO rasa.nlu.test  - test Accuracy: 0.500 (0.100)\n"
    )
    assert fold_metrics(log) == (
        ("train Accuracy", 0.999, 0.001),
        ("test Accuracy", 0.745, 0.011),
        ("test F1-score", 0.747, 0.012),
    )
