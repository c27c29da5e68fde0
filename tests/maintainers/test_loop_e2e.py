"""The whole maintainers' loop with real processes, in a copy of the project.

Rasa and the action server answer real messages the current model does not
understand; they are exported, labelled, imported, a candidate is trained
and promoted, and the running server is told to load it. A damaged training
set is then trained and kept out. Two trainings in all.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest
import requests

from devtools.stack import Stack, running_stack
from support_bot.cli import EXIT_KEPT, EXIT_OK, main
from support_bot.common.nlu_yaml import parse_nlu
from support_bot.common.project import Project
from tests.conftest import new_sender
from tests.maintainers.conftest import copy_project

pytestmark = pytest.mark.integration

# Legitimate but unusual phrasings, with the intent a maintainer gives them. The
# promoted model sends several of them to nlu_fallback or scores them low (found by
# trying them on it); the test uses whichever of them the running model gets wrong,
# so a retrained model in the repository does not break it.
CANDIDATES = {
    "the thing where you trade one coin for another is broken": "swap_failed",
    "兑币老是转圈然后没反应": "swap_failed",
    "有人假装客服加我微信": "phishing_report",
    "我往里打的钱不见了": "deposit_not_received",
    "存进去的U没显示": "deposit_not_received",
    "往钱包里存的币去哪了": "deposit_not_received",
    "my put-in money never showed up": "deposit_not_received",
    "i put money in yesterday and the wallet still shows zero": "deposit_not_received",
    "收益那块这几天都是零": "staking_issue",
    "锁仓的币取不出来": "staking_issue",
    "the interest thing isn't paying me anymore": "staking_issue",
}
MIN_MISSED = 3
CONFIDENCE_BELOW = 0.5
# Both trainings use this tolerance. Training is deterministic, but any change to the
# data re-rolls DIET's training: adding 3-4 examples moved the evaluation accuracy by
# -2.0 and +0.7 points in two measured runs. The good candidate must not fail on that
# swing, and the damaged set below loses about 12 points.
TOLERANCE = "0.04"
# Intents whose examples trade places in the damaged training set (all in assets.yml).
SWAPPED = (
    ("deposit_not_received", "withdrawal_failed"),
    ("balance_mismatch", "transaction_missing"),
)


@pytest.fixture(scope="module")
def loop_project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """Config, domain, data, evaluation split and the current model, copied."""
    return copy_project(tmp_path_factory.mktemp("loop") / "project", models=True)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _parse(stack: Stack, text: str) -> dict:
    response = requests.post(
        f"{stack.rasa_url}/model/parse",
        params={"token": stack.auth_token},
        json={"text": text},
        timeout=30,
    )
    response.raise_for_status()
    return response.json()


def _label(path: Path, labels: dict[str, str]) -> None:
    """What a maintainer does: fix the intent names, delete the examples not wanted."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    drop: set[int] = set()
    document = parse_nlu("".join(lines), str(path))
    for block in document.intents:
        for example in block.examples:
            if example.text in labels:
                lines[block.line - 1] = f"- intent: {labels[example.text]}\n"
            else:
                drop.add(example.line - 1)
    path.write_text(
        "".join(line for index, line in enumerate(lines) if index not in drop), encoding="utf-8"
    )


def test_fallback_messages_are_labelled_imported_retrained_and_promoted(
    loop_project: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = loop_project
    original = _sha(project.current_model)
    label_file = tmp_path / "to_label.yml"
    with running_stack(tmp_path / "stack", project.current_model) as stack:
        missed: dict[str, str] = {}
        for text, intent in CANDIDATES.items():
            stack.send(new_sender(), text)
            parsed = _parse(stack, text)["intent"]
            if parsed["name"] == "nlu_fallback" or parsed["confidence"] < CONFIDENCE_BELOW:
                missed[text] = intent
        assert len(missed) >= MIN_MISSED, "the model understands the test phrasings too well"

        today = datetime.now(timezone.utc).date().isoformat()
        assert (
            main(
                [
                    "export",
                    "--since",
                    today,
                    "--tracker-url",
                    stack.tracker_store_url,
                    "--handoff-url",
                    str(stack.handoff_database_url),
                    "--out",
                    str(label_file),
                    "--project-dir",
                    str(project.root),
                ]
            )
            == EXIT_OK
        )
        exported = {
            example.text: block.intent
            for block in parse_nlu(label_file.read_text(encoding="utf-8"), "x").intents
            for example in block.examples
        }
        assert set(missed) <= set(exported)

        _label(label_file, missed)
        assert main(["import", str(label_file), "--project-dir", str(project.root)]) == EXIT_OK
        capsys.readouterr()

        code = main(
            [
                "retrain",
                "--project-dir",
                str(project.root),
                "--tolerance",
                TOLERANCE,
                "--reload-url",
                stack.rasa_url,
                # One argument: a random token may start with "-", which argparse
                # would read as an option.
                f"--token={stack.auth_token}",
            ]
        )
        output = capsys.readouterr().out
        print(output)
        assert code == EXIT_OK, output
        assert "PROMOTED" in output and "the server loaded it" in output
        assert _sha(project.previous_model) == original
        assert _sha(project.current_model) != original
        [candidate] = project.candidates_dir.glob("*.tar.gz")
        assert _sha(candidate) == _sha(project.current_model)
        for text, intent in missed.items():
            parsed = _parse(stack, text)
            assert parsed["intent"]["name"] == intent, (text, parsed["intent_ranking"][:3])
    [report] = project.reports_dir.glob("retrain-*/summary.md")
    assert "| accuracy |" in report.read_text(encoding="utf-8")


def test_a_damaged_training_set_is_not_promoted(
    loop_project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project = loop_project
    current = _sha(project.current_model)
    previous = _sha(project.previous_model) if project.previous_model.exists() else None
    assets = project.nlu_dir / "assets.yml"
    swapped = assets.read_text(encoding="utf-8")
    for first, second in SWAPPED:
        swapped = re.sub(
            rf"^- intent: ({first}|{second})$",
            lambda m, a=first, b=second: f"- intent: {b if m.group(1) == a else a}",
            swapped,
            flags=re.M,
        )
    assert swapped != assets.read_text(encoding="utf-8")
    assets.write_text(swapped, encoding="utf-8")
    capsys.readouterr()

    code = main(["retrain", "--project-dir", str(project.root), "--tolerance", TOLERANCE])
    output = capsys.readouterr().out
    print(output)
    assert code == EXIT_KEPT, output
    assert "KEPT the current model" in output
    assert re.search(r"accuracy \d\.\d{4} -> \d\.\d{4} \(-\d\.\d{4}\): dropped by", output)
    assert _sha(project.current_model) == current
    if previous is not None:
        assert _sha(project.previous_model) == previous


def test_invalid_training_data_stops_before_training(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Rasa 3.6's validator only warns about intents or actions missing from the domain;
    # a file it cannot read at all is an error.
    project = copy_project(tmp_path / "project", models=True)
    current = _sha(project.current_model)
    (project.nlu_dir / "new_topic.yml").write_text(
        'version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - hi\n  - broken: [\n',
        encoding="utf-8",
    )
    code = main(["retrain", "--project-dir", str(project.root)])
    captured = capsys.readouterr()
    assert code == 2, captured.out
    assert "`rasa data validate` failed" in captured.err
    assert "new_topic.yml" in captured.err
    assert not project.candidates_dir.exists()
    assert _sha(project.current_model) == current
