"""Report: exact numbers on a known set of conversations and tickets."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from fractions import Fraction
from pathlib import Path

import pytest

from support_bot.cli import main
from support_bot.common.window import make_window
from support_bot.report.command import ReportOptions, run_report
from support_bot.report.metrics import Durations, ReportData, percentile
from tests.maintainers.helpers import HandoffDB, TrackerDB

DAY = datetime(2026, 11, 10, 8, 0, tzinfo=timezone.utc)
CHARTS = {
    "containment_fallback.png",
    "escalations_by_reason.png",
    "top_intents.png",
    "tickets_by_category_priority.png",
    "response_times.png",
    "csat.png",
}


def _build(tracker: TrackerDB, handoff: HandoffDB) -> None:
    tracker.at(DAY)
    # zh-1: self-help did not help -> ticket, rated 5.
    tracker.slot("zh-1", "language", "zh")
    tracker.user("zh-1", "充值一直没到账", "deposit_not_received")
    tracker.user("zh-1", "没有用", "deny")
    tracker.user("zh-1", "/affirm", "affirm")
    tracker.slot("zh-1", "handoff_active", True)
    tracker.service("zh-1", "agent_message")
    tracker.user("zh-1", "好的谢谢，我等着", "thank", [("thank", 0.62)])  # relayed to the agent
    tracker.slot("zh-1", "handoff_active", False)
    handoff.ticket(
        "zh-1",
        reason="self_help_failed",
        category="assets",
        priority="high",
        language="zh",
        created_at=DAY + timedelta(minutes=5),
        first_reply_after=300,
        resolved_after=7200,
        csat=5,
    )
    # zh-2: a drained wallet -> urgent security ticket, rated 4.
    tracker.slot("zh-2", "language", "zh")
    tracker.user("zh-2", "我的钱被盗了", "account_compromised")
    handoff.ticket(
        "zh-2",
        reason="security",
        category="security",
        priority="urgent",
        language="zh",
        created_at=DAY + timedelta(minutes=6),
        first_reply_after=60,
        resolved_after=1800,
        csat=4,
    )
    # zh-3: no language slot stored; detected from the text. Contained.
    tracker.user("zh-3", "随便问问", "nlu_fallback", [("nlu_fallback", 0.3), ("greet", 0.2)])
    tracker.user("zh-3", "今天天气", "out_of_scope")
    # en-1: contained.
    tracker.slot("en-1", "language", "en")
    tracker.user("en-1", "hi", "greet")
    tracker.user("en-1", "my withdrawal failed", "withdrawal_failed")
    tracker.user("en-1", "yes", "affirm")
    # en-2: switched from zh to en (the last slot value wins); asked for a human.
    tracker.slot("en-2", "language", "zh")
    tracker.user("en-2", "你好", "greet")
    tracker.slot("en-2", "language", "en")
    tracker.user("en-2", "talk to a human", "request_human")
    handoff.ticket(
        "en-2",
        reason="requested_human",
        language="en",
        created_at=DAY + timedelta(minutes=7),
        first_reply_after=600,
    )
    # en-3: two fallbacks -> ticket, rated 2.
    tracker.slot("en-3", "language", "en")
    tracker.user("en-3", "blah", "nlu_fallback", [("nlu_fallback", 0.3), ("greet", 0.1)])
    tracker.user("en-3", "blah blah", "nlu_fallback", [("nlu_fallback", 0.3), ("greet", 0.1)])
    tracker.user("en-3", "yes", "affirm")
    tracker.active_loop("en-3", "ticket_form")
    tracker.user("en-3", "skip", "nlu_fallback", [("nlu_fallback", 0.3), ("deny", 0.2)])
    tracker.active_loop("en-3", None)
    handoff.ticket(
        "en-3",
        reason="fallback",
        language="en",
        created_at=DAY + timedelta(minutes=8),
        first_reply_after=120,
        resolved_after=3600,
        csat=2,
    )
    # Only service events: not a conversation.
    tracker.service("svc", "ticket_resolved")
    # A ticket whose conversation the tracker store does not hold (language from the ticket).
    handoff.ticket(
        "ghost",
        reason="requested_human",
        category="account",
        priority="high",
        language="en",
        created_at=DAY + timedelta(minutes=9),
        first_reply_after=900,
        resolved_after=5400,
        csat=3,
    )
    # Outside the window: neither the conversation nor the ticket count.
    tracker.at(DAY - timedelta(days=20)).user("old", "hello", "greet")
    handoff.ticket(
        "old",
        reason="fallback",
        created_at=DAY - timedelta(days=20),
        first_reply_after=1,
        resolved_after=2,
        csat=1,
    )


def _report(tracker: TrackerDB, handoff_url: str, out: Path) -> tuple[ReportData, Path]:
    options = ReportOptions(
        window=make_window("2026-11-01", "2026-11-30"),
        tracker_url=tracker.url,
        handoff_url=handoff_url,
        out=out,
    )
    return run_report(options, say=lambda _line: None)


def test_percentiles_interpolate_linearly() -> None:
    assert percentile([60, 120, 300, 600, 900], 50) == 300
    assert percentile([60, 120, 300, 600, 900], 90) == 780
    assert percentile([1800, 3600, 5400, 7200], 50) == 4500
    assert percentile([42], 90) == 42


def test_report_numbers_are_exact(
    tracker_db: TrackerDB, handoff_db: HandoffDB, tmp_path: Path
) -> None:
    _build(tracker_db, handoff_db)
    data, _ = _report(tracker_db, handoff_db.url, tmp_path / "report")
    everything, zh, en = data.all, data.by_language["zh"], data.by_language["en"]

    assert (everything.conversations, zh.conversations, en.conversations) == (6, 3, 3)
    assert (
        everything.escalated_conversations,
        zh.escalated_conversations,
        en.escalated_conversations,
    ) == (4, 2, 2)
    assert (everything.containment, zh.containment, en.containment) == (
        Fraction(2, 6),
        Fraction(1, 3),
        Fraction(1, 3),
    )
    assert (everything.user_messages, zh.user_messages, en.user_messages) == (16, 7, 9)
    assert (everything.typed_messages, zh.typed_messages, en.typed_messages) == (15, 6, 9)
    assert (everything.fallback_rate, zh.fallback_rate, en.fallback_rate) == (
        Fraction(4, 15),
        Fraction(1, 6),
        Fraction(3, 9),
    )
    # The form answer "skip" (en-3) and the message relayed to the agent (zh-1).
    assert (everything.outside_nlu, zh.outside_nlu, en.outside_nlu) == (2, 1, 1)
    assert (
        everything.dialogue_fallback_rate,
        zh.dialogue_fallback_rate,
        en.dialogue_fallback_rate,
    ) == (Fraction(3, 13), Fraction(1, 5), Fraction(2, 8))
    assert everything.top_intents() == [
        ("nlu_fallback", 4),
        ("affirm", 2),
        ("greet", 2),
        ("account_compromised", 1),
        ("deny", 1),
        ("deposit_not_received", 1),
        ("out_of_scope", 1),
        ("request_human", 1),
        ("thank", 1),
        ("withdrawal_failed", 1),
    ]
    assert en.top_intents(3) == [("nlu_fallback", 3), ("affirm", 2), ("greet", 2)]

    assert (everything.tickets, zh.tickets, en.tickets) == (5, 2, 3)
    assert everything.escalations == {
        "requested_human": 2,
        "self_help_failed": 1,
        "fallback": 1,
        "security": 1,
    }
    assert zh.escalations == {
        "requested_human": 0,
        "self_help_failed": 1,
        "fallback": 0,
        "security": 1,
    }
    assert en.escalations == {
        "requested_human": 2,
        "self_help_failed": 0,
        "fallback": 1,
        "security": 0,
    }
    assert everything.by_category_priority == {
        ("assets", "high"): 1,
        ("security", "urgent"): 1,
        ("technical", "normal"): 2,
        ("account", "high"): 1,
    }

    assert everything.first_response == Durations(5, 300, 780)
    assert zh.first_response == Durations(2, 180, 276)
    assert en.first_response == Durations(3, 600, 840)
    assert everything.resolution == Durations(4, 4500, 6660)
    assert zh.resolution == Durations(2, 4500, 6660)
    assert en.resolution == Durations(2, 4500, 5220)

    assert (everything.csat.n, everything.csat.average) == (4, Fraction(7, 2))
    assert everything.csat.distribution == {1: 0, 2: 1, 3: 1, 4: 1, 5: 1}
    assert (zh.csat.average, en.csat.average) == (Fraction(9, 2), Fraction(5, 2))


def test_report_markdown_and_charts(
    tracker_db: TrackerDB, handoff_db: HandoffDB, tmp_path: Path
) -> None:
    _build(tracker_db, handoff_db)
    _, path = _report(tracker_db, handoff_db.url, tmp_path / "report")
    text = path.read_text(encoding="utf-8")
    assert "| conversations | 6 | 3 | 3 |" in text
    assert "| containment (no ticket) | 2/6 (33.3%) | 1/3 (33.3%) | 1/3 (33.3%) |" in text
    assert "| fallback rate | 4/15 (26.7%) | 1/6 (16.7%) | 3/9 (33.3%) |" in text
    assert (
        "| fallback rate outside forms and handoffs | 3/13 (23.1%) | 1/5 (20.0%) | 2/8 (25.0%) |"
        in text
    )
    assert "| first response p50 | 0:05:00 | 0:03:00 | 0:10:00 |" in text
    assert "| resolution p90 | 1:51:00 | 1:51:00 | 1:27:00 |" in text
    assert "| CSAT average (1-5) | 3.50 (n=4) | 4.50 (n=2) | 2.50 (n=2) |" in text
    assert "| requested_human | 2 | 0 | 2 |" in text
    assert "| technical | 0 | 0 | 2 | 2 |" in text
    assert "| all | 4 | 3.50 | 0 | 1 | 1 | 1 | 1 |" in text
    assert {p.name for p in path.parent.glob("*.png")} == CHARTS
    for chart in CHARTS:
        assert (path.parent / chart).read_bytes().startswith(b"\x89PNG")
        assert f"![{chart}]({chart})" in text


def test_report_is_reproducible(
    tracker_db: TrackerDB, handoff_db: HandoffDB, tmp_path: Path
) -> None:
    _build(tracker_db, handoff_db)
    first, _ = _report(tracker_db, handoff_db.url, tmp_path / "one")
    second, _ = _report(tracker_db, handoff_db.url, tmp_path / "two")
    assert first == second


def test_report_without_handoff_database_says_so(
    tracker_db: TrackerDB, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tracker_db.at(DAY).user("en-1", "hi", "greet")
    out = tmp_path / "report"
    code = main(
        [
            "report",
            "--since",
            "2026-11-01",
            "--until",
            "2026-11-30",
            "--tracker-url",
            tracker_db.url,
            "--handoff-url",
            f"sqlite:///{tmp_path / 'none.db'}",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    assert "ticket numbers will be n/a" in capsys.readouterr().out
    text = (out / "report.md").read_text(encoding="utf-8")
    assert "| conversations | 1 | 0 | 1 |" in text
    assert "| containment (no ticket) | n/a | n/a | n/a |" in text
