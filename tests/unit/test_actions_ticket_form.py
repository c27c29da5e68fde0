"""Action tests for actions.ticket_form: the form's validation, its questions and its summary.

Validation runs the way Rasa calls it: ``ValidateTicketForm.run`` on a tracker
whose last events are the slot candidate the form extracted from the user's
answer, with the project's real domain.
"""

from __future__ import annotations

import asyncio
import secrets

import base58
import bech32
import pytest
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import ticket_fields as fields
from actions.ticket_form import (
    FORM_SLOTS,
    ActionAskTicketConfirmed,
    ActionAskTicketTitle,
    ValidateTicketForm,
    summary_fields,
)
from tests.unit.action_helpers import (
    action_event,
    domain,
    form_turn,
    make_tracker,
    responses,
    run_action,
    slot_sets,
    user_turn,
    utter,
)
from tests.unit.test_chains import break_case, checksummed_evm_address

SPECIFIC = "昨天晚上9点在钱包里提了500 USDT到币安，显示成功但没到账"
TX_HASH = "0x" + secrets.token_hex(32)

PROBLEM_TEXT = {
    "withdrawal_failed": "提币失败了",
    "login_failed": "我登录不了",
    "account_compromised": "我的钱包被盗了",
    "balance_mismatch": "余额不对",
}


def tron_address() -> str:
    return base58.b58encode_check(b"\x41" + secrets.token_bytes(20)).decode()


def form_history(problem: str | None = "withdrawal_failed") -> list[dict]:
    """The chat up to the form: a problem, the offer of a ticket, 'yes'."""
    events = []
    if problem:
        events += user_turn(PROBLEM_TEXT[problem], problem)
    events += [
        *utter("utter_offer_ticket"),
        *user_turn("好的", "affirm"),
        action_event("action_start_ticket"),
        action_event("ticket_form"),
    ]
    return events


def validate(
    slot: str,
    text: str,
    *,
    value=None,
    intent: str | None = "inform",
    problem: str | None = "withdrawal_failed",
    slots: dict | None = None,
    language: str = "zh",
    with_next: bool = False,
):
    """Run the validation action on the user's answer to the question for ``slot``.

    The form's choice of the next question (a ``requested_slot`` event) is left
    out unless ``with_next``: most tests are about the answer itself.
    """
    candidate = text if value is None else value
    all_slots = {
        "language": language,
        "ticket_problem": problem,
        "ticket_category": fields.category_for(problem),
        "requested_slot": slot,
        **(slots or {}),
        slot: candidate,
    }
    tracker = make_tracker(
        [*form_history(problem), *form_turn(text, slot, candidate, intent)],
        slots=all_slots,
        active_loop={"name": "ticket_form"},
    )
    events, dispatcher = run_action(ValidateTicketForm(), tracker)
    if not with_next:
        events = [e for e in events if e.get("name") != "requested_slot"]
    return events, dispatcher


def required(problem: str | None, category: str | None = None, events=None) -> list[str]:
    tracker = make_tracker(
        events if events is not None else form_history(problem),
        slots={"ticket_problem": problem, "ticket_category": category},
    )
    return asyncio.run(
        ValidateTicketForm().required_slots(list(FORM_SLOTS), CollectingDispatcher(), tracker, {})
    )


# An account problem (a login, say) needs no amount, hash or address, and asks
# for a screenshot of the error instead.
ACCOUNT_FIELDS = [
    s for s in FORM_SLOTS if s not in ("ticket_amount", "ticket_tx_hash", "ticket_wallet_address")
]
# A withdrawal needs everything but that screenshot (its hash question offers one).
ASSET_FIELDS = [s for s in FORM_SLOTS if s != "ticket_screenshot"]


# --------------------------------------------------------------------------- which fields


def test_form_slots_match_the_domain():
    assert list(FORM_SLOTS) == domain()["forms"]["ticket_form"]["required_slots"]
    assert ValidateTicketForm().name() == "validate_ticket_form"


def test_login_problem_needs_neither_amount_nor_hash_nor_address():
    assert required("login_failed", "account") == ACCOUNT_FIELDS


def test_withdrawal_needs_hash_and_address():
    assert required("withdrawal_failed", "assets") == ASSET_FIELDS


def test_balance_mismatch_needs_the_address_only():
    assert "ticket_tx_hash" not in required("balance_mismatch", "assets")
    assert "ticket_wallet_address" in required("balance_mismatch", "assets")


@pytest.mark.parametrize(
    ("problem", "category", "needed"),
    [
        ("withdrawal_failed", "assets", True),
        ("deposit_not_received", "assets", True),
        ("account_compromised", "security", True),
        ("balance_mismatch", "assets", True),
        ("login_failed", "account", False),
        ("app_malfunction", "technical", False),
        (None, "assets", True),
        (None, "security", True),
        (None, "account", False),
        (None, None, False),
    ],
)
def test_the_amount_is_asked_only_where_the_problem_needs_it(problem, category, needed):
    events = form_history(problem) if problem in PROBLEM_TEXT else form_history(None)
    assert ("ticket_amount" in required(problem, category, events=events)) is needed


def test_problem_found_in_the_chat_when_the_slot_is_empty():
    assert required(None, None, events=form_history("login_failed")) == ACCOUNT_FIELDS
    assert required(None, None, events=form_history("withdrawal_failed")) == ASSET_FIELDS


def test_without_a_problem_the_category_decides():
    assert required(None, "assets", events=form_history(None)) == ASSET_FIELDS
    assert required(None, "account", events=form_history(None)) == ACCOUNT_FIELDS


def test_login_form_goes_from_email_straight_to_confirmation():
    events, dispatcher = validate(
        "ticket_email",
        "li.lei@example.com",
        problem="login_failed",
        slots={
            "ticket_title": "无法登录",
            "ticket_description": "今天早上登录一直提示验证码错误，换了手机也一样",
            "ticket_occurred_at": "今天早上",
            "ticket_screenshot": fields.SKIPPED,
        },
        with_next=True,
    )
    assert events == [
        SlotSet("ticket_email", "li.lei@example.com"),
        SlotSet("requested_slot", "ticket_confirmed"),
    ]
    assert dispatcher.messages == []


def test_login_form_asks_the_time_after_the_description():
    events, _ = validate(
        "ticket_description",
        "今天早上登录一直提示验证码错误，换了手机也一样",
        problem="login_failed",
        slots={"ticket_title": "无法登录"},
        with_next=True,
    )
    assert events == [
        SlotSet("ticket_description", "今天早上登录一直提示验证码错误，换了手机也一样"),
        SlotSet("requested_slot", "ticket_occurred_at"),
    ]


# --------------------------------------------------------------------------- category


@pytest.mark.parametrize(
    ("text", "category"),
    [("assets", "assets"), ("资产问题", "assets"), ("安全", "security"), ("Trading", "trading")],
)
def test_category_typed_or_chosen(text, category):
    events, dispatcher = validate("ticket_category", text, problem=None)
    assert events[0] == SlotSet("ticket_category", category)
    assert dispatcher.messages == []


@pytest.mark.parametrize("text", ["banana", "跳过", "skip"])
def test_unknown_category_is_asked_again(text):
    events, dispatcher = validate("ticket_category", text, problem=None)
    assert events[0] == SlotSet("ticket_category", None)
    assert responses(dispatcher) == ["utter_invalid_category"]


# --------------------------------------------------------------------------- title


def test_a_clear_title_is_kept_with_spaces_tidied():
    events, dispatcher = validate("ticket_title", "  USDT   提币一直没到账 ")
    assert events == [SlotSet("ticket_title", "USDT 提币一直没到账")]
    assert dispatcher.messages == []


def test_yes_takes_the_suggested_title():
    events, dispatcher = validate(
        "ticket_title", "好的", intent="affirm",
        slots={"ticket_title_suggestion": "USDT 提币失败（TRON）"},
    )
    assert events == [SlotSet("ticket_title", "USDT 提币失败（TRON）")]
    assert dispatcher.messages == []


def test_yes_without_a_suggestion_is_not_a_title():
    events, dispatcher = validate("ticket_title", "yes", intent="affirm")
    assert events == [SlotSet("ticket_title", None)]
    assert responses(dispatcher) == ["utter_invalid_title"]


@pytest.mark.parametrize("text", ["skip", "跳过", "abc", "没有"])
def test_missing_or_too_short_title_is_asked_again(text):
    events, dispatcher = validate("ticket_title", text)
    assert events == [SlotSet("ticket_title", None)]
    assert responses(dispatcher) == ["utter_invalid_title"]


def test_too_long_title_is_asked_again():
    events, dispatcher = validate("ticket_title", "提币失败" * 31)
    assert events == [SlotSet("ticket_title", None)]
    assert responses(dispatcher) == ["utter_title_too_long"]


# --------------------------------------------------------------------------- description


@pytest.mark.parametrize("text", ["钱包坏了", "my money is gone", "skip", "跳过"])
def test_vague_description_gets_the_follow_up_question(text):
    events, dispatcher = validate("ticket_description", text)
    assert events == [SlotSet("ticket_description", None)]
    assert responses(dispatcher) == ["utter_description_too_vague"]


@pytest.mark.parametrize(
    "text",
    [SPECIFIC, "I withdrew 500 USDT yesterday at 9pm and it never arrived at Binance"],
)
def test_specific_description_is_accepted(text):
    events, dispatcher = validate("ticket_description", text)
    # The amount it names is kept too, so the form does not ask for it again.
    assert events == [SlotSet("ticket_description", text), SlotSet("ticket_amount", "500 USDT")]
    assert dispatcher.messages == []


def test_a_description_without_an_amount_leaves_the_amount_to_ask():
    text = "昨天晚上9点提币一直显示处理中，到现在还没到账"
    events, _ = validate("ticket_description", text)
    assert events == [SlotSet("ticket_description", text)]


def test_an_amount_already_given_is_not_replaced_by_the_descriptions():
    events, _ = validate("ticket_description", SPECIFIC, slots={"ticket_amount": "480 USDT"})
    assert events == [SlotSet("ticket_description", SPECIFIC)]


def test_too_long_description_is_refused():
    events, dispatcher = validate("ticket_description", SPECIFIC * 200)
    assert events == [SlotSet("ticket_description", None)]
    assert responses(dispatcher) == ["utter_description_too_long"]


# --------------------------------------------------------------------------- time


@pytest.mark.parametrize("text", ["昨天晚上9点", "yesterday around 9 pm", "2024-05-03 14:30"])
def test_time_as_the_user_says_it(text):
    events, dispatcher = validate("ticket_occurred_at", text)
    assert events == [SlotSet("ticket_occurred_at", text)]
    assert dispatcher.messages == []


@pytest.mark.parametrize("text", ["不记得了", "I don't remember", "skip", "跳过"])
def test_unknown_time_is_skipped(text):
    events, dispatcher = validate("ticket_occurred_at", text)
    assert events == [SlotSet("ticket_occurred_at", fields.SKIPPED)]
    assert dispatcher.messages == []


def test_not_a_time_is_asked_again():
    events, dispatcher = validate("ticket_occurred_at", "banana")
    assert events == [SlotSet("ticket_occurred_at", None)]
    assert responses(dispatcher) == ["utter_invalid_time"]


def test_time_is_cut_at_200_characters():
    text = "昨天晚上9点" + "，" * 300
    events, _ = validate("ticket_occurred_at", text)
    assert events == [SlotSet("ticket_occurred_at", text[:200])]


# --------------------------------------------------------------------------- amount


def test_a_withdrawal_form_asks_the_amount_right_after_the_time():
    events, _ = validate("ticket_occurred_at", "昨天晚上9点", problem="balance_mismatch",
                         slots={"ticket_title": "余额不对", "ticket_description": SPECIFIC},
                         with_next=True)
    assert events == [
        SlotSet("ticket_occurred_at", "昨天晚上9点"),
        SlotSet("requested_slot", "ticket_amount"),
    ]


def test_a_login_form_goes_from_the_time_to_the_screenshot_of_the_error():
    events, _ = validate("ticket_occurred_at", "今天早上", problem="login_failed",
                         slots={"ticket_title": "无法登录", "ticket_description": SPECIFIC},
                         with_next=True)
    assert events == [
        SlotSet("ticket_occurred_at", "今天早上"),
        SlotSet("requested_slot", "ticket_screenshot"),
    ]


@pytest.mark.parametrize(
    ("text", "amount", "language"),
    [
        ("500 USDT", "500 USDT", "zh"),
        ("大概 500 USDT 吧", "500 USDT", "zh"),
        ("0.5 ETH", "0.5 ETH", "en"),
        ("about 1,200.50 USDC", "1200.5 USDC", "en"),
    ],
)
def test_an_amount_with_its_asset_is_kept_as_the_matcher_reads_it(text, amount, language):
    events, dispatcher = validate("ticket_amount", text, language=language)
    assert slot_sets(events)["ticket_amount"] == amount
    assert dispatcher.messages == []


@pytest.mark.parametrize("text", ["about 500", "五百多", "差不多 3000", "  两千   左右 "])
def test_a_number_without_an_asset_is_kept_as_written(text):
    events, dispatcher = validate("ticket_amount", text)
    assert slot_sets(events)["ticket_amount"] == " ".join(text.split())
    assert dispatcher.messages == []


@pytest.mark.parametrize("text", ["skip", "跳过", "不记得", "不记得了", "I don't remember"])
def test_the_amount_can_be_skipped(text):
    events, dispatcher = validate("ticket_amount", text)
    assert slot_sets(events)["ticket_amount"] == fields.SKIPPED
    assert dispatcher.messages == []


@pytest.mark.parametrize("text", ["banana", "很多钱", "a lot", "9" * 80 + " coins"])
def test_no_amount_is_asked_again(text):
    events, dispatcher = validate("ticket_amount", text)
    assert slot_sets(events)["ticket_amount"] is None
    assert responses(dispatcher) == ["utter_invalid_amount"]


# --------------------------------------------------------------------------- transaction hash


@pytest.mark.parametrize("value", [TX_HASH, TX_HASH[2:]], ids=["0x-prefixed", "bare"])
def test_transaction_hash_is_accepted(value):
    events, dispatcher = validate("ticket_tx_hash", value)
    assert events == [SlotSet("ticket_tx_hash", value)]
    assert dispatcher.messages == []


def test_transaction_hash_is_taken_out_of_a_sentence():
    events, _ = validate("ticket_tx_hash", f"哈希是 {TX_HASH} 谢谢")
    assert events == [SlotSet("ticket_tx_hash", TX_HASH)]


@pytest.mark.parametrize("text", ["skip", "跳过", "没有"])
def test_transaction_hash_can_be_skipped(text):
    events, dispatcher = validate("ticket_tx_hash", text)
    assert events == [SlotSet("ticket_tx_hash", fields.SKIPPED)]
    assert dispatcher.messages == []


def test_an_address_given_as_the_hash_is_pointed_out():
    events, dispatcher = validate("ticket_tx_hash", checksummed_evm_address())
    assert events == [SlotSet("ticket_tx_hash", None)]
    assert responses(dispatcher) == ["utter_tx_hash_is_address"]


@pytest.mark.parametrize("text", ["12345", "0x" + "a" * 63, "I don't have it handy right now"])
def test_malformed_hash_is_asked_again(text):
    events, dispatcher = validate("ticket_tx_hash", text)
    assert events == [SlotSet("ticket_tx_hash", None)]
    assert responses(dispatcher) == ["utter_invalid_tx_hash"]


# --------------------------------------------------------------------------- wallet address


def test_checksummed_evm_address_is_accepted_with_its_chain():
    address = checksummed_evm_address()
    events, dispatcher = validate("ticket_wallet_address", address)
    assert events == [
        SlotSet("ticket_wallet_address", address),
        SlotSet("ticket_chain", "evm"),
    ]
    assert dispatcher.messages == []


def test_lowercase_evm_address_is_accepted():
    address = "0x" + secrets.token_hex(20)
    events, _ = validate("ticket_wallet_address", address)
    assert events == [SlotSet("ticket_wallet_address", address), SlotSet("ticket_chain", "evm")]


def test_tron_address_in_a_sentence_is_accepted():
    address = tron_address()
    events, _ = validate("ticket_wallet_address", f"我的地址是 {address}")
    assert events == [SlotSet("ticket_wallet_address", address), SlotSet("ticket_chain", "tron")]


def test_bech32_address_is_accepted():
    address = bech32.encode("bc", 0, list(secrets.token_bytes(20)))
    events, _ = validate("ticket_wallet_address", address)
    assert events == [
        SlotSet("ticket_wallet_address", address),
        SlotSet("ticket_chain", "bitcoin"),
    ]


def test_evm_address_with_a_broken_checksum_is_caught():
    events, dispatcher = validate("ticket_wallet_address", break_case(checksummed_evm_address()))
    assert events == [SlotSet("ticket_wallet_address", None)]
    assert responses(dispatcher) == ["utter_address_checksum_failed"]


def test_tron_address_with_a_typo_is_caught():
    address = tron_address()
    typo = address[:10] + ("2" if address[10] != "2" else "3") + address[11:]
    events, dispatcher = validate("ticket_wallet_address", typo)
    assert events == [SlotSet("ticket_wallet_address", None)]
    assert responses(dispatcher) == ["utter_address_checksum_failed"]


def test_bech32_address_with_a_typo_is_caught():
    address = bech32.encode("bc", 0, list(secrets.token_bytes(20)))
    typo = address[:15] + ("q" if address[15] != "q" else "p") + address[16:]
    events, dispatcher = validate("ticket_wallet_address", typo)
    assert events == [SlotSet("ticket_wallet_address", None)]
    assert responses(dispatcher) == ["utter_address_checksum_failed"]


@pytest.mark.parametrize("text", ["my wallet", "0x1234", "币安"])
def test_not_an_address_is_asked_again(text):
    events, dispatcher = validate("ticket_wallet_address", text)
    assert events == [SlotSet("ticket_wallet_address", None)]
    assert responses(dispatcher) == ["utter_invalid_address"]


@pytest.mark.parametrize("text", ["skip", "跳过", "不知道"])
def test_address_can_be_skipped(text):
    events, dispatcher = validate("ticket_wallet_address", text)
    assert events == [SlotSet("ticket_wallet_address", fields.SKIPPED)]
    assert dispatcher.messages == []


# --------------------------------------------------------------------------- e-mail


@pytest.mark.parametrize(
    ("text", "email"),
    [("li.lei@example.com", "li.lei@example.com"), ("我的邮箱是 a.b@mail.cn 谢谢", "a.b@mail.cn")],
)
def test_email_is_accepted(text, email):
    events, dispatcher = validate("ticket_email", text)
    assert events == [SlotSet("ticket_email", email)]
    assert dispatcher.messages == []


@pytest.mark.parametrize("text", ["skip", "跳过", "没有"])
def test_email_can_be_skipped(text):
    events, dispatcher = validate("ticket_email", text)
    assert events == [SlotSet("ticket_email", fields.SKIPPED)]
    assert dispatcher.messages == []


@pytest.mark.parametrize("text", ["li.lei@", "my mail", "a@b"])
def test_invalid_email_is_asked_again(text):
    events, dispatcher = validate("ticket_email", text)
    assert events == [SlotSet("ticket_email", None)]
    assert responses(dispatcher) == ["utter_invalid_email"]


# --------------------------------------------------------------------------- asking the title


def withdrawal_chat() -> list[dict]:
    return [
        *user_turn("我提了500 USDT，走TRC20，一直没到账", "withdrawal_failed"),
        *utter("utter_faq_withdrawal_failed"),
        *utter("utter_offer_ticket"),
        *user_turn("好的", "affirm"),
        action_event("action_start_ticket"),
        action_event("ticket_form"),
    ]


def test_title_question_offers_a_title_from_the_chat():
    tracker = make_tracker(withdrawal_chat(), slots={"language": "zh"})
    events, dispatcher = run_action(ActionAskTicketTitle(), tracker)
    assert events == [
        {"event": "slot", "name": "ticket_title_suggestion", "value": "USDT 提币失败（TRON）"}
    ]
    assert dispatcher.messages[0]["response"] == "utter_ask_ticket_title_suggested"
    assert dispatcher.messages[0]["title"] == "USDT 提币失败（TRON）"


def test_title_suggestion_in_english():
    tracker = make_tracker(withdrawal_chat(), slots={"language": "en"})
    events, dispatcher = run_action(ActionAskTicketTitle(), tracker)
    assert events[0]["value"] == "USDT Withdrawal failed (TRON)"
    assert dispatcher.messages[0]["title"] == "USDT Withdrawal failed (TRON)"


def test_title_question_without_a_problem_has_no_suggestion():
    tracker = make_tracker(
        [*user_turn("转人工", "request_human"), action_event("action_start_ticket")],
        slots={"language": "zh"},
    )
    events, dispatcher = run_action(ActionAskTicketTitle(), tracker)
    assert events == [{"event": "slot", "name": "ticket_title_suggestion", "value": None}]
    assert responses(dispatcher) == ["utter_ask_ticket_title"]


# --------------------------------------------------------------------------- the summary


FILLED = {
    "ticket_category": "assets",
    "ticket_title": "USDT 提币失败（TRON）",
    "ticket_description": SPECIFIC,
    "ticket_occurred_at": "昨天晚上9点",
    "ticket_amount": "500 USDT",
    "ticket_tx_hash": TX_HASH,
    "ticket_wallet_address": fields.SKIPPED,
    "ticket_email": None,
}


def test_summary_shows_every_field_and_a_dash_for_missing_ones():
    tracker = make_tracker(withdrawal_chat(), slots={"language": "zh", **FILLED})
    events, dispatcher = run_action(ActionAskTicketConfirmed(), tracker)
    assert events == []
    assert responses(dispatcher) == ["utter_ask_ticket_confirmed"]
    message = dispatcher.messages[0]
    shown = {key: message[key] for key in summary_fields(tracker, "zh")}
    assert shown == {
        "category": "资产问题",
        "title": "USDT 提币失败（TRON）",
        "description": SPECIFIC,
        "occurred_at": "昨天晚上9点",
        "amount": "500 USDT",
        "tx_hash": TX_HASH,
        "address": "—",
        "email": "—",
    }


def test_a_skipped_amount_shows_a_dash_and_can_be_changed_by_button():
    tracker = make_tracker(
        withdrawal_chat(), slots={"language": "en", **FILLED, "ticket_amount": fields.SKIPPED}
    )
    _, dispatcher = run_action(ActionAskTicketConfirmed(), tracker)
    assert dispatcher.messages[0]["amount"] == "—"
    for variation in domain()["responses"]["utter_ask_which_field"]:
        payloads = [button["payload"] for button in variation.get("buttons") or []]
        assert '/correct_ticket{"ticket_field": "ticket_amount"}' in payloads


def test_summary_in_english_names_the_category_in_english():
    tracker = make_tracker(withdrawal_chat(), slots={"language": "en", **FILLED})
    _, dispatcher = run_action(ActionAskTicketConfirmed(), tracker)
    assert dispatcher.messages[0]["category"] == "Assets"


def test_summary_without_category():
    tracker = make_tracker([], slots={"language": "zh"})
    assert summary_fields(tracker, "zh")["category"] == "—"


@pytest.mark.parametrize(
    "slot",
    ["ticket_occurred_at", "ticket_amount", "ticket_tx_hash", "ticket_wallet_address",
     "ticket_email"],
)
def test_a_field_kept_as_skipped_stays_skipped_when_checked_again(slot):
    # The form checks filled fields again when it is re-opened after a refusal.
    events, dispatcher = validate(slot, fields.SKIPPED, intent="affirm")
    assert slot_sets(events)[slot] == fields.SKIPPED
    assert dispatcher.messages == []
