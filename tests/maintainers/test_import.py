"""Import: labelled examples land in the right topic file, or nothing is written at all."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from mnemonic import Mnemonic
from rasa.shared.nlu.training_data.loading import load_data

from support_bot.cli import main
from support_bot.common.project import Project

HEADER = 'version: "3.1"\nnlu:\n'
NEW_MISSING = "my swap from yesterday vanished from the activity tab"
NEW_STAKING = "这周的质押收益怎么少了一半"


def _block(intent: str, text: str, comment: str = "# top-3: x 0.10 (reason: nlu_fallback)") -> str:
    return f"\n{comment}\n- intent: {intent}\n  examples: |\n    - {text}\n"


def _label_file(tmp_path: Path, *blocks: str) -> Path:
    path = tmp_path / "to_label.yml"
    path.write_text(HEADER + "".join(blocks), encoding="utf-8")
    return path


def _line_of(path: Path, text: str) -> int:
    return path.read_text(encoding="utf-8").splitlines().index(f"    - {text}") + 1


def _fingerprint(project: Project) -> dict[str, str]:
    return {
        str(p.relative_to(project.root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(project.root.rglob("*.yml"))
    }


def _run(project: Project, path: Path, *extra: str) -> int:
    return main(["import", str(path), "--project-dir", str(project.root), *extra])


def _refused(project: Project, path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    before = _fingerprint(project)
    code = _run(project, path)
    output = capsys.readouterr().out
    assert code == 1, output
    assert "REFUSED" in output and "nothing was written" in output
    assert _fingerprint(project) == before
    return output


def test_import_appends_inside_the_intents_own_block(
    project: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assets = project.nlu_dir / "assets.yml"
    transactions = project.nlu_dir / "transactions.yml"
    old_assets = assets.read_text(encoding="utf-8").splitlines()
    untouched = {p.name: p.read_bytes() for p in project.nlu_dir.glob("*.yml")}
    path = _label_file(
        tmp_path,
        _block("transaction_missing", NEW_MISSING),
        _block("staking_issue", NEW_STAKING),
    )
    assert _run(project, path) == 0
    output = capsys.readouterr().out
    assert "data/nlu/assets.yml: adding 1 examples" in output
    assert "data/nlu/transactions.yml: adding 1 examples" in output

    new_assets = assets.read_text(encoding="utf-8").splitlines()
    assert len(new_assets) == len(old_assets) + 1
    added_at = new_assets.index(f"    - {NEW_MISSING}")
    # Right after the last example of transaction_missing, before the next intent block.
    assert old_assets[:added_at] == new_assets[:added_at]
    assert old_assets[added_at:] == new_assets[added_at + 1 :]
    assert new_assets[added_at + 1].startswith("- intent: ")
    assert "intent: transaction_missing" in "\n".join(new_assets[:added_at])

    examples = {
        m.get("text"): m.get("intent") for m in load_data(str(project.nlu_dir)).intent_examples
    }
    assert examples[NEW_MISSING] == "transaction_missing"
    assert examples[NEW_STAKING] == "staking_issue"
    for name, content in untouched.items():
        if name not in (assets.name, transactions.name):
            assert (project.nlu_dir / name).read_bytes() == content


def test_dry_run_shows_the_additions_and_writes_nothing(
    project: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _fingerprint(project)
    path = _label_file(tmp_path, _block("transaction_missing", NEW_MISSING))
    assert _run(project, path, "--dry-run") == 0
    output = capsys.readouterr().out
    assert "data/nlu/assets.yml: would add 1 examples" in output
    assert f"+ transaction_missing: {NEW_MISSING}  (line {_line_of(path, NEW_MISSING)})" in output
    assert _fingerprint(project) == before


def test_unknown_intent_is_refused_with_its_line(
    project: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _label_file(
        tmp_path,
        _block("transaction_missing", NEW_MISSING),
        _block("transaction_lost", "the transfer is not in my history anymore"),
    )
    output = _refused(project, path, capsys)
    line = _line_of(path, "the transfer is not in my history anymore")
    assert f"to_label.yml:{line}: unknown intent 'transaction_lost'" in output
    assert output.count("to_label.yml:") == 1  # the good line is not refused


def test_intent_without_training_file_is_refused(
    project: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _label_file(tmp_path, _block("agent_message", "hello from the agent"))
    output = _refused(project, path, capsys)
    assert (
        f"to_label.yml:{_line_of(path, 'hello from the agent')}: intent 'agent_message' "
        "has no examples in data/nlu" in output
    )


def test_duplicate_of_a_training_example_is_refused(
    project: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # data/nlu/transactions.yml has "my transaction has been pending for 2 hours".
    text = "My transaction has been PENDING for 2 hours!!"
    path = _label_file(tmp_path, _block("transaction_pending", text))
    output = _refused(project, path, capsys)
    assert (
        f"to_label.yml:{_line_of(path, text)}: duplicate of a training example of "
        "'transaction_pending' (data/nlu/transactions.yml line" in output
    )


def test_duplicate_inside_the_file_is_refused(
    project: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _label_file(
        tmp_path,
        _block("transaction_missing", NEW_MISSING),
        _block("transaction_missing", NEW_MISSING.upper() + " ?"),
    )
    first = _line_of(path, NEW_MISSING)
    second = _line_of(path, NEW_MISSING.upper() + " ?")
    output = _refused(project, path, capsys)
    assert f"to_label.yml:{second}: duplicate of line {first} of this file" in output


def test_example_of_the_evaluation_split_is_refused(
    project: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = "sent eth 5 hours ago and it's still unconfirmed"  # tests/nlu_eval/transactions.yml
    path = _label_file(tmp_path, _block("transaction_pending", text))
    output = _refused(project, path, capsys)
    assert (
        f"to_label.yml:{_line_of(path, text)}: is in the evaluation split "
        "(tests/nlu_eval/transactions.yml line" in output
    )


@pytest.mark.parametrize(
    ("intent_line", "reason"),
    [
        ("- intent: label_me", "not labelled: the intent is still 'label_me'"),
        ("- intent:", "not labelled: the intent name is empty"),
    ],
)
def test_unlabelled_examples_are_refused(
    project: Project,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    intent_line: str,
    reason: str,
) -> None:
    path = tmp_path / "to_label.yml"
    path.write_text(
        HEADER + f"# top-3: none (reason: low_confidence)\n{intent_line}\n  examples: |\n"
        "    - qwerty zxcv\n",
        encoding="utf-8",
    )
    output = _refused(project, path, capsys)
    assert f"to_label.yml:{_line_of(path, 'qwerty zxcv')}: {reason}" in output


def test_examples_with_a_secret_or_a_placeholder_are_refused(
    project: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    phrase = Mnemonic("english").generate(128)
    with_secret = f"someone asked me for {phrase} is that ok"
    with_placeholder = "a site asked for my [redacted seed phrase] yesterday"
    path = _label_file(
        tmp_path,
        _block("phishing_report", with_secret),
        _block("phishing_report", with_placeholder),
    )
    output = _refused(project, path, capsys)
    assert (
        f"to_label.yml:{_line_of(path, with_secret)}: still contains a secret "
        "(seed phrase)" in output
    )
    assert (
        f"to_label.yml:{_line_of(path, with_placeholder)}: contains a redaction "
        "placeholder" in output
    )
    words = phrase.split()
    assert not any(" ".join(words[i : i + 2]) in output for i in range(len(words) - 1))
    assert "[redacted seed phrase]" in output


def test_one_bad_line_among_good_ones_blocks_the_whole_import(
    project: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _label_file(
        tmp_path,
        _block("transaction_missing", NEW_MISSING),
        _block("staking_issue", NEW_STAKING),
        _block("label_me", "qwerty zxcv"),
    )
    output = _refused(project, path, capsys)
    assert "1 lines cannot be imported" in output


def test_a_file_that_is_not_yaml_is_an_error(
    project: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "to_label.yml"
    path.write_text("nlu:\n- intent: [oops\n", encoding="utf-8")
    before = _fingerprint(project)
    assert _run(project, path) == 2
    assert "is not valid YAML" in capsys.readouterr().err
    assert _fingerprint(project) == before


def test_deleted_example_lines_are_simply_not_imported(
    project: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "to_label.yml"
    path.write_text(
        HEADER
        + "# top-3: x 0.2 (reason: nlu_fallback)\n- intent: greet\n  examples: |\n"
        + _block("transaction_missing", NEW_MISSING),
        encoding="utf-8",
    )
    assert _run(project, path) == 0
    assert "added 1 examples to 1 files" in capsys.readouterr().out
