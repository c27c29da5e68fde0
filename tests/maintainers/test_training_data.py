"""Reading NLU YAML with line numbers, and appending to a topic file without reformatting it."""

from __future__ import annotations

from pathlib import Path

import pytest

from support_bot.common.errors import TrainingDataError
from support_bot.common.nlu_yaml import parse_nlu
from support_bot.common.textnorm import normalise
from support_bot.common.training_data import domain_intents
from support_bot.label_import.topic_files import append_examples

TOPIC = """\
version: "3.1"
nlu:
# Withdrawals first.
- intent: withdrawal_failed
  examples: |
    - 提币失败了
    - my withdrawal failed

- intent: "deposit_not_received"
  examples: |
      - 充值没到账
- synonym: USDT
  examples: |
    - U"""


def test_lines_of_examples_are_the_lines_in_the_file() -> None:
    document = parse_nlu(TOPIC, "topic.yml")
    lines = TOPIC.splitlines()
    for block in document.intents:
        assert lines[block.line - 1].lstrip("- ").startswith("intent:")
        for example in block.examples:
            assert lines[example.line - 1].strip() == f"- {example.text}"
    assert [o.kind for o in document.others] == ["synonym"]


def test_append_keeps_every_other_line_and_the_blocks_indentation() -> None:
    updated = append_examples(TOPIC, "withdrawal_failed", ["提币一直在审核中"], "topic.yml")
    assert updated.splitlines() == [
        *TOPIC.splitlines()[:7],
        "    - 提币一直在审核中",
        *TOPIC.splitlines()[7:],
    ]
    quoted = append_examples(TOPIC, "deposit_not_received", ["存的币没看到"], "topic.yml")
    assert "      - 充值没到账\n      - 存的币没看到\n- synonym: USDT" in quoted


def test_append_at_the_end_of_a_file_without_final_newline() -> None:
    text = 'version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - hi'
    assert append_examples(text, "greet", ["yo"], "t.yml").endswith("    - hi\n    - yo\n")


def test_append_to_a_missing_intent_is_an_error() -> None:
    with pytest.raises(TrainingDataError, match="no `- intent: goodbye` line"):
        append_examples(TOPIC, "goodbye", ["bye"], "topic.yml")


def test_normal_form_ignores_case_width_punctuation_and_spacing() -> None:
    assert normalise("  Withdrawal   FAILED!!") == normalise("withdrawal failed")
    assert normalise("交易，卡住了。") == normalise("交易卡住了")
    assert normalise("ＵＳＤＴ到账了吗？") == normalise("usdt到账了吗")


def test_domain_intents_accept_names_and_mappings(tmp_path: Path) -> None:
    domain = tmp_path / "domain.yml"
    domain.write_text("intents:\n  - greet\n  - rate:\n      use_entities: [csat]\n")
    assert domain_intents(domain) == frozenset({"greet", "rate"})
