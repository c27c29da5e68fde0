"""Unit tests for support_core.directions: a withdrawal is never read as a deposit, or back."""

from __future__ import annotations

import pytest

from support_core.directions import DEPOSIT, WITHDRAWAL, consistent_problem, direction_in

WITHDRAWAL_TEXTS = (
    "USDT 提币三个小时了还没到账",
    "提幣失敗",
    "提现一直在处理中",
    "从钱包取出 500 USDT 失败",
    "I tried to withdraw 500 USDT",
    "my WITHDRAWAL is stuck",
)
DEPOSIT_TEXTS = (
    "充值的 USDT 一直没到账",
    "充币没到",
    "充幣好久了",
    "入金没显示",
    "存入以后余额没变",
    "my deposit never arrived",
    "I did a top-up yesterday",
    "topup failed",
)
NEITHER_TEXTS = ("钱没到账", "the money never arrived", "", "转账失败")
BOTH_TEXTS = (
    "从交易所提币到钱包，钱包显示充值没到账",
    "I withdraw from Binance to deposit here and it never arrives",
)


# --------------------------------------------------------------------------- the words


@pytest.mark.parametrize("text", WITHDRAWAL_TEXTS)
def test_withdrawal_words(text):
    assert direction_in(text) == WITHDRAWAL


@pytest.mark.parametrize("text", DEPOSIT_TEXTS)
def test_deposit_words(text):
    assert direction_in(text) == DEPOSIT


@pytest.mark.parametrize("text", NEITHER_TEXTS + BOTH_TEXTS)
def test_neither_or_both_name_no_direction(text):
    assert direction_in(text) is None


# --------------------------------------------------------------------------- the intent


@pytest.mark.parametrize("text", WITHDRAWAL_TEXTS)
def test_a_withdrawal_is_never_read_as_a_deposit(text):
    assert consistent_problem(DEPOSIT, [text]) == WITHDRAWAL
    assert consistent_problem(WITHDRAWAL, [text]) == WITHDRAWAL


@pytest.mark.parametrize("text", DEPOSIT_TEXTS)
def test_a_deposit_is_never_read_as_a_withdrawal(text):
    assert consistent_problem(WITHDRAWAL, [text]) == DEPOSIT
    assert consistent_problem(DEPOSIT, [text]) == DEPOSIT


@pytest.mark.parametrize("text", NEITHER_TEXTS + BOTH_TEXTS)
@pytest.mark.parametrize("intent", [WITHDRAWAL, DEPOSIT])
def test_words_naming_neither_or_both_leave_the_intent(text, intent):
    assert consistent_problem(intent, [text]) == intent


@pytest.mark.parametrize(
    "intent",
    ["transfer_failed", "transaction_pending", "app_malfunction", "greet", "affirm", None],
)
@pytest.mark.parametrize("text", [WITHDRAWAL_TEXTS[0], DEPOSIT_TEXTS[0]])
def test_other_intents_are_never_turned_into_a_direction(intent, text):
    assert consistent_problem(intent, [text]) == intent


def test_messages_that_disagree_with_each_other_leave_the_intent():
    texts = [WITHDRAWAL_TEXTS[0], DEPOSIT_TEXTS[0]]
    assert consistent_problem(DEPOSIT, texts) == DEPOSIT
    assert consistent_problem(WITHDRAWAL, texts) == WITHDRAWAL


def test_messages_that_agree_decide_together():
    texts = ["钱没到账", WITHDRAWAL_TEXTS[0], "三个小时了"]
    assert consistent_problem(DEPOSIT, texts) == WITHDRAWAL
    assert consistent_problem(DEPOSIT, []) == DEPOSIT


def test_the_correction_is_stable():
    # Read again, a corrected intent stays what it became: 提币 never flips back to 充值.
    for text in WITHDRAWAL_TEXTS:
        once = consistent_problem(DEPOSIT, [text])
        assert consistent_problem(once, [text]) == once == WITHDRAWAL
    for text in DEPOSIT_TEXTS:
        once = consistent_problem(WITHDRAWAL, [text])
        assert consistent_problem(once, [text]) == once == DEPOSIT


def test_the_past_tense_is_a_withdrawal_too():
    assert consistent_problem(DEPOSIT, ["I withdrew 500 USDT and it never arrived"]) == WITHDRAWAL
