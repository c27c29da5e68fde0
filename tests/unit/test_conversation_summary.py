"""Unit tests for actions.conversation_summary: what an agent learns from the whole chat."""

from __future__ import annotations

import secrets
from datetime import datetime, timezone

import base58
import pytest

from actions.conversation_summary import (
    MAX_TRANSCRIPT,
    build_summary,
    collect_facts,
    intents_seen,
    latest_problem,
    problem_messages,
    self_help_for,
    self_help_given,
    transcript,
    user_turns,
)
from tests.unit.action_helpers import slot_event, user_event, user_turn, utter

TX_HASH = "0x" + secrets.token_hex(32)
TRON = base58.b58encode_check(b"\x41" + secrets.token_bytes(20)).decode()


def withdrawal_chat() -> list[dict]:
    return [
        *user_turn("你好", "greet"),
        *utter("utter_greet", "您好！"),
        *user_turn("昨天晚上9点提了500 USDT，走的TRC20，一直没到账", "withdrawal_failed"),
        *utter("utter_faq_withdrawal_failed", "请先在提币记录里查看状态……"),
        *utter("utter_ask_solved", "这解决您的问题了吗？"),
        *user_turn("没有", "deny"),
        *utter("utter_offer_ticket", "要为您提交工单吗？"),
        *user_turn(f"哈希是 {TX_HASH}，地址 {TRON}", "inform"),
        *user_turn("/affirm", "affirm"),
        slot_event("language", "zh"),
    ]


def test_user_turns_skip_button_payloads_and_service_intents():
    events = [
        user_event("提币失败", "withdrawal_failed"),
        user_event("/affirm", "affirm"),
        user_event("", "nlu_fallback"),
        user_event("客服消息", "agent_message"),
        user_event("EXTERNAL: ticket_resolved", "ticket_resolved"),
        user_event("谢谢", "thank"),
    ]
    assert [e["text"] for e in user_turns(events)] == ["提币失败", "谢谢"]


def test_collect_facts_gathers_every_message_first_mention_first():
    facts = collect_facts(
        [
            *withdrawal_chat(),
            *user_turn("还是那500 USDT，TRC20", "inform"),
        ]
    )
    assert facts["amount"] == ["500 USDT"]
    assert facts["asset"] == ["USDT"]
    assert facts["network"] == ["TRON"]
    assert facts["tx_hash"] == [TX_HASH]
    assert facts["address"] == [TRON]
    assert facts["time"] == ["昨天晚上9点"]
    assert all(values for values in facts.values())


def test_collect_facts_ignores_bot_text_and_payloads():
    events = [
        *utter("utter_faq_deposit_not_received", "请确认 TRC20 网络上的 USDT ……"),
        *user_turn("/inform{\"asset\": \"BTC\"}", "inform"),
    ]
    assert collect_facts(events) == {}


def test_intents_seen_in_order_without_repeats_in_a_row():
    events = [
        *user_turn("hi", "greet"),
        *user_turn("withdrawal failed", "withdrawal_failed"),
        *user_turn("still failed", "withdrawal_failed"),
        *user_turn("no", "deny"),
        *user_turn("withdrawal failed again", "withdrawal_failed"),
        *user_turn("agent text", "agent_message"),
    ]
    assert intents_seen(events) == ["greet", "withdrawal_failed", "deny", "withdrawal_failed"]


def test_latest_problem_is_the_most_recent_problem_intent():
    events = [
        *user_turn("登录不了", "login_failed"),
        *user_turn("还有充值没到账", "deposit_not_received"),
        *user_turn("好的", "affirm"),
    ]
    assert latest_problem(events) == "deposit_not_received"
    assert latest_problem([*user_turn("hi", "greet")]) is None
    assert latest_problem([]) is None


def test_problem_messages_are_what_the_user_said_about_problems():
    events = withdrawal_chat()
    assert problem_messages(events) == ["昨天晚上9点提了500 USDT，走的TRC20，一直没到账"]


def test_self_help_given_lists_faq_answers_once():
    events = [
        *utter("utter_faq_withdrawal_failed"),
        *utter("utter_ask_solved"),
        *utter("utter_faq_withdrawal_failed"),
        *utter("utter_compromised_first_steps"),
        *utter("utter_greet"),
    ]
    assert self_help_given(events) == [
        "utter_faq_withdrawal_failed",
        "utter_compromised_first_steps",
    ]


def test_transcript_has_user_and_bot_lines_with_times():
    events = [
        *user_turn("提币失败", "withdrawal_failed"),
        *utter("utter_faq_withdrawal_failed", "请查看提币记录"),
        *user_turn("客服的话", "agent_message"),
    ]
    lines = transcript(events)
    assert [(line["author"], line["text"]) for line in lines] == [
        ("user", "提币失败"),
        ("bot", "请查看提币记录"),
    ]
    stamp = events[1]["timestamp"]
    assert lines[0]["at"] == datetime.fromtimestamp(stamp, tz=timezone.utc).isoformat()


def test_transcript_keeps_the_last_lines_only():
    events = [user_event(f"message {i}", "inform") for i in range(MAX_TRANSCRIPT + 25)]
    lines = transcript(events)
    assert len(lines) == MAX_TRANSCRIPT
    assert lines[0]["text"] == "message 25"
    assert lines[-1]["text"] == f"message {MAX_TRANSCRIPT + 24}"


def test_build_summary():
    summary = build_summary(withdrawal_chat(), reason="self_help_failed", language="zh")
    assert summary["problem"] == "withdrawal_failed"
    assert summary["escalation_reason"] == "self_help_failed"
    assert summary["language"] == "zh"
    assert summary["self_help_given"] == ["utter_faq_withdrawal_failed"]
    assert summary["intents_seen"] == ["greet", "withdrawal_failed", "deny", "inform", "affirm"]
    assert summary["user_messages"] == 4  # the /affirm button is not something the user wrote
    assert summary["facts"]["tx_hash"] == [TX_HASH]
    assert summary["facts"]["amount"] == ["500 USDT"]


# --------------------------------------------------------------------------- one problem per ticket


@pytest.mark.parametrize(
    ("text", "intent", "problem"),
    [
        ("USDT 提币三个小时了还没到账", "deposit_not_received", "withdrawal_failed"),
        ("I tried to withdraw 500 USDT and it failed", "deposit_not_received",
         "withdrawal_failed"),
        ("充值的 USDT 一直没到账", "withdrawal_failed", "deposit_not_received"),
        ("my deposit never arrived", "withdrawal_failed", "deposit_not_received"),
        # Both words, or neither: the classifier's reading stands.
        ("从交易所提币到钱包，钱包显示充值没到账", "deposit_not_received", "deposit_not_received"),
        ("钱没到账", "withdrawal_failed", "withdrawal_failed"),
        # Other problems are never turned into a direction.
        ("提币页面打不开", "app_malfunction", "app_malfunction"),
    ],
)
def test_latest_problem_follows_the_users_own_words_for_the_direction(text, intent, problem):
    assert latest_problem([*user_turn(text, intent)]) == problem


def mixed_chat() -> list[dict]:
    return [
        *user_turn("登录不了", "login_failed"),
        *utter("utter_faq_login_failed", "请先检查网络……"),
        *user_turn("还有，提币 500 USDT 一直没到账", "withdrawal_failed"),
        *utter("utter_faq_withdrawal_failed", "请先在提币记录里查看状态……"),
        *utter("utter_faq_network_fees", "手续费说明……"),
        *user_turn("没解决", "deny"),
    ]


def test_the_summary_keeps_to_the_tickets_problem():
    summary = build_summary(
        mixed_chat(), reason="self_help_failed", language="zh", problem="withdrawal_failed"
    )
    assert summary["problem"] == "withdrawal_failed"
    assert summary["self_help_given"] == ["utter_faq_withdrawal_failed"]
    assert summary["other_problems"] == ["login_failed"]
    assert summary["other_self_help"] == ["utter_faq_login_failed", "utter_faq_network_fees"]


def test_the_tickets_problem_wins_over_the_latest_one():
    summary = build_summary(
        mixed_chat(), reason="requested_human", language="zh", problem="login_failed"
    )
    assert summary["problem"] == "login_failed"
    assert summary["self_help_given"] == ["utter_faq_login_failed"]
    assert summary["other_problems"] == ["withdrawal_failed"]
    assert summary["other_self_help"] == [
        "utter_faq_withdrawal_failed", "utter_faq_network_fees",
    ]


def test_without_a_problem_given_the_latest_one_is_the_tickets():
    summary = build_summary(mixed_chat(), reason="requested_human", language="zh")
    assert summary["problem"] == "withdrawal_failed"
    assert summary["other_problems"] == ["login_failed"]


def test_a_single_problem_has_no_other_problems_or_answers():
    summary = build_summary(
        withdrawal_chat(), reason="self_help_failed", language="zh", problem="withdrawal_failed"
    )
    assert "other_problems" not in summary
    assert "other_self_help" not in summary


def test_a_thefts_first_steps_are_its_self_help():
    events = [
        *user_turn("钱包被盗了，USDT 全被转走了", "account_compromised"),
        *utter("utter_compromised_first_steps", "请立即……"),
        *utter("utter_faq_withdrawal_failed", "提币说明……"),
    ]
    summary = build_summary(
        events, reason="security", language="zh", problem="account_compromised"
    )
    assert summary["self_help_given"] == ["utter_compromised_first_steps"]
    assert summary["other_self_help"] == ["utter_faq_withdrawal_failed"]
    assert self_help_for("account_compromised") == {
        "utter_faq_account_compromised", "utter_compromised_first_steps",
    }
    assert self_help_for("withdrawal_failed") == {"utter_faq_withdrawal_failed"}
    assert self_help_for(None) == frozenset()


def test_a_misread_direction_is_not_another_problem():
    events = [
        *user_turn("USDT 提币三个小时了还没到账", "deposit_not_received"),
        *utter("utter_faq_deposit_not_received", "充值说明……"),
    ]
    summary = build_summary(events, reason="self_help_failed", language="zh")
    assert summary["problem"] == "withdrawal_failed"
    assert "other_problems" not in summary


@pytest.mark.parametrize(
    "text",
    [
        "提币记录显示“已完成”，但是币安没收到",
        "提币记录显示‘已完成’但没到账",
        "The withdrawal shows \"Completed\" but Binance never got it",
        "它显示「处理中」已经三个小时了",
    ],
)
def test_a_status_the_user_quotes_is_never_the_error_shown(text):
    events = [*user_turn(text, "withdrawal_failed")]
    summary = build_summary(events, reason="requested_human", language="zh")
    assert "error_message" not in summary["facts"]


def test_a_real_error_next_to_a_status_is_kept():
    events = [*user_turn("状态是“已完成”，但转账时提示「余额不足」", "transfer_failed")]
    assert collect_facts(events)["error_message"] == ["余额不足"]


# --------------------------------------------------------------------------- hash answers


def asked(slot: str | None) -> dict:
    return slot_event("requested_slot", slot)


def test_lines_typed_while_the_form_asked_for_the_hash_say_so():
    bare = secrets.token_hex(32)
    events = [
        *user_turn("提币没到账", "withdrawal_failed"),
        asked("ticket_occurred_at"),
        *utter("utter_ask_ticket_occurred_at", "什么时候？"),
        *user_turn("昨天", "inform"),
        asked("ticket_tx_hash"),
        *utter("utter_ask_ticket_tx_hash", "请发交易哈希"),
        *user_turn(bare, "inform"),
        *utter("utter_invalid_tx_hash", "格式不对"),
        *user_turn(TX_HASH, "inform"),
        asked("ticket_wallet_address"),
        *user_turn(TRON, "inform"),
    ]
    marked = [(line["text"], line.get("expecting_tx_hash")) for line in transcript(events)
              if line["author"] == "user"]
    assert marked == [
        ("提币没到账", None), ("昨天", None), (bare, True), (TX_HASH, True), (TRON, None),
    ]
    # Only user lines carry the mark; bot lines never do.
    assert all("expecting_tx_hash" not in line for line in transcript(events)
               if line["author"] == "bot")


def test_a_form_ended_while_asking_for_the_hash_stops_the_mark():
    events = [
        asked("ticket_tx_hash"),
        *user_turn("算了", "cancel"),
        {"event": "active_loop", "timestamp": 1.0, "name": None},
        *user_turn("手续费怎么算", "fee_inquiry"),
    ]
    lines = transcript(events)
    assert [line.get("expecting_tx_hash") for line in lines] == [True, None]


def test_an_answer_to_a_value_field_never_names_the_problem():
    # The classifier read the time as a staking question; it is the answer to "when?".
    events = [
        asked("ticket_title"),
        *user_turn("USDT withdrawal to Binance not received", "withdrawal_failed"),
        asked("ticket_occurred_at"),
        *utter("utter_ask_ticket_occurred_at", "When did it happen?"),
        *user_turn("yesterday around 9 pm", "staking_issue"),
        asked("ticket_email"),
        *user_turn("li.wei@example.com", "login_failed"),
    ]
    assert latest_problem(events) == "withdrawal_failed"
    assert intents_seen(events) == ["withdrawal_failed"]
    assert problem_messages(events) == ["USDT withdrawal to Binance not received"]
    summary = build_summary(events, reason="user_request", language="en")
    assert summary["problem"] == "withdrawal_failed"
    assert "staking_issue" not in str(summary)


def test_a_problem_told_after_the_form_closed_counts_again():
    events = [
        asked("ticket_occurred_at"),
        *user_turn("yesterday", "staking_issue"),
        {"event": "active_loop", "name": None},
        *user_turn("my staking rewards are missing", "staking_issue"),
    ]
    assert latest_problem(events) == "staking_issue"
    assert problem_messages(events) == ["my staking rewards are missing"]
