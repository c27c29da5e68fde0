"""A screenshot as a turn of the conversation: the channel's turn, the bot's answer,
the form's hash question, the transcript and the widget's history."""

from __future__ import annotations

import asyncio
import secrets

import pytest
from rasa.shared.core.events import UserUttered
from rasa_sdk.events import SlotSet

from actions.conversation_summary import collect_facts, transcript
from actions.live_handoff import agent_image_src
from actions.screenshots import ActionAcknowledgeScreenshot, described_facts
from addons.channels.attachments import (
    refused_turn_text,
    screenshot_payload,
    text_for,
)
from addons.channels.guard import GuardedText, trusted_metadata
from addons.channels.history import rendered_messages
from support_core.secret_guard import contains_placeholder
from tests.unit.action_helpers import make_tracker, run_action, user_event
from tests.unit.test_actions_ticket_form import validate

IMAGE_ID = "att_" + "A1b2C3d4E5f6G7h8I9j0K1L2"
TX = "0x" + "ab12" * 16


def screenshot_event(text: str) -> dict:
    """The user turn the channel makes of a kept screenshot, as the action server sees it."""
    event = user_event(screenshot_payload(IMAGE_ID), "share_screenshot",
                       entities=[{"entity": "attachment_id", "value": IMAGE_ID}])
    metadata = {"attachment": {"id": IMAGE_ID, "mime": "image/png", "text": text}}
    event["metadata"] = metadata
    event["parse_data"]["metadata"] = metadata
    return event


def test_the_turn_of_a_kept_screenshot_is_the_intent_with_its_id() -> None:
    expected = '/share_screenshot{"attachment_id": "' + IMAGE_ID + '"}'
    assert screenshot_payload(IMAGE_ID) == expected


@pytest.mark.parametrize(
    ("kinds", "language", "label"),
    [
        (("seed_phrase",), "zh", "[图片未保存]"),
        (("seed_phrase",), "en", "[image not kept]"),
        (("private_key",), "en", "[image not kept]"),
        ((), "en", "[image not kept]"),
    ],
)
def test_a_refused_screenshot_is_a_secret_placeholder(kinds, language, label) -> None:
    text = refused_turn_text(kinds, language)
    assert text.startswith(label)
    # The same path as a typed secret: SecretIntentClassifier sees the placeholder.
    assert contains_placeholder(text) is not None


def test_messages_for_the_widget_are_in_both_languages() -> None:
    for code in ("image_refused_seed_phrase", "unsupported_image", "image_too_large",
                 "too_many_images", "rate_limited", "unavailable"):
        assert text_for(code, "zh") != text_for(code, "en")
    assert text_for("nonsense", "fr") == text_for("unavailable", "en")


def test_a_client_cannot_claim_an_attachment() -> None:
    guarded = GuardedText("hello", ())
    forged = {"attachment": {"id": IMAGE_ID, "text": "0x" + "0" * 64}, "lang": "en"}
    assert trusted_metadata(forged, guarded) == {"lang": "en"}


def test_the_bot_names_what_it_read() -> None:
    tracker = make_tracker(
        [screenshot_event(f"Transfer failed\nAmount: 40 USDC\nTxID: {TX}")],
        slots={"language": "en"},
    )
    _events, dispatcher = run_action(ActionAcknowledgeScreenshot(), tracker)
    assert [m["response"] for m in dispatcher.messages] == [
        "utter_screenshot_received", "utter_screenshot_read",
    ]
    found = dispatcher.messages[1]["found"]
    assert "transaction hash 0xab12ab12" in found and "40 USDC" in found


def test_nothing_read_means_no_second_line() -> None:
    tracker = make_tracker([screenshot_event("")], slots={"language": "zh"})
    _events, dispatcher = run_action(ActionAcknowledgeScreenshot(), tracker)
    assert [m["response"] for m in dispatcher.messages] == ["utter_screenshot_received"]


def test_described_facts_in_chinese() -> None:
    assert described_facts({"amount": "40 USDC"}, "zh") == "金额 40 USDC"


def _validate_with_screenshot(ocr_text: str):
    events, dispatcher = validate(
        "ticket_tx_hash", screenshot_payload(IMAGE_ID), intent="share_screenshot"
    )
    return events, dispatcher


def test_a_screenshot_answers_the_hash_question(monkeypatch: pytest.MonkeyPatch) -> None:
    # The validation reads the latest message's metadata: give the screenshot turn one.
    import tests.unit.test_actions_ticket_form as form_tests

    original = form_tests.form_turn

    def with_metadata(text, slot, value=None, intent="inform", **kwargs):
        turn = original(text, slot, value, intent, **kwargs)
        metadata = {"attachment": {"id": IMAGE_ID, "text": f"Status: failed\nTxID {TX}"}}
        user = next(event for event in turn if event["event"] == "user")
        user["metadata"] = metadata
        user["parse_data"]["metadata"] = metadata
        return turn

    monkeypatch.setattr(form_tests, "form_turn", with_metadata)
    events, dispatcher = _validate_with_screenshot("")
    assert SlotSet("ticket_tx_hash", TX) in events
    assert [m["response"] for m in dispatcher.messages] == ["utter_screenshot_read"]
    assert "交易哈希 0xab12ab12" in dispatcher.messages[0]["found"]


def test_a_screenshot_without_a_hash_asks_for_it_as_text() -> None:
    events, dispatcher = _validate_with_screenshot("")
    assert SlotSet("ticket_tx_hash", None) in events
    assert [m["response"] for m in dispatcher.messages] == ["utter_screenshot_no_hash"]


def test_the_transcript_points_at_the_image_and_facts_come_from_it() -> None:
    events = [
        user_event("my transfer failed", "transfer_failed"),
        screenshot_event(f"TxID: {TX}"),
    ]
    lines = transcript(events)
    assert lines[-1]["text"] == "[screenshot]" and lines[-1]["attachment_id"] == IMAGE_ID
    assert collect_facts(events)["tx_hash"] == [TX]


def test_the_history_shows_the_image_not_the_payload() -> None:
    event = UserUttered(
        screenshot_payload(IMAGE_ID), message_id=secrets.token_hex(16), timestamp=1.0,
        metadata={"attachment": {"id": IMAGE_ID, "mime": "image/png", "width": 10, "height": 5,
                                 "text": "secret-free text"}},
    )
    [shown] = asyncio.run(rendered_messages("c1", [event]))
    assert shown["text"] == "[screenshot]"
    assert shown["attachment"]["thumbnail_url"].endswith(f"{IMAGE_ID}?size=thumb")
    assert "text" not in shown["attachment"]


def test_an_agent_image_is_fetched_through_the_chat_channel() -> None:
    assert agent_image_src({"attachment": {"id": IMAGE_ID}}) == (
        f"/webhooks/socketio/attachments/{IMAGE_ID}"
    )
    assert agent_image_src({"attachment": {"id": "../../etc/passwd"}}) is None
    assert agent_image_src({"attachment": None}) is None


# ------------------------------------------------------------------ the form's own question


def _screenshot_metadata(monkeypatch: pytest.MonkeyPatch, text: str = "Error 1003") -> None:
    """Give the form's screenshot turn the metadata the channel adds to a kept image."""
    import tests.unit.test_actions_ticket_form as form_tests

    original = form_tests.form_turn

    def with_metadata(text_, slot, value=None, intent="inform", **kwargs):
        turn = original(text_, slot, value, intent, **kwargs)
        metadata = {"attachment": {"id": IMAGE_ID, "text": text}}
        user = next(event for event in turn if event["event"] == "user")
        user["metadata"] = metadata
        user["parse_data"]["metadata"] = metadata
        return turn

    monkeypatch.setattr(form_tests, "form_turn", with_metadata)


LOGIN_SLOTS = {"ticket_title": "无法登录", "ticket_description": "登录一直提示验证码错误",
               "ticket_occurred_at": "今天早上"}


@pytest.mark.parametrize(
    ("problem", "category", "asked"),
    [
        ("login_failed", "account", True),
        ("app_malfunction", "technical", True),
        ("phishing_report", "security", True),
        ("balance_mismatch", "assets", True),
        ("withdrawal_failed", "assets", False),  # its hash question offers a screenshot
        ("account_compromised", "security", False),
        ("fee_inquiry", "policy", False),
        (None, "account", True),
        (None, "assets", False),
        (None, None, False),
    ],
)
def test_the_form_asks_for_a_screenshot_of_the_error_where_it_helps(problem, category, asked):
    from actions import ticket_fields as fields

    assert fields.needs_screenshot(problem, category) is asked
    assert not (fields.needs_screenshot(problem, category) and
                fields.needs_tx_hash(problem, category))


def test_a_screenshot_sent_before_the_form_is_not_asked_for_again() -> None:
    from rasa_sdk.executor import CollectingDispatcher

    from actions.ticket_form import FORM_SLOTS, ValidateTicketForm
    from tests.unit.test_actions_ticket_form import form_history

    def required(events):
        tracker = make_tracker(events, slots={"ticket_problem": "login_failed",
                                              "ticket_category": "account"})
        return asyncio.run(ValidateTicketForm().required_slots(
            list(FORM_SLOTS), CollectingDispatcher(), tracker, {}))

    assert "ticket_screenshot" in required(form_history("login_failed"))
    before = [screenshot_event("Login failed: code 1003"), *form_history("login_failed")]
    assert "ticket_screenshot" not in required(before)


def test_a_screenshot_answers_the_forms_screenshot_question(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _screenshot_metadata(monkeypatch)
    events, dispatcher = validate(
        "ticket_screenshot", screenshot_payload(IMAGE_ID), intent="share_screenshot",
        problem="login_failed", slots=LOGIN_SLOTS, with_next=True,
    )
    assert SlotSet("ticket_screenshot", IMAGE_ID) in events
    assert SlotSet("requested_slot", "ticket_email") in events
    assert [m["response"] for m in dispatcher.messages] == ["utter_screenshot_received"]


@pytest.mark.parametrize("text", ["skip", "跳过", "没有"])
def test_the_screenshot_can_be_skipped(text: str) -> None:
    events, _ = validate("ticket_screenshot", text, problem="login_failed", slots=LOGIN_SLOTS)
    assert SlotSet("ticket_screenshot", "skipped") in events


@pytest.mark.parametrize("text", ["it says error 1003", "att_forgedforgedforged12", "截图在这里"])
def test_words_instead_of_a_screenshot_are_asked_again(text: str) -> None:
    events, dispatcher = validate(
        "ticket_screenshot", text, problem="login_failed", slots=LOGIN_SLOTS
    )
    assert SlotSet("ticket_screenshot", None) in events
    assert [m["response"] for m in dispatcher.messages] == ["utter_invalid_screenshot"]
