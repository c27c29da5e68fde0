"""Unit tests for actions.conversation_summary: what an agent learns from the whole chat."""

from __future__ import annotations

import secrets
from datetime import datetime, timezone

import base58

from actions.conversation_summary import (
    MAX_TRANSCRIPT,
    build_summary,
    collect_facts,
    intents_seen,
    latest_problem,
    problem_messages,
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
