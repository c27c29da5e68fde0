"""The model meets its accuracy target on the held-out evaluation split."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from devtools.stack import ROOT
from tests.conftest import rasa_cli

pytestmark = pytest.mark.integration

# The goal is 0.95 (measured: see README); the floor leaves room for run-to-run noise.
TARGET_ACCURACY = 0.94
EVAL_DIR = ROOT / "tests" / "nlu_eval"


def _examples(folder: Path) -> set[str]:
    texts: set[str] = set()
    for path in folder.glob("*.yml"):
        for block in yaml.safe_load(path.read_text()).get("nlu", []):
            texts |= {line[2:].strip() for line in block["examples"].splitlines() if line.strip()}
    return texts


def test_evaluation_split_is_never_trained_on() -> None:
    overlap = _examples(EVAL_DIR) & _examples(ROOT / "data" / "nlu")
    assert not overlap, sorted(overlap)[:10]


def test_every_contract_intent_is_evaluated_in_both_languages() -> None:
    contract = ROOT / "docs" / "intents.md"
    names = {
        line.split("|")[1].strip()
        for line in contract.read_text().splitlines()
        if line.startswith("| ") and line.split("|")[1].strip().isidentifier()
    } - {"intent"}
    seen: dict[str, set[str]] = {}
    for path in EVAL_DIR.glob("*.yml"):
        for block in yaml.safe_load(path.read_text()).get("nlu", []):
            for line in block["examples"].splitlines():
                language = "zh" if any("\u4e00" <= ch <= "\u9fff" for ch in line) else "en"
                seen.setdefault(block["intent"], set()).add(language)
    assert len(names) == 31, sorted(names)
    missing = {name for name in names if seen.get(name) != {"zh", "en"}}
    assert not missing, missing


def test_intent_accuracy_on_the_evaluation_split(trained_model: Path, tmp_path: Path) -> None:
    out = tmp_path / "nlu"
    result = rasa_cli(
        "test", "nlu", "--model", str(trained_model), "--nlu", str(EVAL_DIR), "--out", str(out),
        "--domain", "domain",
    )
    assert result.returncode == 0, result.stderr[-4000:]
    report = json.loads((out / "intent_report.json").read_text())
    accuracy, macro_f1 = report["accuracy"], report["macro avg"]["f1-score"]
    print(f"\nNLU evaluation split: accuracy={accuracy:.4f} macro_f1={macro_f1:.4f}")
    assert accuracy >= TARGET_ACCURACY
