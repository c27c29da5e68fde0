"""Export: which messages are picked, redacted, deduplicated and grouped, on hand-built stores."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from mnemonic import Mnemonic
from rasa.shared.nlu.training_data.loading import load_data

from support_bot.cli import main
from support_bot.common.label_file import UNLABELLED
from support_bot.common.nlu_yaml import parse_nlu
from support_bot.common.project import Project
from support_bot.common.window import make_window
from support_bot.export.command import ExportOptions, run_export
from tests.maintainers.helpers import T0, HandoffDB, TrackerDB

SWAP = "the thing where you trade one coin for another is broken"
SWAP_RANKING = [
    ("nlu_fallback", 0.3),
    ("swap_failed", 0.22),
    ("app_malfunction", 0.15),
    ("transfer_failed", 0.1),
]
UNSURE = "提币好像卡住了又好像失败了"
UNSURE_RANKING = [
    ("withdrawal_failed", 0.41),
    ("transaction_pending", 0.33),
    ("transfer_failed", 0.10),
    ("swap_failed", 0.05),
]
STAKING = "这周的质押收益怎么少了一半"
LOST_1 = "asdf my coins r gone??"
LOST_2 = "where did they go"


def _export(
    project: Project, tracker: TrackerDB, handoff_url: str, out: Path, threshold: float = 0.5
) -> str:
    options = ExportOptions(
        project=project,
        window=make_window("2026-11-01", "2026-11-30"),
        tracker_url=tracker.url,
        handoff_url=handoff_url,
        out=out,
        confidence_below=threshold,
    )
    run_export(options, say=lambda _line: None)
    return out.read_text(encoding="utf-8")


def _examples(path: Path) -> dict[str, str]:
    """text -> intent, as Rasa reads the exported file."""
    data = load_data(str(path))
    return {m.get("text"): m.get("intent") for m in data.intent_examples}


def _comment_before(text: str, example: str) -> str:
    lines = text.splitlines()
    index = lines.index(f"    - {example}")
    assert lines[index - 1] == "  examples: |" and lines[index - 2].startswith("- intent: ")
    return lines[index - 3]


def _build_conversations(tracker: TrackerDB, handoff: HandoffDB) -> None:
    # A fallback, and a greeting that was understood.
    tracker.user("a", SWAP, "nlu_fallback", SWAP_RANKING)
    tracker.bot_turn("a", "utter_default")
    tracker.user("a", "hi", "greet", [("greet", 0.97)])
    # Low confidence, above the fallback threshold.
    tracker.user("b", UNSURE, "withdrawal_failed", UNSURE_RANKING)
    tracker.bot_turn("b", "utter_faq_withdrawal_failed", "utter_ask_solved")
    tracker.user("b", "/affirm", "affirm", [("affirm", 1.0)])
    # While an agent has the chat, messages are relayed to the ticket: not for the NLU.
    tracker.slot("b", "handoff_active", True)
    tracker.user("b", "ok i will wait for the agent", "affirm", [("affirm", 0.31)])
    tracker.slot("b", "handoff_active", False)
    # Self-help that did not help: the problem message is exported, not the "no".
    tracker.user("c", STAKING, "staking_issue", [("staking_issue", 0.93), ("fee_inquiry", 0.02)])
    tracker.bot_turn("c", "utter_faq_staking_issue", "utter_ask_solved")
    tracker.user("c", "没有用", "deny", [("deny", 0.98)])
    tracker.bot_turn("c", "utter_offer_ticket")
    # Two fallbacks, a human, then the ticket form (its answers are not exported).
    tracker.user("d", LOST_1, "nlu_fallback", [("nlu_fallback", 0.3), ("transaction_missing", 0.2)])
    tracker.bot_turn("d", "utter_default")
    tracker.user("d", LOST_2, "transaction_missing", [("transaction_missing", 0.55)])
    tracker.bot_turn("d", "utter_fallback_twice")
    tracker.user("d", "转人工", "request_human", [("request_human", 0.99)])
    tracker.action("d", "action_start_ticket")
    tracker.active_loop("d", "ticket_form")
    tracker.action("d", "action_listen")
    tracker.user("d", "alice@example.com", "nlu_fallback", [("nlu_fallback", 0.3), ("greet", 0.1)])
    tracker.active_loop("d", None)
    created = tracker.clock + timedelta(seconds=5)
    handoff.ticket("d", reason="fallback", created_at=created)
    # What must never be exported.
    tracker.service("e", "agent_message")
    tracker.service("e", "ticket_resolved")
    tracker.user("e", '/rate{"csat": 2}', "rate", [("rate", 0.2)])
    tracker.user("e", "   ", "nlu_fallback", [("nlu_fallback", 0.3), ("greet", 0.1)])
    # The same message again, written differently: one example, seen three times.
    tracker.user(
        "f",
        "The thing where you trade one coin for another is BROKEN!!",
        "nlu_fallback",
        SWAP_RANKING,
    )
    tracker.user(
        "g",
        "the thing  where you trade one coin for another is broken",
        "app_malfunction",
        [("app_malfunction", 0.35), ("swap_failed", 0.3)],
    )
    # Outside the window.
    tracker.at(T0 - timedelta(days=30)).user(
        "h", "old and forgotten", "nlu_fallback", [("nlu_fallback", 0.3), ("greet", 0.2)]
    )


def test_export_picks_each_kind_of_bad_handling_and_nothing_else(
    project: Project, tracker_db: TrackerDB, handoff_db: HandoffDB, tmp_path: Path
) -> None:
    _build_conversations(tracker_db, handoff_db)
    out = tmp_path / "to_label.yml"
    text = _export(project, tracker_db, handoff_db.url, out)

    assert _examples(out) == {
        SWAP: "swap_failed",  # ranking[1] under a fallback
        UNSURE: "withdrawal_failed",
        STAKING: "staking_issue",
        LOST_1: "transaction_missing",
        LOST_2: "transaction_missing",
    }
    assert _comment_before(text, SWAP) == (
        "# top-3: swap_failed 0.22, app_malfunction 0.15, transfer_failed 0.10 "
        "(reason: nlu_fallback, low_confidence; seen 3 times)"
    )
    assert _comment_before(text, UNSURE) == (
        "# top-3: withdrawal_failed 0.41, transaction_pending 0.33, transfer_failed 0.10 "
        "(reason: low_confidence)"
    )
    assert _comment_before(text, STAKING).endswith("(reason: self_help_failed)")
    assert _comment_before(text, LOST_1).endswith("(reason: nlu_fallback, fallback_escalation)")
    assert _comment_before(text, LOST_2).endswith("(reason: fallback_escalation)")
    for absent in (
        "hi",
        "没有用",
        "转人工",
        "alice@example.com",
        "EXTERNAL",
        "/rate",
        "old and forgotten",
        "ok i will wait for the agent",
    ):
        assert absent not in _examples(out)
    assert "alice@example.com" not in text


def test_export_groups_by_best_guess_biggest_group_first(
    project: Project, tracker_db: TrackerDB, handoff_db: HandoffDB, tmp_path: Path
) -> None:
    _build_conversations(tracker_db, handoff_db)
    text = _export(project, tracker_db, handoff_db.url, tmp_path / "to_label.yml")
    headers = re.findall(r"^# ===== best guess: (\w+) \((\d+) examples?\) =====$", text, re.M)
    assert headers == [
        ("transaction_missing", "2"),
        ("staking_issue", "1"),
        ("swap_failed", "1"),
        ("withdrawal_failed", "1"),
    ]
    # One "- intent:" block per example, each with its comment right above.
    document = parse_nlu(text, "to_label.yml")
    assert [len(block.examples) for block in document.intents] == [1] * 5
    lines = text.splitlines()
    for block in document.intents:
        assert lines[block.line - 2].startswith("# top-3: ")


def test_export_redacts_again_and_drops_secrets(
    project: Project, tracker_db: TrackerDB, tmp_path: Path
) -> None:
    phrase = Mnemonic("english").generate(128)
    tracker_db.user(
        "s",
        f"is this right {phrase} please check",
        "nlu_fallback",
        [("nlu_fallback", 0.3), ("phishing_report", 0.2)],
    )
    tracker_db.user(
        "s",
        "I typed [redacted seed phrase] into a site",
        "nlu_fallback",
        [("nlu_fallback", 0.3), ("phishing_report", 0.25)],
    )
    tracker_db.user(
        "s",
        "my stuff is gone",
        "nlu_fallback",
        [("nlu_fallback", 0.3), ("transaction_missing", 0.09)],
    )
    out = tmp_path / "to_label.yml"
    text = _export(project, tracker_db, "sqlite:///" + str(tmp_path / "absent.db"), out)
    assert _examples(out) == {"my stuff is gone": "transaction_missing"}
    assert phrase not in text
    assert " ".join(phrase.split()[:4]) not in text
    assert "redacted" not in text


def test_export_skips_known_examples_and_marks_messages_without_a_guess(
    project: Project, tracker_db: TrackerDB, tmp_path: Path
) -> None:
    training = "my transaction has been pending for 2 hours"  # in data/nlu/transactions.yml
    evaluation = "sent eth 5 hours ago and it's still unconfirmed"  # in tests/nlu_eval
    tracker_db.user(
        "k", training.upper() + "!", "transaction_pending", [("transaction_pending", 0.45)]
    )
    tracker_db.user(
        "k", evaluation, "nlu_fallback", [("nlu_fallback", 0.3), ("transaction_pending", 0.2)]
    )
    tracker_db.user("k", "???? qwerty zxcv", None, [])
    out = tmp_path / "to_label.yml"
    text = _export(project, tracker_db, "sqlite:///" + str(tmp_path / "absent.db"), out)
    assert _examples(out) == {"???? qwerty zxcv": UNLABELLED}
    assert "# ===== best guess: label_me (1 example) =====" in text
    assert "# top-3: none (reason: low_confidence)" in text


def test_export_threshold_is_an_option(
    project: Project, tracker_db: TrackerDB, tmp_path: Path
) -> None:
    tracker_db.user("t", UNSURE, "withdrawal_failed", UNSURE_RANKING)
    out = tmp_path / "to_label.yml"
    _export(project, tracker_db, "sqlite:///" + str(tmp_path / "absent.db"), out, threshold=0.4)
    assert _examples(out) == {}
    assert "nlu: []" in out.read_text(encoding="utf-8")


def test_export_command_line_prints_counts(
    project: Project,
    tracker_db: TrackerDB,
    handoff_db: HandoffDB,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _build_conversations(tracker_db, handoff_db)
    out = tmp_path / "labels" / "to_label.yml"
    code = main(
        [
            "export",
            "--since",
            "2026-11-01",
            "--until",
            "2026-11-30",
            "--tracker-url",
            tracker_db.url,
            "--handoff-url",
            handoff_db.url,
            "--out",
            str(out),
            "--project-dir",
            str(project.root),
        ]
    )
    printed = capsys.readouterr().out
    assert code == 0
    assert "1 tickets escalated after fallbacks in the window" in printed
    assert re.search(r"nlu_fallback\s+2\n", printed)
    assert re.search(r"low_confidence\s+2\n", printed)
    assert re.search(r"self_help_failed\s+1\n", printed)
    assert re.search(r"fallback_escalation\s+2\n", printed)
    assert re.search(r"transaction_missing\s+2\n", printed)
    assert "dropped 2: duplicate of another exported message" in printed


def test_export_without_a_tracker_store_is_an_error(
    project: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "export",
            "--since",
            "2026-11-01",
            "--tracker-url",
            f"sqlite:///{tmp_path / 'no.db'}",
            "--out",
            str(tmp_path / "x.yml"),
            "--project-dir",
            str(project.root),
        ]
    )
    assert code == 2
    assert "no tracker store" in capsys.readouterr().err
